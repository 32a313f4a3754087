import type { IncomingMessage, ServerResponse } from 'node:http';
import { TributaryError, type ErrorCode } from '../errors';
import type { Logger } from '../shared/logger';

/** HTTP status for each error code a route can return. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  ILLEGAL_REALM_PATH: 400,
  LIMITS_EXCEEDED: 413,
  AUTH_FAILED: 401,
  TOKEN_EXPIRED: 401,
  BAD_AUTHENTICATION: 401,
  PERMISSION_DENIED: 403,
  REGISTRATION_CLOSED: 403,
  NO_SUCH_USER: 404,
  NO_SUCH_REALM: 404,
  INVALID_OFFER: 404,
  USER_EXISTS: 409,
  RATE_LIMITED: 429,
  STORAGE_FAILURE: 503,
  CONFIG_INVALID: 500,
};

export interface HttpRoutesOptions {
  version: string;
  maxBodyBytes: number;
  /** Why storage takes no writes, or null (GET /health answers 503 "degraded" while it does not). */
  storageHealth?: () => Promise<{ reason: string; since: string } | null>;
}

/** What a route handler gets. */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  /** The pattern's named groups. */
  readonly params: Record<string, string>;
  readonly remoteAddress: string;
  /** The JSON body (read once, bounded by maxBodyBytes); `{}` for an empty body. */
  body(): Promise<unknown>;
  /** The raw token of the `Authorization` header (`Bearer <token>` or, as ROS clients sent it, the bare token). */
  readonly token: string | undefined;
}

/** A response with a status other than 200 (a handler's plain return value is a 200 body). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A literal path, or a RegExp over the path with named groups (matched whole). */
  path: string | RegExp;
  handle(request: RouteRequest): unknown;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, headers?: Record<string, string>): void {
  sendJson(res, status, { code, message }, headers);
}

/** Reads a JSON body of at most `limit` bytes; INVALID_ARGUMENT / LIMITS_EXCEEDED otherwise. */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new TributaryError('LIMITS_EXCEEDED', `request body larger than ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new TributaryError('LIMITS_EXCEEDED', `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (e) => {
      if (!failed) reject(new TributaryError('INVALID_ARGUMENT', `could not read the body: ${e.message}`));
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new TributaryError('INVALID_ARGUMENT', 'the body is not valid JSON'));
      }
    });
  });
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || header.length === 0) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1] : /^\S+$/.test(header) ? header : undefined;
}

/**
 * The HTTP routes (`/health`, `/auth…`, `/admin/…`, `/permissions…`; the tables are in
 * docs/server.md). Every response is JSON; errors are `{code, message}` with a stable code from
 * src/errors.ts. (The WebSocket upgrade on /sync is handled in server.ts.)
 */
export function createRequestHandler(routes: readonly Route[], options: HttpRoutesOptions, log: Logger) {
  const health: Route = {
    method: 'GET',
    path: '/health',
    handle: async () => {
      const failure = options.storageHealth ? await options.storageHealth() : null;
      if (failure) return new Reply(503, { status: 'degraded', version: options.version, reason: failure.reason, since: failure.since });
      return { status: 'ok', version: options.version };
    },
  };
  const all: Route[] = [health, ...routes];
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = url.pathname;
    try {
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      let allowed: string[] = [];
      for (const r of all) {
        const params = matchPath(r.path, route);
        if (!params) continue;
        if (r.method !== method) {
          allowed.push(r.method);
          continue;
        }
        let body: Promise<unknown> | undefined;
        const request: RouteRequest = {
          req,
          url,
          params,
          remoteAddress: req.socket.remoteAddress ?? '',
          token: tokenOf(req),
          body: () => (body ??= readJson(req, options.maxBodyBytes)),
        };
        const result = await r.handle(request);
        return result instanceof Reply ? sendJson(res, result.status, result.body) : sendJson(res, 200, result);
      }
      allowed = [...new Set(allowed)];
      if (allowed.length > 0) return sendError(res, 405, 'NOT_FOUND', `${req.method} is not allowed on ${route}`, { allow: allowed.join(', ') });
      return sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${route}`);
    } catch (e) {
      if (e instanceof TributaryError && STATUS[e.code] !== undefined) {
        const headers: Record<string, string> = {};
        if (e.code === 'LIMITS_EXCEEDED') headers.connection = 'close';
        if (e.code === 'RATE_LIMITED' && e.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
        return sendError(res, STATUS[e.code]!, e.code, e.message, headers);
      }
      log.error('http handler failed', { route, error: e });
      if (!res.headersSent) sendError(res, 500, 'OTHER_ERROR', 'internal server error');
      else res.destroy();
    }
  };
}

function matchPath(pattern: string | RegExp, path: string): Record<string, string> | null {
  if (typeof pattern === 'string') return pattern === path ? {} : null;
  const m = new RegExp(`^(?:${pattern.source})$`).exec(path);
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.groups ?? {})) {
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      throw new TributaryError('INVALID_ARGUMENT', `bad escape in ${path}`);
    }
  }
  return out;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { TributaryError, type ErrorCode } from '../errors';
import type { AuthService } from './auth';
import type { Logger } from '../shared/logger';

/** HTTP status for each error code a route can return. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  LIMITS_EXCEEDED: 413,
  AUTH_FAILED: 401,
  TOKEN_EXPIRED: 401,
  BAD_AUTHENTICATION: 401,
  PERMISSION_DENIED: 403,
  USER_EXISTS: 409,
  STORAGE_FAILURE: 503,
};

export interface HttpRoutesOptions {
  version: string;
  maxBodyBytes: number;
  /** Why storage takes no writes, or null (GET /health answers 503 "degraded" while it does not). */
  storageHealth?: () => Promise<{ reason: string; since: string } | null>;
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
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new TributaryError('INVALID_ARGUMENT', 'the body is not valid JSON'));
      }
    });
  });
}

/**
 * The HTTP routes: `GET /health` and `POST /auth`. Every response is JSON; errors are
 * `{code, message}` with a stable code from src/errors.ts. (The WebSocket upgrade on /sync is
 * handled in server.ts.)
 */
export function createRequestHandler(auth: AuthService, options: HttpRoutesOptions, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = url.pathname;
    try {
      if (route === '/health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'NOT_FOUND', `${req.method} is not allowed on /health`, { allow: 'GET, HEAD' });
        const failure = options.storageHealth ? await options.storageHealth() : null;
        if (failure) return sendJson(res, 503, { status: 'degraded', version: options.version, reason: failure.reason, since: failure.since });
        return sendJson(res, 200, { status: 'ok', version: options.version });
      }
      if (route === '/auth') {
        if (req.method !== 'POST') return sendError(res, 405, 'NOT_FOUND', `${req.method} is not allowed on /auth`, { allow: 'POST' });
        const body = await readJson(req, options.maxBodyBytes);
        const result = await auth.authenticate(body);
        return sendJson(res, 200, result);
      }
      return sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${route}`);
    } catch (e) {
      if (e instanceof TributaryError && STATUS[e.code] !== undefined) {
        if (e.code === 'LIMITS_EXCEEDED') res.setHeader('connection', 'close');
        return sendError(res, STATUS[e.code]!, e.code, e.message);
      }
      log.error('http handler failed', { route, error: e });
      if (!res.headersSent) sendError(res, 500, 'OTHER_ERROR', 'internal server error');
      else res.destroy();
    }
  };
}

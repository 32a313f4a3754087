import type { ObjectSchemaInput } from '../model';

/** Lifecycle of a request object: a client inserts it `pending`; the fetcher ends it `done` or `error`. */
export type FetchStatus = 'pending' | 'in-progress' | 'done' | 'error';

/**
 * The request type (rename it with `typeName`). Clients set `id`, `url` (or `params` for a custom
 * call function) and optionally `method`, `headers`, `body`; the fetcher writes the rest.
 */
export function fetchRequestSchema(name = 'FetchRequest'): ObjectSchemaInput {
  return {
    name,
    primaryKey: 'id',
    properties: {
      id: 'string',
      url: 'string?',
      method: 'string?',
      /** JSON object of header names to values. */
      headers: 'string?',
      body: 'string?',
      /** JSON, for call functions that are not plain HTTP. */
      params: 'string?',
      status: { type: 'string', default: 'pending' },
      /** The response body (or the call function's result, JSON-encoded unless a string). */
      result: 'string?',
      httpStatus: 'int?',
      /** The last failure; kept on `done` for the record, the reason on `error`. */
      error: 'string?',
      /** Calls started so far, counted before each call (so a crash mid-call counts). */
      attempts: { type: 'int', default: 0 },
      owner: 'string?',
      leaseUntil: 'date?',
      completedAt: 'date?',
    },
  };
}

/** What the call function sees: a plain snapshot of the request. */
export interface FetchRequestView {
  id: string;
  /** Realm path the request lives in. */
  path: string;
  url: string | null;
  method: string | null;
  headers: Record<string, string>;
  body: string | null;
  params: unknown;
  /** This call's number, 1-based. */
  attempt: number;
}

export interface CallContext {
  /** Aborts at the timeout and when the fetcher stops. */
  signal: AbortSignal;
  /**
   * The request id: the same on every attempt, including after a crash. Send it (the default call
   * function sets the `Idempotency-Key` header) so the server can answer a repeat from its record.
   */
  idempotencyKey: string;
}

/** The outcome to store: a string, or `{ body, status }`; anything else is stored as JSON. */
export type CallResult = string | { body: string; status?: number } | unknown;

export type CallFunction = (request: FetchRequestView, context: CallContext) => Promise<CallResult>;

/** A non-2xx HTTP response from the default call function. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** The default call: `fetch(url, { method, headers + Idempotency-Key, body })`; non-2xx throws HttpStatusError. */
export const httpCall: CallFunction = async (request, { signal, idempotencyKey }) => {
  if (!request.url) throw new PermanentError('the request has no url');
  const res = await fetch(request.url, {
    method: request.method ?? (request.body === null ? 'GET' : 'POST'),
    headers: { ...request.headers, 'Idempotency-Key': idempotencyKey },
    body: request.body ?? undefined,
    signal,
  });
  const body = await res.text();
  if (!res.ok) throw new HttpStatusError(res.status, body);
  return { body, status: res.status };
};

/** Throw it from a call function for a failure that retrying cannot fix. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

/**
 * Default classification: HTTP 4xx other than 408 (timeout), 425 and 429 (too many requests), and
 * PermanentError, are final; everything else — 5xx, timeouts, network errors — is retried.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentError) return false;
  if (error instanceof HttpStatusError) return error.status >= 500 || error.status === 408 || error.status === 425 || error.status === 429;
  return true;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return `${error.name}: the call did not finish in time`;
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}

export function storedResult(result: CallResult): { result: string; httpStatus: number | null } {
  if (typeof result === 'string') return { result, httpStatus: null };
  if (result && typeof result === 'object' && typeof (result as { body?: unknown }).body === 'string') {
    const r = result as { body: string; status?: number };
    return { result: r.body, httpStatus: typeof r.status === 'number' ? r.status : null };
  }
  return { result: JSON.stringify(result ?? null), httpStatus: null };
}

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

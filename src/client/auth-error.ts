import { TributaryError, type ErrorCode } from '../errors';

/**
 * realm-js `Realm.Sync.AuthError`: what a failed request to the server's HTTP API rejects with
 * (login, registration, token refresh, the permission and account calls), so `e instanceof
 * Realm.Sync.AuthError` works as it did. It is a TributaryError: `code` is the stable string code
 * (`AUTH_FAILED`, `USER_EXISTS`, `RATE_LIMITED`…; realm-js had numbers), `status` the HTTP
 * status, `title` the server's message.
 */
export class AuthError extends TributaryError {
  readonly status: number;
  readonly title: string;
  /** realm-js carried a problem-type URL; here the code, as a URN. */
  readonly type: string;

  constructor(code: ErrorCode, message: string, status: number, options?: { retryAfterMs?: number }) {
    super(code, message, options);
    this.name = 'AuthError';
    this.status = status;
    this.title = message;
    this.type = `urn:tributary:error:${code}`;
  }
}

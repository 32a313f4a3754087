export { User, type UserOptions } from './user';
export { Session, type SessionOptions } from './session';
export { Connection, DEFAULT_CONNECTION_OPTIONS, type ConnectionOptions } from './connection';
export { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from '../shared/backoff';
export { decodeTokenClaims, tokenExpiry } from './jwt';
export { AuthError } from './auth-error';
export { setLogLevel, setLogger, LOG_LEVELS, type SyncLogLevel, type SyncLogger } from './sync-log';
export type { ConnectionNotification } from './session';

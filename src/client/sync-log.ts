import { TributaryError } from '../errors';

/**
 * realm-js `Realm.Sync.setLogLevel(level)` and `Realm.Sync.setLogger((level, message) => …)`: what
 * the sync client reports (connecting, connected, lost connections and reconnect delays, binds,
 * session errors, client resets, token renewals), process-wide as in realm-js. Levels are
 * realm-js's, numbered as its logger callback received them. Nothing is reported until a logger
 * is set: library code never writes to the console (realm-js printed to stderr by default).
 *
 * @example
 * Realm.Sync.setLogLevel('debug');
 * Realm.Sync.setLogger((level, message) => console.log(`[sync ${level}] ${message}`));
 */
export const LOG_LEVELS = ['all', 'trace', 'debug', 'detail', 'info', 'warn', 'error', 'fatal', 'off'] as const;
export type SyncLogLevel = (typeof LOG_LEVELS)[number];
export type SyncLogger = (level: number, message: string) => void;

let threshold = LOG_LEVELS.indexOf('info');
let logger: SyncLogger | null = null;

export function setLogLevel(level: SyncLogLevel): void {
  const i = LOG_LEVELS.indexOf(level);
  if (i < 0) throw new TributaryError('INVALID_ARGUMENT', `log level must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(level)}`);
  threshold = i;
}

/** Sets (or with null removes) the logger; `(level, message)`, level as a number (see {@link LOG_LEVELS}). */
export function setLogger(callback: SyncLogger | null): void {
  if (callback !== null && typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'setLogger expects a function (level, message) => void, or null');
  logger = callback;
}

/** Reports a sync-client event (cheap when nobody listens: the message is built lazily). */
export function syncLog(level: Exclude<SyncLogLevel, 'all' | 'off'>, message: () => string): void {
  const i = LOG_LEVELS.indexOf(level);
  if (!logger || i < threshold) return;
  try {
    logger(i, message());
  } catch {
    // a failing logger must not break syncing
  }
}

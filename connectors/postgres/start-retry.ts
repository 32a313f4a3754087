import { startWithRetry as kitStartWithRetry } from '../kit/retry';
import type { Logger } from '../../src/shared/logger';
import type { PostgresConnector } from './connector';
import { classify } from './errors';

export interface StartRetryOptions {
  /** A fresh connector for each attempt (a failed start has released everything it opened). */
  create: () => PostgresConnector;
  log: Logger;
  /** True once the caller is stopping: no further attempt is made. */
  stopping?: () => boolean;
  /** Called with each connector before its start, so a signal can stop the one that is starting. */
  onAttempt?: (connector: PostgresConnector) => void;
  /** First back-off bound (default 1 s), doubling up to `maxDelayMs` (default 30 s); each wait is drawn up to the bound (src/client/backoff.ts), at least half the first. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The kit's `startWithRetry` with PostgreSQL's classification: a start that fails because the
 * database is down or restarting, out of connections, or a slot or replication origin is still held
 * by the session of a connector process that just died (SQLSTATE 55006 until PostgreSQL notices)
 * is retried with back-off; a permanent failure is thrown at once.
 */
export function startWithRetry(o: StartRetryOptions): Promise<PostgresConnector> {
  return kitStartWithRetry({ ...o, classify, label: 'postgres connector' });
}

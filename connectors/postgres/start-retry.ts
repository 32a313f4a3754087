import { Backoff } from '../../src/shared/backoff';
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
 * Starts a connector, retrying with back-off while the failure is transient — the database is
 * down or restarting, out of connections, or a slot or replication origin is still held by the
 * session of a connector process that just died (SQLSTATE 55006 until PostgreSQL notices). A
 * permanent failure (configuration, privileges, a missing table) is thrown at once.
 */
export async function startWithRetry(o: StartRetryOptions): Promise<PostgresConnector> {
  const first = o.initialDelayMs ?? 1000;
  const backoff = new Backoff({ initialMs: first, maxMs: o.maxDelayMs ?? 30_000 });
  for (let attempt = 1; ; attempt++) {
    const connector = o.create();
    o.onAttempt?.(connector);
    try {
      await connector.start();
      return connector;
    } catch (e) {
      if (classify(e) !== 'transient' || o.stopping?.()) throw e;
      const delayMs = backoff.next(first / 2);
      const code = (e as { code?: string }).code ?? null;
      o.log.warn('postgres connector: start failed; retrying', { attempt, delayMs, code, error: String((e as Error).message ?? e) });
      await new Promise((r) => setTimeout(r, delayMs));
      if (o.stopping?.()) throw e;
    }
  }
}

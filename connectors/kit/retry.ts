import { Backoff } from '../../src/shared/backoff';
import type { Logger } from '../../src/shared/logger';
import type { Classification } from './errors';

/** Retry of a failed apply batch: 250 ms doubling to 30 s, jittered (at least 125 ms). */
export const APPLY_BACKOFF = { initialMs: 250, maxMs: 30_000 };

/** Reconnection of a lost change stream: 200 ms doubling to 30 s, jittered (at least 100 ms). */
export const STREAM_BACKOFF = { initialMs: 200, maxMs: 30_000 };

export interface StartRetryOptions<C extends { start(): Promise<void> }> {
  /** A fresh connector for each attempt (a failed start has released everything it opened). */
  create: () => C;
  log: Logger;
  /** The connector's classification: only transient failures are retried. */
  classify: (e: unknown) => Classification;
  /** Names the connector in log lines (`postgres connector`). */
  label: string;
  /** True once the caller is stopping: no further attempt is made. */
  stopping?: () => boolean;
  /** Called with each connector before its start, so a signal can stop the one that is starting. */
  onAttempt?: (connector: C) => void;
  /** First back-off bound (default 1 s), doubling up to `maxDelayMs` (default 30 s); each wait is drawn up to the bound, at least half the first. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Starts a connector, retrying with back-off while the failure is transient — the database is down
 * or restarting, out of connections, or a resource is still held by the session of a connector
 * process that just died. A permanent failure (configuration, privileges, a missing table) is
 * thrown at once.
 *
 * @example
 * const c = await startWithRetry({ create: () => new PostgresConnector(config, { log }), log, classify, label: 'postgres connector' });
 */
export async function startWithRetry<C extends { start(): Promise<void> }>(o: StartRetryOptions<C>): Promise<C> {
  const first = o.initialDelayMs ?? 1000;
  const backoff = new Backoff({ initialMs: first, maxMs: o.maxDelayMs ?? 30_000 });
  for (let attempt = 1; ; attempt++) {
    const connector = o.create();
    o.onAttempt?.(connector);
    try {
      await connector.start();
      return connector;
    } catch (e) {
      if (o.classify(e) !== 'transient' || o.stopping?.()) throw e;
      const delayMs = backoff.next(first / 2);
      const raw = (e as { code?: unknown }).code;
      const code = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : null;
      o.log.warn(`${o.label}: start failed; retrying`, { attempt, delayMs, code, error: String((e as Error).message ?? e) });
      await new Promise((r) => setTimeout(r, delayMs));
      if (o.stopping?.()) throw e;
    }
  }
}

export interface StreamLoopOptions {
  /** Runs the change stream until it ends or fails (resolving means it ended). */
  stream: () => Promise<void>;
  /** After a failure and the back-off wait: reopen what the stream needs (new connection, resume point). */
  reconnect: () => Promise<void>;
  classify: (e: unknown) => Classification;
  /** True once the connector is stopping or halted: the loop returns. */
  stopped: () => boolean;
  /** Each failure, before the wait (the connector records it as `lastError`). */
  onError: (e: unknown) => void;
  /** `retrying` while waiting, `streaming` once reconnected, `failed` on a permanent error. */
  onState: (state: 'retrying' | 'streaming' | 'failed') => void;
  /** The error a stream that ends on its own is (it is retried like a lost connection). */
  ended: () => Error;
  log: Logger;
  label: string;
}

/**
 * The database → realm stream with reconnection: a transient failure (or a stream that ended) is
 * retried with {@link STREAM_BACKOFF}; a permanent one stops the stream with state `failed`.
 */
export async function runStreamLoop(o: StreamLoopOptions): Promise<void> {
  const backoff = new Backoff(STREAM_BACKOFF);
  while (!o.stopped()) {
    try {
      await o.stream();
      if (o.stopped()) return;
      throw o.ended();
    } catch (e) {
      if (o.stopped()) return;
      o.onError(e);
      if (o.classify(e) === 'permanent') {
        o.onState('failed');
        o.log.error(`${o.label}: stopped`, { error: String(e) });
        return;
      }
      o.onState('retrying');
      const delay = backoff.next(STREAM_BACKOFF.initialMs / 2);
      o.log.warn(`${o.label}: stream lost; retrying`, { error: String(e), delayMs: delay });
      await new Promise((r) => setTimeout(r, delay));
      if (o.stopped()) return;
      try {
        await o.reconnect();
        if (o.stopped()) return;
        o.onState('streaming');
        backoff.reset();
      } catch (e2) {
        o.onError(e2);
      }
    }
  }
}

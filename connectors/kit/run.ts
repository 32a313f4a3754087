import type { Logger } from '../../src/shared/logger';
import type { Connector } from '../contract';
import type { Classification } from './errors';
import { loadProgressLogger, type LoadProgress } from './load-progress';
import { startWithRetry } from './retry';

export interface RunOptions<C extends Connector> {
  /** A fresh connector for each start attempt, with the progress callback to pass on. */
  create: (onProgress: (p: LoadProgress) => void) => C;
  classify: (e: unknown) => Classification;
  log: Logger;
  /** Names the connector in log lines (`postgres connector`). */
  label: string;
  /** Fields of the `… stopped` line (PostgreSQL: slot and confirmed LSN). */
  stoppedFields?: (connector: C) => Record<string, unknown>;
  /** For tests: instead of `process.exit`. */
  exit?: (code: number) => void;
}

/**
 * `tributary connector <type> --config <file>`: runs a connector until SIGINT/SIGTERM, logging
 * load progress and status as JSON lines. A signal stops it cleanly (acknowledged positions
 * confirmed) and exits 0; a signal during the start (e.g. the initial load) abandons the start,
 * which the next start redoes. A start that fails for a transient reason (database down, a resource
 * still held by a process that just died) is retried with back-off; a permanent one is thrown with
 * its code.
 */
export async function runConnector<C extends Connector>(o: RunOptions<C>): Promise<C> {
  const { log, label } = o;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const onProgress = loadProgressLogger(log);
  let connector: C | null = null;
  let stopping: Promise<never> | null = null;
  const stop = (signal: string) => {
    if (stopping) return;
    log.info(`${label} stopping`, { signal });
    stopping = (connector ? connector.stop() : Promise.resolve()).then(
      () => {
        const s = connector?.status();
        log.info(`${label} stopped`, { ...(connector && o.stoppedFields ? o.stoppedFields(connector) : {}), transactions: s?.transactions });
        exit(0);
        return new Promise<never>(() => undefined);
      },
      (e: unknown) => {
        log.error(`${label}: stop failed`, { error: String(e) });
        exit(1);
        return new Promise<never>(() => undefined);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    // A database that is down or restarting at start is waited for, like a connection lost later.
    connector = await startWithRetry({ create: () => o.create(onProgress), log, classify: o.classify, label, stopping: () => stopping !== null, onAttempt: (c) => (connector = c) });
  } catch (e) {
    if (stopping) await stopping; // exits
    throw e;
  }
  if (!stopping) log.info(`${label} streaming`, connector.status() as unknown as Record<string, unknown>);
  return connector;
}

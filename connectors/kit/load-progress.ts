import type { Logger } from '../../src/shared/logger';

/** Progress of one table's (collection's) initial load, for `onProgress` callbacks. */
export interface LoadProgress {
  table: string;
  rows: number;
  /** The database's estimate of the table's rows (PostgreSQL: pg_class.reltuples), or null. */
  estimate: number | null;
  done: boolean;
}

/**
 * An `onProgress` that logs `initial load` lines: at most one per `everyMs` per run, and always the
 * line of a finished table, with the rate and, when the database gave an estimate, the percentage.
 *
 * @example
 * new PostgresConnector(config, { log, onProgress: loadProgressLogger(log) });
 */
export function loadProgressLogger(log: Logger, everyMs = 1000, now: () => number = Date.now): (p: LoadProgress) => void {
  let last = -Infinity;
  const started = new Map<string, number>();
  return (p) => {
    const t = now();
    if (!started.has(p.table)) started.set(p.table, t);
    if (!p.done && t - last < everyMs) return;
    last = t;
    const seconds = (t - started.get(p.table)!) / 1000;
    const fields: Record<string, unknown> = { table: p.table, rows: p.rows, estimate: p.estimate, done: p.done };
    if (seconds > 0) fields.rowsPerSecond = Math.round(p.rows / seconds);
    if (p.estimate) fields.percent = Math.min(100, Math.round((p.rows / p.estimate) * 100));
    log.info('initial load', fields);
  };
}

import type { Adapter, AdapterTransaction } from '../../src/adapter';
import { Backoff } from '../../src/shared/backoff';
import type { Logger } from '../../src/shared/logger';
import { crashPoint } from './crash-points';
import { configurationError, errorText, type ApplyFailureKind } from './errors';
import { APPLY_BACKOFF } from './retry';
import { newApplyStatus, type ApplyStatus } from './status';

/**
 * Realm → database, the database-neutral half (CONNECTORS.md §1): consumes the Adapter stream of
 * the mapped realms, one realm at a time, in batches of up to `batch` realm transactions, and hands
 * each batch to the connector's {@link ApplyTarget}, which writes it in ONE database transaction
 * together with the realm's apply position (exactly once across crashes: a batch the database
 * already holds is skipped by the position). The loop advances the Adapter only after that commit.
 *
 * Failures, by the connector's classification ({@link ApplyFailureKind}):
 * - `transient`: the realm waits with back-off and jitter and is retried, nothing lost;
 * - `race`: the batch is run again at once (up to {@link RACE_RETRIES} times, then back-off);
 * - `refused` / `failed`: the batch is split, its transactions applied one by one, and only those
 *   that fail on their own are rejected into dead letters (the target's `reject`), so one bad
 *   transaction never stalls a realm;
 * - `configuration`: the loop stops every realm and hands a CONNECTOR_APPLY_CONFIGURATION error to
 *   the connector (`onStopped`), keeping the realm transactions for the next start.
 */

/** What a connector writes with. */
export interface ApplyTarget {
  /** Creates what apply keeps in the database (the apply positions, the dead letters). */
  prepare(): Promise<void>;
  /**
   * Writes a batch of one realm's transactions and the position (the last transaction's number)
   * in one database transaction; transactions at or below the stored position are skipped.
   * Returns how many were written and how many skipped. Throws to be classified.
   */
  applyBatch(path: string, txs: AdapterTransaction[]): Promise<{ applied: number; skipped: number }>;
  /** Rejects one transaction into a dead letter, resetting its objects, with the position (see reject.ts). */
  reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<void>;
  /** A target's own race signal (PostgreSQL: a row inserted after the batch's locks), besides kind `race`. */
  isRace?(e: unknown): boolean;
  /** Drops the connection after a transient or failed batch; reopened on next use. */
  dropConnection(): void;
  /** The table the last statement wrote (named in configuration errors), or null. */
  readonly lastTable: string | null;
  /** Closes the connection. */
  close(): Promise<void>;
}

export interface ApplyLoopOptions {
  /** Realm transactions per database transaction, at most (config `applyBatch`). */
  batch: number;
  classify: (e: unknown) => ApplyFailureKind;
  /** The driver's code of an error (logged, and in `lastError`). */
  driverCode: (e: unknown) => string | null;
  /** The database's name in messages (`PostgreSQL`). */
  database: string;
  /** Names the connector in log lines (`postgres connector`). */
  label: string;
  log: Logger;
  /** The database cannot take the writes at all: the loop has stopped; the connector stops with the error. */
  onStopped?: (error: Error) => void;
}

/** Immediate runs of a batch a concurrent database write raced before it waits for the back-off retry. */
export const RACE_RETRIES = 20;

const permanent = (kind: ApplyFailureKind): kind is 'refused' | 'failed' => kind === 'refused' || kind === 'failed';

export class ApplyLoop {
  readonly status: ApplyStatus = newApplyStatus();
  private pending = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private busy = 0;
  private started = false;
  private stopped = false;
  private readonly backoffs = new Map<string, Backoff>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly adapter: Adapter,
    private readonly target: ApplyTarget,
    private readonly o: ApplyLoopOptions,
  ) {}

  async start(): Promise<void> {
    await this.target.prepare();
    this.started = true;
    for (const p of this.adapter.paths) if (this.adapter.pendingCount(p) > 0) this.pending.add(p);
    for (const p of [...this.pending]) this.schedule(p);
  }

  /** The Adapter's change callback: drains `path` (serialised with every other path). */
  schedule(path: string): void {
    if (this.stopped) return;
    this.pending.add(path);
    if (!this.started || this.retryTimers.has(path)) return;
    this.busy++;
    this.chain = this.chain
      .then(() => this.drain(path))
      .catch((e) => this.failed(path, e))
      .finally(() => this.busy--);
  }

  /** True when nothing is scheduled, running or waiting for a retry. */
  get idle(): boolean {
    return this.busy === 0 && this.retryTimers.size === 0;
  }

  /** Resolves when everything scheduled so far is applied (or failed). */
  drained(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await this.chain.catch(() => undefined);
    await this.target.close();
  }

  private text(e: unknown): string {
    const code = this.o.driverCode(e);
    return `${errorText(e)}${code ? ` [${code}]` : ''}`;
  }

  /**
   * A batch failed with something a rejection does not settle: a transient error (or a race that
   * kept racing) is retried with back-off; a configuration error stops the loop.
   */
  private failed(path: string, e: unknown): void {
    if (this.stopped) return;
    const kind = this.o.classify(e);
    const code = this.o.driverCode(e);
    this.status.lastError = this.text(e);
    if (kind === 'configuration') {
      this.halt(configurationError(this.o.database, path, this.target.lastTable, e, code));
      return;
    }
    let backoff = this.backoffs.get(path);
    if (!backoff) this.backoffs.set(path, (backoff = new Backoff(APPLY_BACKOFF)));
    if (kind === 'transient' || kind === 'failed') this.target.dropConnection();
    const delay = backoff.next(APPLY_BACKOFF.initialMs / 2);
    const fields = { path, attempt: backoff.attempts, delayMs: delay, kind, sqlstate: code, error: errorText(e) };
    // A rejection that could not be written (kind refused / failed here) is unexpected; the rest passes on its own.
    if (kind === 'transient' || kind === 'race') this.o.log.warn(`${this.o.label} apply: failed; the realm transactions stay in the Adapter log and are retried`, fields);
    else this.o.log.error(`${this.o.label} apply: could not reject a failed realm transaction; retried`, fields);
    this.status.retrying = this.retryTimers.size + 1;
    const timer = setTimeout(() => {
      this.retryTimers.delete(path);
      this.status.retrying = this.retryTimers.size;
      this.schedule(path);
    }, delay);
    timer.unref();
    this.retryTimers.set(path, timer);
  }

  /** Stops applying (every realm) and hands the error to the connector. */
  private halt(error: Error): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.status.retrying = 0;
    this.status.lastError = error.message;
    this.o.log.error(`${this.o.label} apply: stopped`, { code: (error as { code?: string }).code, error: error.message });
    this.o.onStopped?.(error);
  }

  private async drain(path: string): Promise<void> {
    this.pending.delete(path);
    while (!this.stopped) {
      const txs = this.adapter.pending(path, this.o.batch);
      if (txs.length === 0) break;
      const through = await this.applyOrIsolate(path, txs);
      if (this.stopped) return;
      crashPoint('apply-committed');
      this.adapter.advance(path, through);
      this.backoffs.delete(path);
    }
  }

  /**
   * Applies a batch; when it fails permanently (refused, or failed), applies its transactions one
   * by one so that only the transactions that fail on their own are rejected into dead letters.
   * Returns the number of the last transaction settled.
   */
  private async applyOrIsolate(path: string, txs: AdapterTransaction[]): Promise<number> {
    try {
      return await this.applyRacing(path, txs);
    } catch (e) {
      const kind = this.o.classify(e);
      if (!permanent(kind)) throw e;
      if (txs.length === 1) return this.reject(path, txs[0]!, e, kind);
      let through = 0;
      for (const tx of txs) {
        try {
          through = await this.applyRacing(path, [tx]);
        } catch (e1) {
          const kind1 = this.o.classify(e1);
          if (!permanent(kind1)) throw e1;
          through = await this.reject(path, tx, e1, kind1);
        }
      }
      return through;
    }
  }

  /**
   * Runs a batch again at once when a concurrent write raced it: the next run sees (and locks)
   * what raced. A key written and deleted on the database side in a tight loop can race again;
   * after {@link RACE_RETRIES} runs the batch goes to the back-off retry.
   */
  private async applyRacing(path: string, txs: AdapterTransaction[]): Promise<number> {
    const through = txs[txs.length - 1]!.transaction ?? 0;
    for (let run = 1; ; run++) {
      try {
        const r = await this.target.applyBatch(path, txs);
        this.status.applied += r.applied;
        this.status.alreadyApplied += r.skipped;
        if (r.applied > 0) this.status.batches++;
        return through;
      } catch (e) {
        if (!(this.target.isRace?.(e) || this.o.classify(e) === 'race') || run >= RACE_RETRIES || this.stopped) throw e;
        this.status.races++;
        this.o.log.debug(`${this.o.label} apply: a concurrent write raced the batch; running it again`, { path, run, error: errorText(e) });
        await new Promise((r) => setTimeout(r, Math.random() * 10 * run));
      }
    }
  }

  private async reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<number> {
    await this.target.reject(path, tx, error, kind);
    return tx.transaction ?? 0;
  }
}

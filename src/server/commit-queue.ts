import { TributaryError } from '../errors';
import type { Logger } from '../shared/logger';
import type { StorageDriver, WriteTransaction } from './storage/types';

interface Job {
  run: (tx: WriteTransaction) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** How a job is batched. */
export interface SubmitOptions {
  /**
   * A long job (a further slice of a big upload or merge): it commits in a transaction of its own,
   * never together with short jobs, so a short write waits for at most the one long job already
   * running, not for a long job and its own commit in one transaction. When both kinds wait,
   * transactions of short jobs and single long jobs alternate, so neither starves.
   */
  background?: boolean;
}

/**
 * Group commit. Every write of the sync engine (uploads, ident allocation, realm creation, user
 * registration) is submitted here. Jobs that arrive while a commit is running, or within the same
 * event-loop turn, run in one storage transaction, each under its own savepoint: a job that throws
 * is undone alone and its promise rejects, the others commit. Every promise settles only after the
 * transaction is durable, so callers acknowledge nothing that could still be lost.
 *
 * The SQLite driver commits synchronously and then waits for the fsync of its WAL off the event
 * loop: jobs submitted during that wait form the next transaction. `extraTurns` (server option
 * `groupCommitTurns`) lets the flush wait that many more event-loop turns (setImmediate) after
 * the first job, so uploads read from the sockets in the next turns join the same commit.
 */
export class CommitQueue {
  private queue: Job[] = [];
  private background: Job[] = [];
  /**
   * Whether the last transaction was a background job's: then waiting short jobs go next; after a
   * transaction of short jobs, a waiting background job does (at the start, short jobs first).
   */
  private lastWasBackground = true;
  private scheduled = false;
  private running: Promise<void> | null = null;
  /** The running transaction is one of short jobs (not a background job's slice). */
  private runningShort = false;
  /** Called when the running transaction of short jobs has settled (see {@link afterShortCommit}). */
  private afterRunning: (() => void)[] = [];
  private closed = false;
  /** Number of batches committed and jobs in them (for tests and metrics). */
  readonly stats = { batches: 0, jobs: 0, largestBatch: 0 };
  /** The last storage failure, until a later write succeeds (what /health reports). */
  private failure: { reason: string; since: string } | null = null;
  private probing: Promise<void> | null = null;

  constructor(
    private readonly storage: StorageDriver,
    private readonly log: Logger,
    private readonly extraTurns = 0,
  ) {}

  submit<T>(run: (tx: WriteTransaction) => T, options: SubmitOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new TributaryError('STORAGE_FAILURE', 'the server is shutting down'));
    return new Promise<T>((resolve, reject) => {
      (options.background ? this.background : this.queue).push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** The jobs of the next transaction: every short job waiting, or one long job. */
  private take(): Job[] {
    const useBackground = this.background.length > 0 && (this.queue.length === 0 || !this.lastWasBackground);
    this.lastWasBackground = useBackground;
    if (useBackground) return [this.background.shift()!];
    const jobs = this.queue;
    this.queue = [];
    return jobs;
  }

  private get waiting(): number {
    return this.queue.length + this.background.length;
  }

  /** Jobs submitted and not yet in a transaction (for metrics and tests). */
  get queuedJobs(): number {
    return this.waiting;
  }

  /**
   * Null while storage takes writes; otherwise why it does not. After a failure, a small real
   * write is tried (at most one at a time) before answering, so the report clears once the disk
   * has room again, without waiting for a client to write.
   */
  async storageHealth(now = Date.now()): Promise<{ reason: string; since: string } | null> {
    if (!this.failure || this.closed) return this.failure;
    this.probing ??= this.submit((tx) => tx.heartbeat(now))
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.probing = null));
    await this.probing;
    return this.failure;
  }

  private noteFailure(error: unknown): void {
    const e = error as { code?: unknown; message?: unknown };
    this.failure = { reason: `${typeof e?.code === 'string' ? e.code + ': ' : ''}${String(e?.message ?? error)}`, since: this.failure?.since ?? new Date().toISOString() };
  }

  /** Resolves when every job submitted so far has settled. */
  async drain(): Promise<void> {
    while (this.waiting > 0 || this.running || this.scheduled) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Refuses new jobs, then waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    let waited = 0;
    const go = () => {
      if (waited < this.extraTurns && !this.closed) {
        waited++;
        setImmediate(go);
        return;
      }
      this.scheduled = false;
      this.running = this.flush().finally(() => {
        this.running = null;
        this.runningShort = false;
        const after = this.afterRunning;
        this.afterRunning = [];
        for (const fn of after) {
          try {
            fn();
          } catch (error) {
            // A waiter's failure is its own: the queue goes on.
            this.log.error('a callback after a commit failed', { error });
          }
        }
        if (this.waiting > 0) this.schedule();
      });
    };
    setImmediate(go);
  }

  /**
   * When a transaction of short jobs (uploads, not a merge's slice) is committing now, or is the
   * next to commit, and no background job (a big upload's or a merge's slices) is running or
   * waiting: calls `fn` once it has committed and its jobs have settled, and returns true.
   * Otherwise returns false and never calls `fn`. (While slices run, the short jobs between them
   * include the slices' own first ones, which take a slice's time.)
   */
  afterShortCommit(fn: () => void): boolean {
    if (this.background.length > 0 || (this.running ? !this.runningShort : this.queue.length === 0)) return false;
    this.afterRunning.push(fn);
    return true;
  }

  private async flush(): Promise<void> {
    const jobs = this.take();
    if (jobs.length === 0) return;
    this.runningShort = !this.lastWasBackground;
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[];
    try {
      outcomes = await this.storage.write((tx) => {
        // A job alone is the whole transaction: when it throws, the transaction rolls back, and no
        // savepoint is needed. A savepoint copies every page its body changes to SQLite's statement
        // journal, a temporary file past 64 KiB: for the slices of a merge, which commit alone,
        // that was as many bytes again as the WAL, written (and flushed by the kernel) beside it.
        if (jobs.length === 1) {
          try {
            return [{ ok: true as const, value: jobs[0]!.run(tx) }];
          } catch (error) {
            throw new JobFailed(error);
          }
        }
        return jobs.map((job) => {
          try {
            return { ok: true as const, value: tx.savepoint(() => job.run(tx)) };
          } catch (error) {
            return { ok: false as const, error };
          }
        });
      });
    } catch (error) {
      if (error instanceof JobFailed) {
        // Rolled back, nothing committed: the job fails as it would under its savepoint (and no
        // batch is counted: there was no commit).
        this.settle(jobs, [{ ok: false, error: error.error }], false);
      } else {
        this.failBatch(jobs, error);
      }
      return;
    }
    this.settle(jobs, outcomes);
  }

  private failBatch(jobs: Job[], error: unknown): void {
    this.log.error('group commit failed', { jobs: jobs.length, error });
    this.noteFailure(error);
    for (const job of jobs) job.reject(error);
  }

  private settle(jobs: Job[], outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[], committed = true): void {
    const storageError = outcomes.find((o) => !o.ok && (o.error as { code?: unknown })?.code === 'STORAGE_FAILURE');
    if (storageError && !storageError.ok) this.noteFailure(storageError.error);
    else if (outcomes.some((o) => o.ok)) this.failure = null;
    if (committed) {
      this.stats.batches++;
      this.stats.jobs += jobs.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, jobs.length);
      this.log.debug('committed batch', { jobs: jobs.length });
    }
    for (let i = 0; i < jobs.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) jobs[i]!.resolve(o.value);
      else jobs[i]!.reject(o.error);
    }
  }
}

/** A lone job's own failure, carried out of its (rolled back) transaction. */
class JobFailed {
  constructor(readonly error: unknown) {}
}

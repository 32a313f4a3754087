import { TributaryError } from '../errors';
import type { Logger } from '../shared/logger';
import type { StorageDriver, WriteTransaction } from './storage/types';

interface Job {
  run: (tx: WriteTransaction) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit. Every write of the sync engine (uploads, ident allocation, realm creation, user
 * registration) is submitted here. Jobs that arrive while a commit is running, or within the same
 * event-loop turn, run in one storage transaction, each under its own savepoint: a job that throws
 * is undone alone and its promise rejects, the others commit. Every promise settles only after the
 * transaction is durable, so callers acknowledge nothing that could still be lost.
 *
 * better-sqlite3 commits synchronously, so "while a commit is running" never happens from
 * JavaScript's point of view; `extraTurns` (server option `groupCommitTurns`) lets the flush wait
 * that many more event-loop turns (setImmediate) after the first job, so uploads read from the
 * sockets in the next turns join the same commit.
 */
export class CommitQueue {
  private queue: Job[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Number of batches committed and jobs in them (for tests and metrics). */
  readonly stats = { batches: 0, jobs: 0, largestBatch: 0 };

  constructor(
    private readonly storage: StorageDriver,
    private readonly log: Logger,
    private readonly extraTurns = 0,
  ) {}

  submit<T>(run: (tx: WriteTransaction) => T): Promise<T> {
    if (this.closed) return Promise.reject(new TributaryError('STORAGE_FAILURE', 'the server is shutting down'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves when every job submitted so far has settled. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.running || this.scheduled) {
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
        if (this.queue.length > 0) this.schedule();
      });
    };
    setImmediate(go);
  }

  private async flush(): Promise<void> {
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[];
    try {
      outcomes = await this.storage.write((tx) =>
        jobs.map((job) => {
          try {
            return { ok: true as const, value: tx.savepoint(() => job.run(tx)) };
          } catch (error) {
            return { ok: false as const, error };
          }
        }),
      );
    } catch (error) {
      this.log.error('group commit failed', { jobs: jobs.length, error });
      for (const job of jobs) job.reject(error);
      return;
    }
    this.stats.batches++;
    this.stats.jobs += jobs.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, jobs.length);
    this.log.debug('committed batch', { jobs: jobs.length });
    for (let i = 0; i < jobs.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) jobs[i]!.resolve(o.value);
      else jobs[i]!.reject(o.error);
    }
  }
}

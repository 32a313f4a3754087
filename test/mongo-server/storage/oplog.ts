/**
 * The oplog: every committed change, in commit order, each with its cluster time. It keeps at most
 * `capacity` entries (one per document written, plus one per drop); older ones are trimmed, and the
 * newest trimmed position is remembered so that a change stream resuming from before it fails with
 * ChangeStreamHistoryLost instead of silently skipping events. Change streams wait on it for new
 * entries (no polling).
 */
import type { Document, Long, UUID } from 'mongodb';
import type { ClusterTime } from '../cluster-clock';
import { position, type StreamPosition } from '../resume-token';
import type { UpdateDescription } from '../update-description';

export type OplogOperation = 'insert' | 'update' | 'replace' | 'delete' | 'drop' | 'dropDatabase';

export interface OplogEntry {
  time: ClusterTime;
  /** Index within its commit (transaction statements share a time). */
  index: number;
  wall: Date;
  op: OplogOperation;
  db: string;
  /** Absent for dropDatabase. */
  coll?: string;
  uuid?: UUID;
  documentKey?: Document;
  /** The document after the write (insert, update, replace). */
  after?: Document;
  /** The document before the write (update, replace, delete). */
  before?: Document;
  updateDescription?: UpdateDescription;
  /** The collection had changeStreamPreAndPostImages enabled when the write happened. */
  imagesRecorded: boolean;
  /** Set for writes made inside a multi-document transaction. */
  lsid?: Document;
  txnNumber?: Long;
}

export function entryPosition(entry: OplogEntry, sub = 0): StreamPosition {
  return position(entry.time, entry.index, sub);
}

export class Oplog {
  private entries: OplogEntry[] = [];
  private head = 0;
  private waiters = new Set<() => void>();
  private notifyScheduled = false;
  /** Everything at or before this position has been trimmed (-1: nothing has). */
  private trimmedThrough: StreamPosition = -1n;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`oplogSize must be at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** The newest trimmed entry's last possible event position, or -1n. */
  get lostThrough(): StreamPosition {
    return this.trimmedThrough;
  }

  /** Appends the entries of one commit (all of the same time, in order). */
  append(batch: readonly OplogEntry[]): void {
    for (const entry of batch) this.entries.push(entry);
    let excess = this.size - this.capacity;
    while (excess > 0) {
      const dropped = this.entries[this.head]!;
      this.trimmedThrough = entryPosition(dropped, 0xff);
      this.head += 1;
      excess -= 1;
    }
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.scheduleNotify();
  }

  /** Index (for `at`) of the first entry that may hold events after `after`. */
  seek(after: StreamPosition): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // An entry can yield sub-events up to sub 0xff: keep it if any of them is after `after`.
      if (entryPosition(this.entries[mid]!, 0xff) <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  at(index: number): OplogEntry | undefined {
    return index >= this.head ? this.entries[index] : undefined;
  }

  get end(): number {
    return this.entries.length;
  }

  /** Resolves when entries are appended, at `deadline` (ms since epoch), or when `signal` aborts. */
  waitForAppend(deadline: number, signal?: AbortSignal): Promise<void> {
    const delay = deadline - Date.now();
    if (delay <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.waiters.size === 0) return;
    this.notifyScheduled = true;
    // One wake-up per burst of commits (an insertMany of 10,000 documents wakes each stream once).
    setImmediate(() => {
      this.notifyScheduled = false;
      for (const waiter of [...this.waiters]) waiter();
    });
  }
}

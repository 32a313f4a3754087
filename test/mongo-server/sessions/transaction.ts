/**
 * A multi-document transaction: reads see the collection as of the transaction's snapshot plus the
 * transaction's own writes; writes are staged (and their documents locked) until commit, when they
 * are committed together at one cluster time. First writer wins: writing a document another open
 * transaction has written, or one committed after this transaction's snapshot, is a WriteConflict
 * (112, TransientTransactionError) and aborts the transaction — MongoDB's behaviour.
 */
import type { Document, Long } from 'mongodb';
import type { ClusterTime } from '../cluster-clock';
import { ErrorCode, MongoCommandError } from '../errors';
import { lockKey, namespaceKey, type DocumentChange } from '../storage/changes';
import type { StorageEngine } from '../storage/engine';

export type TransactionState = 'inProgress' | 'committed' | 'aborted';

export class Transaction {
  state: TransactionState = 'inProgress';
  abortReason: string | undefined;
  commitTime: ClusterTime | undefined;
  readonly startedAt = Date.now();
  readonly snapshot: ClusterTime;
  /** Staged document states per namespace: the document, or null once deleted in this transaction. */
  readonly writes = new Map<string, Map<string, Document | null>>();
  readonly changes: DocumentChange[] = [];
  readonly locked = new Set<string>();
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private readonly releaseSnapshot: () => void;

  constructor(
    readonly sessionKey: string,
    readonly lsid: Document,
    readonly number: Long,
    private readonly engine: StorageEngine,
    private readonly locks: Map<string, Transaction>,
  ) {
    this.snapshot = engine.clock.current;
    this.releaseSnapshot = engine.catalog.pin(this.snapshot);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get key(): string {
    return `${this.sessionKey}:${this.number.toString()}`;
  }

  staged(db: string, coll: string): Map<string, Document | null> | undefined {
    return this.writes.get(namespaceKey(db, coll));
  }

  /** Fails with WriteConflict when any of `keys` is another transaction's or changed since the snapshot. */
  checkWritable(db: string, coll: string, keys: readonly string[]): void {
    const store = this.engine.catalog.get(db, coll);
    for (const key of keys) {
      const holder = this.locks.get(lockKey(db, coll, key));
      const changedSince = store !== undefined && store.lastWriteTime(key) > this.snapshot;
      if ((holder && holder !== this) || changedSince) {
        throw new MongoCommandError(
          ErrorCode.WriteConflict,
          'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
        );
      }
    }
  }

  stage(change: DocumentChange): void {
    const ns = namespaceKey(change.db, change.coll);
    let staged = this.writes.get(ns);
    if (!staged) this.writes.set(ns, (staged = new Map()));
    staged.set(change.key, change.kind === 'delete' ? null : change.after);
    this.changes.push(change);
    const lock = lockKey(change.db, change.coll, change.key);
    this.locks.set(lock, this);
    this.locked.add(lock);
  }

  commit(): ClusterTime {
    if (this.changes.length > 0) {
      this.commitTime = this.engine.commit(this.changes, { lsid: this.lsid, txnNumber: this.number });
    } else {
      this.commitTime = this.engine.clock.current;
    }
    this.finish('committed');
    return this.commitTime;
  }

  abort(reason: string): void {
    if (this.state !== 'inProgress') return;
    this.abortReason = reason;
    this.finish('aborted');
  }

  private finish(state: TransactionState): void {
    this.state = state;
    for (const lock of this.locked) if (this.locks.get(lock) === this) this.locks.delete(lock);
    this.locked.clear();
    this.releaseSnapshot();
    this.resolveEnded();
  }
}

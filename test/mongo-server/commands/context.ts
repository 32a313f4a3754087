/**
 * What a command handler gets: the validated command, its database, its session and transaction,
 * and the two ways to touch data — a read view (latest committed state, a snapshot, or a
 * transaction's snapshot plus its own writes) and a write sink (commit each change now, or stage it
 * in the transaction).
 */
import type { Document, Long } from 'mongodb';
import { isNumeric, toNumber } from '../bson-values';
import type { ClusterTime } from '../cluster-clock';
import { ErrorCode, MongoCommandError } from '../errors';
import type { ServerState } from '../server-state';
import type { ServerSession } from '../sessions/session-registry';
import type { Transaction } from '../sessions/transaction';
import { lockKey, type DocumentChange } from '../storage/changes';

export interface CollectionView {
  /** Documents in natural order, with their `_id` keys. */
  scan(): Iterable<[string, Document]>;
  get(key: string): Document | undefined;
}

export interface CommandContext {
  state: ServerState;
  name: string;
  command: Document;
  db: string;
  session: ServerSession | undefined;
  transaction: Transaction | undefined;
  /** The txnNumber of a retryable write (a txnNumber without autocommit). */
  retryableWrite: Long | undefined;
  /** Set for `readConcern: { level: 'snapshot' }` reads outside transactions. */
  readAt: ClusterTime | undefined;
  /** Aborted when the client's connection closes or the server stops. */
  signal: AbortSignal;
  connectionId: number;
  /** The cluster time the reply reports as operationTime (the last write's, or the read's). */
  operationTime: ClusterTime | undefined;
}

const EMPTY_VIEW: CollectionView = { scan: () => [], get: () => undefined };

export function collectionView(ctx: CommandContext, db: string, coll: string): CollectionView {
  const store = ctx.state.engine.catalog.get(db, coll);
  const txn = ctx.transaction;
  if (!txn) {
    if (!store) return EMPTY_VIEW;
    const at = ctx.readAt;
    return { scan: () => store.scan(at), get: (key) => store.get(key, at) };
  }
  const staged = txn.staged(db, coll);
  const snapshot = txn.snapshot;
  const base = (key: string): Document | undefined => store?.get(key, snapshot);
  if (!staged) return store ? { scan: () => store.scan(snapshot), get: base } : EMPTY_VIEW;
  return {
    get: (key) => (staged.has(key) ? (staged.get(key) ?? undefined) : base(key)),
    *scan() {
      if (store) {
        for (const [key, doc] of store.scan(snapshot)) {
          if (!staged.has(key)) yield [key, doc];
          else {
            const mine = staged.get(key);
            if (mine) yield [key, mine];
          }
        }
      }
      for (const [key, doc] of staged) if (doc && base(key) === undefined) yield [key, doc];
    },
  };
}

/** Whether the collection exists in this context's view (a transaction sees its own implicit creations). */
export function collectionExists(ctx: CommandContext, db: string, coll: string): boolean {
  return ctx.state.engine.catalog.get(db, coll) !== undefined || ctx.transaction?.staged(db, coll) !== undefined;
}

/**
 * Before writing `keys`: in a transaction, fail with WriteConflict if another transaction holds one
 * or it changed after the snapshot; outside, return a promise to wait on while an open transaction
 * holds one (mongod blocks such writes until the transaction ends).
 */
export function blockedBy(ctx: CommandContext, db: string, coll: string, keys: readonly string[]): Promise<void> | undefined {
  if (ctx.transaction) {
    ctx.transaction.checkWritable(db, coll, keys);
    return undefined;
  }
  const locks = ctx.state.sessions.locks;
  if (locks.size === 0) return undefined;
  for (const key of keys) {
    const holder = locks.get(lockKey(db, coll, key));
    if (holder) return waitForTransaction(ctx, holder.ended);
  }
  return undefined;
}

function waitForTransaction(ctx: CommandContext, ended: Promise<void>): Promise<void> {
  const maxTimeMS = isNumeric(ctx.command.maxTimeMS) ? toNumber(ctx.command.maxTimeMS) : 0;
  return new Promise<void>((resolve, reject) => {
    const timer = maxTimeMS > 0 ? setTimeout(() => reject(new MongoCommandError(ErrorCode.MaxTimeMSExpired, 'operation exceeded time limit')), maxTimeMS) : undefined;
    const onAbort = (): void => reject(new MongoCommandError(ErrorCode.Interrupted, 'operation was interrupted'));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ended.then(() => {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Applies changes: committed one by one (each its own cluster time), or staged in the transaction. */
export function applyChanges(ctx: CommandContext, changes: readonly DocumentChange[]): void {
  if (ctx.transaction) {
    for (const change of changes) ctx.transaction.stage(change);
    return;
  }
  for (const change of changes) ctx.operationTime = ctx.state.engine.commit([change]);
}

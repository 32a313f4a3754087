/**
 * Server sessions, keyed by the `lsid.id` UUID the driver sends with every command. A session
 * tracks its transaction number (`txnNumber` only grows), its open transaction, and the reply of its
 * latest retryable write — so a retry of an already-applied write returns that reply instead of
 * applying the write twice. Commands that carry a txnNumber on one session run one at a time
 * (mongod's session checkout).
 */
import { createHash } from 'node:crypto';
import { Binary } from 'mongodb';
import type { Document, Long } from 'mongodb';
import type { ClusterTime } from '../cluster-clock';
import type { StorageEngine } from '../storage/engine';
import { Transaction } from './transaction';

/** `lsid.uid` in change events: SHA-256 of the user name, which is empty without authentication. */
const ANONYMOUS_UID = new Binary(createHash('sha256').update('').digest(), 0);

export class ServerSession {
  /** The highest txnNumber seen (a transaction's or a retryable write's). */
  txnNumber: Long | undefined;
  transaction: Transaction | undefined;
  lastRetryableWrite: { txnNumber: Long; reply: Document } | undefined;
  /** The snapshot a `readConcern: snapshot` session reads at, kept readable while the session lives. */
  snapshot: { time: ClusterTime; release: () => void } | undefined;
  lastUse = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly key: string,
    /** The lsid as change events report it: `{ id, uid }`. */
    readonly eventLsid: Document,
  ) {}

  /** Runs `work` after every earlier checked-out command of this session has finished. */
  async checkout<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise((resolve) => (release = resolve));
    try {
      await previous;
      return await work();
    } finally {
      release();
    }
  }

  releaseSnapshot(): void {
    this.snapshot?.release();
    this.snapshot = undefined;
  }
}

export class SessionRegistry {
  private readonly sessions = new Map<string, ServerSession>();
  /** Document locks held by open transactions, by lockKey(db, coll, idKey). */
  readonly locks = new Map<string, Transaction>();

  constructor(private readonly engine: StorageEngine) {}

  /** The session an `lsid` names (created on first use), or an error text when the lsid is malformed. */
  resolve(lsid: unknown): ServerSession | string {
    const id = lsid !== null && typeof lsid === 'object' ? (lsid as Document).id : undefined;
    if (!(id instanceof Binary) || id.sub_type !== 4 || id.position !== 16) return 'lsid.id must be a UUID (binary subtype 4)';
    const key = id.toString('hex');
    let session = this.sessions.get(key);
    if (!session) {
      session = new ServerSession(key, { id, uid: ANONYMOUS_UID });
      this.sessions.set(key, session);
    }
    session.lastUse = Date.now();
    return session;
  }

  startTransaction(session: ServerSession, txnNumber: Long): Transaction {
    session.transaction?.abort('a newer transaction was started on the session');
    const txn = new Transaction(session.key, session.eventLsid, txnNumber, this.engine, this.locks);
    session.transaction = txn;
    session.txnNumber = txnNumber;
    return txn;
  }

  end(session: ServerSession): void {
    session.transaction?.abort('the session was ended');
    session.releaseSnapshot();
    this.sessions.delete(session.key);
  }

  /** killSessions with an empty list: every session ends (open transactions aborted). */
  killAll(): void {
    for (const session of [...this.sessions.values()]) this.end(session);
  }

  endByIds(ids: unknown[]): void {
    for (const lsid of ids) {
      const id = lsid !== null && typeof lsid === 'object' ? (lsid as Document).id : undefined;
      if (id instanceof Binary) {
        const session = this.sessions.get(id.toString('hex'));
        if (session) this.end(session);
      }
    }
  }

  /** Aborts transactions older than the lifetime limit and forgets sessions idle past their timeout. */
  sweep(transactionLifetimeMs: number, sessionTimeoutMs: number, snapshotWindowMs: number, now = Date.now()): void {
    for (const session of this.sessions.values()) {
      const txn = session.transaction;
      if (txn?.state === 'inProgress' && now - txn.startedAt > transactionLifetimeMs) {
        txn.abort(`it has been running for longer than 'transactionLifetimeLimitSeconds'`);
      }
      if (session.snapshot && now - session.lastUse > snapshotWindowMs) session.releaseSnapshot();
      if (now - session.lastUse > sessionTimeoutMs) this.end(session);
    }
  }

  /** What a restart loses: every open transaction and snapshot (retryable-write records survive). */
  abortAll(reason: string): void {
    for (const session of this.sessions.values()) {
      session.transaction?.abort(reason);
      session.releaseSnapshot();
    }
  }
}

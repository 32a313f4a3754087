/**
 * Everything the server knows, independent of sockets: data and oplog, sessions, cursors, fail
 * points, and its identity (topologyVersion.processId and election term change on every start, as
 * a restarted mongod's do). It outlives a stop/start of the listener, which is how a restart keeps
 * the data while losing cursors and open transactions.
 */
import { ObjectId } from 'mongodb';
import { CursorRegistry } from './cursors';
import { FailPoints } from './fail-points';
import type { ResolvedOptions } from './options';
import { SessionRegistry } from './sessions/session-registry';
import { StorageEngine } from './storage/engine';

export class ServerState {
  readonly engine: StorageEngine;
  readonly sessions: SessionRegistry;
  readonly cursors = new CursorRegistry();
  readonly failPoints = new FailPoints();
  processId = new ObjectId();
  term = 1;
  /** Set once listening: `host:port` as hello reports it. */
  address = '';

  constructor(readonly options: ResolvedOptions) {
    this.engine = new StorageEngine({ oplogSize: options.oplogSize });
    this.sessions = new SessionRegistry(this.engine);
  }

  get isReplicaSet(): boolean {
    return !this.options.standalone;
  }

  /** A (re)start: new process identity, a new term; cursors and transactions of the old one are gone. */
  beginIncarnation(): void {
    this.processId = new ObjectId();
    this.term += 1;
    this.cursors.closeAll();
    this.sessions.abortAll('the server restarted');
    this.failPoints.clear();
  }

  /** Periodic housekeeping: expired transactions, idle cursors and sessions. */
  sweep(): void {
    const o = this.options;
    this.sessions.sweep(o.transactionLifetimeLimitSeconds * 1000, o.logicalSessionTimeoutMinutes * 60_000, o.snapshotHistoryWindowMs);
    this.cursors.expire(o.cursorTimeoutMs);
  }
}

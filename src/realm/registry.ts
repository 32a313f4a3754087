import * as nodePath from 'node:path';
import type { ReplicaHandle } from '../store';
import { ChangeTracker } from './change-tracker';
import type { SyncSessionHandle } from './sync-types';

/**
 * Replicas open in this process, by absolute file path. Two Realm instances of one file must share
 * one Replica (its caches and cursors live in memory) and one sync session (two would upload the
 * same history twice). The entry closes when its last Realm closes.
 */
export interface SharedReplica {
  replica: ReplicaHandle;
  /** Collects what each commit changed, for every Realm instance's listeners. */
  tracker: ChangeTracker;
  session?: SyncSessionHandle;
  refs: number;
}

const open = new Map<string, SharedReplica>();

export function acquireReplica(path: string, create: (path: string) => ReplicaHandle): SharedReplica {
  const key = path === ':memory:' ? Symbol('memory').toString() + Math.random() : nodePath.resolve(path);
  let entry = open.get(key);
  if (!entry || entry.replica.isClosed) {
    const replica = create(path);
    entry = { replica, tracker: new ChangeTracker(replica), refs: 0 };
    open.set(key, entry);
  }
  entry.refs++;
  return entry;
}

export function releaseReplica(entry: SharedReplica): void {
  if (--entry.refs > 0) return;
  for (const [k, v] of open) if (v === entry) open.delete(k);
  entry.session?.close();
  entry.tracker.close();
  entry.replica.close();
}

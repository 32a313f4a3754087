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

/** Whether a Realm of this file is open in this process (lingering uploads included). */
export function isOpen(path: string): boolean {
  const entry = open.get(nodePath.resolve(path));
  return !!entry && !entry.replica.isClosed;
}

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

/** How long the last Realm of a synced file may wait, after close(), for its uploads. */
export const UPLOAD_ON_CLOSE_MS = 30_000;
const lingering = new Set<Promise<void>>();

/**
 * Closing the last Realm of a synced file whose local changes are not uploaded yet keeps its
 * session (and the process) alive until the server acknowledged them, as realm-js did: a program
 * may write, close and end. The wait ends after {@link UPLOAD_ON_CLOSE_MS}, when the connection is
 * lost or the session fails; the changes are durable in the local file either way and go up the
 * next time the realm opens. Opening the file again meanwhile takes the entry over.
 */
export function releaseReplica(entry: SharedReplica): void {
  if (--entry.refs > 0) return;
  const session = entry.session;
  if (session?.finishUploads && session.hasPendingUploads) {
    const waited: Promise<void> = session
      .finishUploads(UPLOAD_ON_CLOSE_MS)
      .catch(() => undefined)
      .then(() => {
        lingering.delete(waited);
        if (entry.refs === 0) closeEntry(entry);
      });
    lingering.add(waited);
    return;
  }
  closeEntry(entry);
}

function closeEntry(entry: SharedReplica): void {
  for (const [k, v] of open) if (v === entry) open.delete(k);
  entry.session?.close();
  entry.tracker.close();
  if (!entry.replica.isClosed) entry.replica.close();
}

/**
 * Resolves once every realm closed with changes still to upload has uploaded them (or given up:
 * see {@link releaseReplica}). `Realm.Sync.waitForUploadsOnClose()`.
 */
export async function waitForUploadsOnClose(): Promise<void> {
  while (lingering.size > 0) await Promise.all([...lingering]);
}

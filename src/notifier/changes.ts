import { diff, isEmptyChangeSet } from '../realm';
import type { CommitChanges } from '../realm/change-tracker';
import type { ReplicaHandle } from '../store';
import type { OldStateView } from './undo-log';

/** Index arrays of one type's objects (realm-js `CollectionChangeSet`). */
export interface ChangeSet {
  insertions: number[];
  deletions: number[];
  modifications: number[];
  oldModifications: number[];
  newModifications: number[];
}

/**
 * The change set of each type a commit touched, between the state before (`old`) and the replica
 * now, in creation order. Types whose change set is empty are left out, so `!changes.T` works.
 * Creation order is stable (updates keep their place), so deleting one object shifts the later
 * ones rather than moving the last one into its place as old Realm files did.
 */
export function computeChanges(old: OldStateView, replica: ReplicaHandle, commit: CommitChanges): Record<string, ChangeSet> {
  const types = new Set<string>([...commit.created.keys(), ...commit.deleted.keys(), ...commit.modified.keys()]);
  const out: Record<string, ChangeSet> = {};
  for (const type of types) {
    if (!replica.getSchema(type) && !old.getSchema(type)) continue;
    const modified = commit.modified.get(type);
    const c = diff(old.objectKeys(type), replica.getSchema(type) ? replica.objectKeys(type) : [], (k) => modified?.has(k) ?? false);
    if (!isEmptyChangeSet(c)) out[type] = c;
  }
  return out;
}

import type { ApplyObserver } from '../changeset';
import { keyString, type ObjectKey } from '../model';
import type { CommitOrigin, ReplicaHandle } from '../store';

/** What one committed transaction changed, per type, by object key (keyString form). */
export interface CommitChanges {
  origin: CommitOrigin;
  /** Objects whose stored values changed, with the properties that changed. */
  modified: Map<string, Map<string, Set<string>>>;
  created: Map<string, Set<string>>;
  deleted: Map<string, Set<string>>;
  /** Types whose schema was added or extended. */
  schemaChanged: Set<string>;
  /** False for a commit that changed no content (an empty write, a download carrying only acks). */
  dataChanged: boolean;
}

/** True when the commit created, modified or deleted the object (type, key). */
export function touched(changes: CommitChanges, type: string, key: string): boolean {
  return !!(changes.modified.get(type)?.has(key) || changes.created.get(type)?.has(key) || changes.deleted.get(type)?.has(key));
}

function bucket<T>(map: Map<string, T>, type: string, make: () => T): T {
  let b = map.get(type);
  if (!b) map.set(type, (b = make()));
  return b;
}

/**
 * Collects the effects `apply()` reports on one replica (as a replica extension) and hands them,
 * per commit, to subscribers: every Realm instance of the file computes its listeners' change sets
 * from them. One tracker per replica (registry.ts), so effects are recorded once however many
 * Realm instances listen.
 */
export class ChangeTracker implements ApplyObserver {
  private pending = ChangeTracker.empty('local');
  private lastDataVersion: number;
  private readonly subscribers = new Set<(changes: CommitChanges) => void>();
  private readonly removeExtension: () => void;

  constructor(private readonly replica: ReplicaHandle) {
    this.lastDataVersion = replica.dataVersion;
    this.removeExtension = replica.addExtension({ observer: this, committed: (e) => this.flush(e.origin) });
  }

  private static empty(origin: CommitOrigin): CommitChanges {
    return { origin, modified: new Map(), created: new Map(), deleted: new Map(), schemaChanged: new Set(), dataChanged: false };
  }

  schemaChanged(type: string): void {
    this.pending.schemaChanged.add(type);
  }
  created(type: string, id: ObjectKey): void {
    // Nothing is recorded while no Realm listens (a bootstrap of many objects stays cheap).
    if (this.subscribers.size > 0) bucket(this.pending.created, type, () => new Set<string>()).add(keyString(id));
  }
  modified(type: string, id: ObjectKey, property: string): void {
    if (this.subscribers.size > 0) {
      const byKey = bucket(this.pending.modified, type, () => new Map<string, Set<string>>());
      bucket(byKey, keyString(id), () => new Set<string>()).add(property);
    }
  }
  deleted(type: string, id: ObjectKey): void {
    if (this.subscribers.size > 0) bucket(this.pending.deleted, type, () => new Set<string>()).add(keyString(id));
  }

  /** Forgets what a cancelled write reported (its effects were rolled back). */
  discard(): void {
    this.pending = ChangeTracker.empty('local');
    this.lastDataVersion = this.replica.dataVersion;
  }

  subscribe(listener: (changes: CommitChanges) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private flush(origin: CommitOrigin): void {
    const changes = this.pending;
    changes.origin = origin;
    const version = this.replica.dataVersion;
    changes.dataChanged = version !== this.lastDataVersion;
    this.lastDataVersion = version;
    this.pending = ChangeTracker.empty('local');
    for (const s of [...this.subscribers]) s(changes);
  }

  close(): void {
    this.removeExtension();
  }
}

import { keyString, type ObjectKey } from '../model';
import { silentLogger, type Logger } from '../shared/logger';
import type { ChangeTracker, CommitChanges } from './change-tracker';
import { diff, emptyChangeSet, isEmptyChangeSet, type CollectionChangeSet } from './collection-diff';

/** What a collection offers to be listened to. */
export interface ListenableCollection {
  /** The current elements as diff keys (keyString of objects, a canonical form of values); [] when invalid. */
  _diffKeys(): string[];
  /** Whether the element with this diff key was created, modified or deleted by the commit. */
  _elementTouched(changes: CommitChanges, key: string): boolean;
  /** Equal for two handles of the same collection (two reads of one list property). */
  _listenerIdentity(): unknown;
}

export type CollectionListener = (collection: any, changes: CollectionChangeSet) => void;
export interface ObjectChanges {
  deleted: boolean;
  changedProperties: string[];
}
export type ObjectListener = (object: any, changes: ObjectChanges) => void;
export type RealmEventName = 'change' | 'schema';
export type RealmListener = (realm: any, name: RealmEventName, schema?: unknown) => void;

interface CollectionRegistration {
  collection: ListenableCollection;
  callback: CollectionListener;
  baseline: string[];
  initialPending: boolean;
}

interface ObjectRegistration {
  object: unknown;
  type: string;
  key: string;
  callback: ObjectListener;
  initialPending: boolean;
  deleted: boolean;
}

/**
 * The listeners of one Realm instance. After every commit of the replica (local, downloaded or a
 * snapshot) each registered collection is diffed against the keys it had after the previous
 * commit (collection-diff.ts), objects are checked for changed properties, and the callbacks run
 * in registration order, synchronously after the commit. A callback that writes commits again;
 * the resulting notifications queue behind the current ones, so each listener sees its change
 * sets in commit order. As in realm-js, a new collection or object listener is first called
 * once, asynchronously, with an empty change set.
 */
export class Notifications {
  private readonly realmListeners: Record<RealmEventName, RealmListener[]> = { change: [], schema: [] };
  private collections: CollectionRegistration[] = [];
  private objects: ObjectRegistration[] = [];
  private readonly queue: (() => void)[] = [];
  private delivering = false;
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly tracker: ChangeTracker,
    private readonly realm: { readonly schema: unknown },
    private readonly exists: (type: string, key: string) => boolean,
    /** Where a listener's exception goes (the Realm's `log`). */
    private readonly log: Pick<Logger, 'error'> = silentLogger,
  ) {}

  // ---- realm listeners -----------------------------------------------------------------------

  addRealmListener(name: RealmEventName, callback: RealmListener): void {
    this.realmListeners[name].push(callback);
    this.subscribe();
  }

  removeRealmListener(name: RealmEventName, callback: RealmListener): void {
    this.realmListeners[name] = this.realmListeners[name].filter((c) => c !== callback);
    this.maybeUnsubscribe();
  }

  removeAllRealmListeners(name?: RealmEventName): void {
    if (!name || name === 'change') this.realmListeners.change = [];
    if (!name || name === 'schema') this.realmListeners.schema = [];
    this.maybeUnsubscribe();
  }

  // ---- collection listeners ------------------------------------------------------------------

  addCollectionListener(collection: ListenableCollection, callback: CollectionListener): void {
    const reg: CollectionRegistration = { collection, callback, baseline: [], initialPending: true };
    this.collections.push(reg);
    this.subscribe();
    setImmediate(() => {
      if (!reg.initialPending || !this.collections.includes(reg)) return;
      reg.initialPending = false;
      reg.baseline = this.keysOf(collection);
      this.enqueue(() => callback(collection, emptyChangeSet()));
      this.drain();
    });
  }

  removeCollectionListener(collection: ListenableCollection, callback?: CollectionListener): void {
    const id = collection._listenerIdentity();
    this.collections = this.collections.filter((r) => !(r.collection._listenerIdentity() === id && (!callback || r.callback === callback)));
    this.maybeUnsubscribe();
  }

  // ---- object listeners ----------------------------------------------------------------------

  addObjectListener(object: unknown, type: string, id: ObjectKey, callback: ObjectListener): void {
    const reg: ObjectRegistration = { object, type, key: keyString(id), callback, initialPending: true, deleted: false };
    this.objects.push(reg);
    this.subscribe();
    setImmediate(() => {
      if (!reg.initialPending || !this.objects.includes(reg)) return;
      reg.initialPending = false;
      if (!this.exists(type, reg.key)) {
        reg.deleted = true;
        this.enqueue(() => callback(object, { deleted: true, changedProperties: [] }));
      } else this.enqueue(() => callback(object, { deleted: false, changedProperties: [] }));
      this.drain();
    });
  }

  removeObjectListener(type: string, id: ObjectKey, callback?: ObjectListener): void {
    const key = keyString(id);
    this.objects = this.objects.filter((r) => !(r.type === type && r.key === key && (!callback || r.callback === callback)));
    this.maybeUnsubscribe();
  }

  // ---- delivery ------------------------------------------------------------------------------

  private subscribe(): void {
    if (!this.unsubscribe && !this.closed) this.unsubscribe = this.tracker.subscribe((c) => this.committed(c));
  }

  private maybeUnsubscribe(): void {
    if (this.realmListeners.change.length + this.realmListeners.schema.length + this.collections.length + this.objects.length > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private keysOf(collection: ListenableCollection): string[] {
    try {
      return collection._diffKeys();
    } catch {
      return [];
    }
  }

  private committed(changes: CommitChanges): void {
    if (this.closed) return;
    const schemaChanged = changes.schemaChanged.size > 0;
    if (changes.dataChanged || schemaChanged) {
      for (const cb of this.realmListeners.change) this.enqueue(() => cb(this.realm, 'change'));
    }
    if (schemaChanged) {
      for (const cb of this.realmListeners.schema) this.enqueue(() => cb(this.realm, 'schema', this.realm.schema));
    }
    if (changes.dataChanged) {
      // Every change set is computed before any callback runs, so a callback that writes cannot
      // make another listener's change set of this commit see its write.
      for (const reg of this.collections) {
        const keys = this.keysOf(reg.collection);
        if (reg.initialPending) {
          reg.baseline = keys;
          continue;
        }
        const set = diff(reg.baseline, keys, (k) => reg.collection._elementTouched(changes, k));
        reg.baseline = keys;
        if (!isEmptyChangeSet(set)) this.enqueue(() => reg.callback(reg.collection, set));
      }
      for (const reg of this.objects) {
        if (reg.initialPending || reg.deleted) continue;
        if (!this.exists(reg.type, reg.key)) {
          reg.deleted = true;
          this.enqueue(() => reg.callback(reg.object, { deleted: true, changedProperties: [] }));
          continue;
        }
        const props = changes.modified.get(reg.type)?.get(reg.key);
        if (props && props.size > 0) {
          const changedProperties = [...props];
          this.enqueue(() => reg.callback(reg.object, { deleted: false, changedProperties }));
        }
      }
    }
    this.drain();
  }

  private enqueue(fn: () => void): void {
    this.queue.push(fn);
  }

  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.queue.length > 0) {
        const fn = this.queue.shift()!;
        try {
          fn();
        } catch (e) {
          // A failing listener must not stop the others, nor undo the commit it reports.
          this.log.error('a change listener threw', { error: e });
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  close(): void {
    this.closed = true;
    this.collections = [];
    this.objects = [];
    this.realmListeners.change = [];
    this.realmListeners.schema = [];
    this.queue.length = 0;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}

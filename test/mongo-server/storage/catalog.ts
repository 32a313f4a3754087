/**
 * Databases and their collections, and the registry of readers holding an old snapshot (whose
 * existence makes every collection keep superseded versions). A database exists while it has a
 * collection, as in MongoDB.
 */
import type { Document } from 'mongodb';
import type { ClusterTime } from '../cluster-clock';
import { CollectionStore } from './collection-store';

export class Catalog {
  private readonly databases = new Map<string, Map<string, CollectionStore>>();
  private readonly readers = new Map<number, ClusterTime>();
  private nextReader = 1;

  get(db: string, name: string): CollectionStore | undefined {
    return this.databases.get(db)?.get(name);
  }

  create(db: string, name: string, options: Document = {}): CollectionStore {
    let collections = this.databases.get(db);
    if (!collections) this.databases.set(db, (collections = new Map()));
    const store = new CollectionStore(db, name, options);
    collections.set(name, store);
    return store;
  }

  getOrCreate(db: string, name: string): CollectionStore {
    return this.get(db, name) ?? this.create(db, name);
  }

  drop(db: string, name: string): CollectionStore | undefined {
    const collections = this.databases.get(db);
    const store = collections?.get(name);
    if (!store) return undefined;
    collections!.delete(name);
    if (collections!.size === 0) this.databases.delete(db);
    return store;
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  collections(db: string): CollectionStore[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }

  /** Registers a reader of the snapshot at `time`; call the returned function when it is done. */
  pin(time: ClusterTime): () => void {
    const id = this.nextReader++;
    this.readers.set(id, time);
    return () => {
      if (!this.readers.delete(id)) return;
      const oldest = this.oldestReader;
      for (const collections of this.databases.values()) for (const store of collections.values()) store.prune(oldest);
    };
  }

  get keepsHistory(): boolean {
    return this.readers.size > 0;
  }

  get oldestReader(): ClusterTime | undefined {
    let oldest: ClusterTime | undefined;
    for (const time of this.readers.values()) if (oldest === undefined || time < oldest) oldest = time;
    return oldest;
  }
}

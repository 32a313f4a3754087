/**
 * Commits: the one place where documents change and oplog entries are written, so the two can
 * never disagree. A commit takes one new cluster time for all its changes (an autocommit write is a
 * commit of one change; a transaction commits all of its changes at one time, which is how its
 * events come to share `clusterTime` and arrive together).
 */
import type { Document, Long } from 'mongodb';
import { ClusterClock, type ClusterTime } from '../cluster-clock';
import { Catalog } from './catalog';
import type { DocumentChange } from './changes';
import type { CollectionStore } from './collection-store';
import { Oplog, type OplogEntry } from './oplog';

export interface TransactionTag {
  lsid: Document;
  txnNumber: Long;
}

export class StorageEngine {
  readonly catalog = new Catalog();
  readonly clock: ClusterClock;
  readonly oplog: Oplog;

  constructor(options: { oplogSize: number; nowMs?: () => number }) {
    this.clock = new ClusterClock(options.nowMs);
    this.oplog = new Oplog(options.oplogSize);
  }

  commit(changes: readonly DocumentChange[], tag?: TransactionTag): ClusterTime {
    const time = this.clock.tick();
    const wall = new Date();
    const keepHistory = this.catalog.keepsHistory;
    const entries: OplogEntry[] = [];
    for (const change of changes) {
      const store = this.catalog.getOrCreate(change.db, change.coll);
      const entry: OplogEntry = {
        time,
        index: entries.length,
        wall,
        op: change.kind,
        db: change.db,
        coll: change.coll,
        uuid: store.uuid,
        imagesRecorded: store.recordsImages,
      };
      switch (change.kind) {
        case 'insert':
          store.write(change.key, change.after, time, keepHistory);
          entry.documentKey = { _id: change.after._id };
          entry.after = change.after;
          break;
        case 'update':
        case 'replace':
          store.write(change.key, change.after, time, keepHistory);
          entry.documentKey = { _id: change.after._id };
          entry.before = change.before;
          entry.after = change.after;
          if (change.kind === 'update') entry.updateDescription = change.description;
          break;
        case 'delete':
          store.write(change.key, undefined, time, keepHistory);
          entry.documentKey = { _id: change.before._id };
          entry.before = change.before;
          break;
      }
      if (tag) {
        entry.lsid = tag.lsid;
        entry.txnNumber = tag.txnNumber;
      }
      entries.push(entry);
    }
    this.oplog.append(entries);
    return time;
  }

  /** Drops a collection; its oplog entry is what change streams report as `drop` (+ `invalidate`). */
  dropCollection(db: string, coll: string): CollectionStore | undefined {
    const store = this.catalog.drop(db, coll);
    if (!store) return undefined;
    const time = this.clock.tick();
    this.oplog.append([{ time, index: 0, wall: new Date(), op: 'drop', db, coll, uuid: store.uuid, imagesRecorded: false }]);
    return store;
  }

  /** Drops every collection of `db` (one `drop` entry each), then the database itself. */
  dropDatabase(db: string): void {
    // Like mongod, dropping a database that does not exist writes nothing.
    if (this.catalog.collections(db).length === 0) return;
    for (const store of this.catalog.collections(db)) this.dropCollection(db, store.name);
    const time = this.clock.tick();
    this.oplog.append([{ time, index: 0, wall: new Date(), op: 'dropDatabase', db, imagesRecorded: false }]);
  }
}

import { randomUUID } from 'node:crypto';
import { parseKeyString } from '../model';
import type { Realm } from '../realm';
import type { ExtensionStatement, ExtensionStorage } from '../store';

/**
 * The message ids a target realm recorded as applied: the dequeuer's duplicate check.
 *
 * The realm holds one `ProcessedBatch {id, source, ids, at}` per transaction the dequeuer wrote
 * into it, `ids` being the JSON array of the message ids applied there. It syncs like any object,
 * so other dequeuers and later incarnations see it, and it costs one object per batch where a
 * `ProcessedMessage` per message cost as much as the message's own data.
 *
 * Finding one id among those batches would mean reading them all, so the realm's local file also
 * keeps two tables of this index's own (a replica extension's): each message id with its batch,
 * and each indexed batch with its time. A batch this process writes gets its rows in the same
 * SQLite transaction as the object ({@link record}), so no crash separates them; batches that
 * arrive by download (written by another process, or by an incarnation that lost its directory)
 * are indexed by {@link refresh}, which the dequeuer runs where it used to rely on a download
 * reaching its check: on first use of the realm and before it checks redelivered messages. A
 * refresh also drops the rows of batches that are gone (pruned elsewhere), so the tables only
 * ever mirror the realm.
 *
 * Realms written before this hold one `ProcessedMessage {id}` per message; while a realm has any,
 * {@link has} looks there too, and {@link prune} removes them by age as before.
 */
export class ProcessedIndex {
  private storage!: ExtensionStorage;
  private statements!: {
    lookup: ExtensionStatement;
    insert: ExtensionStatement;
    insertBatch: ExtensionStatement;
    batches: ExtensionStatement;
    olderThan: ExtensionStatement;
    deleteRows: ExtensionStatement;
    deleteBatch: ExtensionStatement;
  };
  private legacy = false;
  /** A download or snapshot added or removed batches since the last refresh. */
  private stale = false;
  /** Set while this index writes the realm itself (its changes are indexed as they are made). */
  private own = false;

  /** Unregisters this index's extension (idempotent; closing the replica does it too). */
  readonly close: () => void;

  constructor(private readonly realm: Realm) {
    this.close = realm._replica.addExtension({
      observer: {
        created: (type) => this.touched(type),
        deleted: (type) => this.touched(type),
      },
      committed: (e) => {
        if (e.origin === 'snapshot') this.stale = true;
      },
      attach: (storage) => {
        this.storage = storage;
        storage.exec(`
          CREATE TABLE IF NOT EXISTS dequeuer_processed (id TEXT NOT NULL, batch TEXT NOT NULL, PRIMARY KEY (id, batch)) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS dequeuer_processed_batch ON dequeuer_processed (batch);
          CREATE TABLE IF NOT EXISTS dequeuer_batches (batch TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
        `);
        this.statements = {
          lookup: storage.prepare('SELECT 1 FROM dequeuer_processed WHERE id = ? LIMIT 1'),
          insert: storage.prepare('INSERT OR IGNORE INTO dequeuer_processed (id, batch) VALUES (?, ?)'),
          insertBatch: storage.prepare('INSERT OR REPLACE INTO dequeuer_batches (batch, at) VALUES (?, ?)'),
          batches: storage.prepare('SELECT batch FROM dequeuer_batches'),
          olderThan: storage.prepare('SELECT batch FROM dequeuer_batches WHERE at < ?'),
          deleteRows: storage.prepare('DELETE FROM dequeuer_processed WHERE batch = ?'),
          deleteBatch: storage.prepare('DELETE FROM dequeuer_batches WHERE batch = ?'),
        };
      },
    });
    this.refresh();
  }

  /** Whether a message with this id was applied to the realm (as far as this replica knows). */
  has(id: string): boolean {
    if (this.statements.lookup.get(id) !== undefined) return true;
    return this.legacy && this.realm.objectForPrimaryKey('ProcessedMessage', id) !== undefined;
  }

  /**
   * Inside the realm's write transaction, after the messages' writes: records them as applied
   * (the synced `ProcessedBatch` and this index's rows, committed together).
   */
  record(source: string, ids: readonly string[], at: Date): void {
    const batch = randomUUID();
    this.ownWrites(() => this.realm.create('ProcessedBatch', { id: batch, source, ids: JSON.stringify(ids), at }));
    this.storage.transaction(() => this.index(batch, ids, at));
  }

  /** {@link refresh} when a download or snapshot created or deleted batches since the last one. */
  refreshIfStale(): void {
    if (this.stale) this.refresh();
  }

  /** Indexes the realm's batches that are not yet (downloaded ones) and forgets those that are gone. */
  refresh(): void {
    this.stale = false;
    const replica = this.realm._replica;
    this.legacy = replica.count('ProcessedMessage') > 0;
    const inRealm = new Set(replica.objectKeys('ProcessedBatch').map((k) => parseKeyString(k) as string));
    const indexed = new Set((this.statements.batches.all() as { batch: string }[]).map((r) => r.batch));
    const added = [...inRealm].filter((b) => !indexed.has(b));
    const gone = [...indexed].filter((b) => !inRealm.has(b));
    if (added.length === 0 && gone.length === 0) return;
    this.storage.transaction(() => {
      for (const batch of added) {
        const o = this.realm.objectForPrimaryKey<{ ids: string; at: Date }>('ProcessedBatch', batch)!;
        this.index(batch, JSON.parse(o.ids) as string[], o.at);
      }
      for (const batch of gone) this.forget(batch);
    });
  }

  /** Deletes the records of batches (and legacy per-message rows) older than `cutoff`; returns how many. */
  prune(cutoff: Date): number {
    const old = (this.statements.olderThan.all(cutoff.getTime()) as { batch: string }[]).map((r) => r.batch);
    const legacy = this.legacy ? this.realm.objects('ProcessedMessage').filtered('at < $0', cutoff) : null;
    const n = old.length + (legacy?.length ?? 0);
    if (n === 0) return 0;
    this.realm.write(() => {
      this.ownWrites(() => {
        for (const batch of old) {
          const o = this.realm.objectForPrimaryKey('ProcessedBatch', batch);
          if (o) this.realm.delete(o);
        }
        if (legacy && legacy.length > 0) this.realm.delete(legacy);
      });
      this.storage.transaction(() => {
        for (const batch of old) this.forget(batch);
      });
    });
    this.legacy = this.realm._replica.count('ProcessedMessage') > 0;
    return n;
  }

  private ownWrites(fn: () => void): void {
    this.own = true;
    try {
      fn();
    } finally {
      this.own = false;
    }
  }

  private touched(type: string): void {
    // Flags what arrives from elsewhere (a cancelled download only costs a refresh).
    if (this.own) return;
    if (type === 'ProcessedBatch') this.stale = true;
    else if (type === 'ProcessedMessage') this.legacy = true;
  }

  private index(batch: string, ids: readonly string[], at: Date): void {
    const { insert, insertBatch } = this.statements;
    insertBatch.run(batch, at.getTime());
    for (const id of ids) insert.run(id, batch);
  }

  private forget(batch: string): void {
    this.statements.deleteRows.run(batch);
    this.statements.deleteBatch.run(batch);
  }
}

import Database from 'better-sqlite3';
import * as nodePath from 'node:path';
import { decodeObjectSchema, decodeRecord, encodeObjectSchema, encodeRecord, type ObjectRecord, type StateStore } from '../changeset';
import { TributaryError } from '../errors';
import { isBusy, takeExclusiveLock } from '../shared/sqlite-file';
import { keyString, type ObjectKey, type ObjectSchema } from '../model';
import type { ExtensionStorage, ReplicaExtension, StoredRow } from './extension';
import { ExtensionRegistry } from './extension-registry';
import { META_DEFAULTS, REPLICA_FORMAT, openReplicaSchema, prepareReplicaFile, type Meta, type MetaKey } from './replica-schema';
import { prepareStatements, type ReplicaStatements } from './replica-statements';
import { DEFAULT_DOWNLOAD_COMMIT_DELAY_MS, type CommitEvent, type CommitOrigin, type ReplicaOptions } from './replica-types';

/**
 * The storage half of a replica: one SQLite file (WAL; fsync per write only with durability 'full') holding the object and
 * schema state behind decoded caches, the meta row, and the transaction discipline every change
 * goes through — one IMMEDIATE transaction at a time, savepoints inside it, and caches rebuilt
 * from the file whenever SQLite rolls back. Extensions are registered and told here, because
 * here is where content changes and commits happen.
 *
 * It knows nothing of sync: {@link Replica} adds the cursors, the local history, local writes
 * and download integration on top.
 */
export abstract class ReplicaFile implements StateStore {
  readonly path: string;
  protected readonly stmt: ReplicaStatements;
  protected meta: Meta;
  protected readonly extensions = new ExtensionRegistry();
  private readonly db: Database.Database;
  private schemaCache = new Map<string, ObjectSchema>();
  private recordCache = new Map<string, ObjectRecord>();
  private readonly cacheSize: number;
  private inTransaction = false;
  private savepoints = 0;
  private changeVersion = 0;
  private dataCounter = 0;
  private closed = false;
  private synchronous: 'FULL' | 'NORMAL' = 'FULL';
  /** Whether a local write fsyncs (ReplicaOptions.durability 'full'). */
  private readonly fsyncWrites: boolean;
  /** ReplicaOptions.downloadCommitDelayMs: how long downloaded changes may wait for their COMMIT. */
  private readonly downloadCommitDelayMs: number;
  /**
   * Download transactions finished but not yet committed: the SQLite transaction stays open and
   * the next download's continues it, until the timer, or any other transaction (a local write,
   * a bind, a snapshot), which commits them first. Null when nothing waits.
   */
  private pendingCommit: { timer: NodeJS.Timeout | null } | null = null;
  /** The current download continues {@link pendingCommit}'s transaction, inside a savepoint. */
  private joined = false;
  /** Meta values of the waiting downloads not yet written, as a joined download found them (restored when it rolls back). */
  private joinedMeta: (readonly [MetaKey, unknown])[] = [];
  /** The current transaction is a download's that may leave its COMMIT to later. */
  private deferCommit = false;

  protected constructor(options: ReplicaOptions) {
    this.path = options.path;
    const onDisk = options.path !== ':memory:';
    /** Made from the template by this open: empty and current, its meta the defaults. */
    let created = false;
    try {
      if (onDisk) created = prepareReplicaFile(nodePath.resolve(options.path));
    } catch (e) {
      throw new TributaryError('STORAGE_FAILURE', `cannot create replica ${options.path}: ${(e as Error).message}`, { cause: e });
    }
    this.db = new Database(options.path);
    try {
      // One process per replica file, by the operating system's lock (gone when the process is).
      if (onDisk) takeExclusiveLock(this.db);
      // In one call (each pragma() prepares a statement: 80 µs of every open for six of them).
      // synchronous: FULL until the first transaction picks its level. Fewer, larger checkpoints
      // (each one fsyncs the database file; by default one came every thousand pages, a few
      // hundred small commits), and the WAL cut back to 4 MiB after each.
      this.db.exec(
        'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 4000; PRAGMA journal_size_limit = 4194304;',
      );
      if (!created) openReplicaSchema(this.db);
    } catch (e) {
      this.db.close();
      if (isBusy(e)) throw new TributaryError('REPLICA_IN_USE', `the replica ${options.path} is open in another process; give each process its own path (or sync.directory)`, { cause: e });
      throw new TributaryError('STORAGE_FAILURE', `cannot open replica ${options.path}: ${(e as Error).message}`, { cause: e });
    }
    this.cacheSize = options.cacheSize ?? 10_000;
    this.fsyncWrites = options.durability === 'full';
    this.downloadCommitDelayMs = options.downloadCommitDelayMs ?? DEFAULT_DOWNLOAD_COMMIT_DELAY_MS;
    this.stmt = prepareStatements(this.db);
    // A file this open made from the template holds only its format: nothing to read back.
    this.meta = created ? ({ ...META_DEFAULTS } as Meta) : this.loadMeta();
    if (this.meta.format !== REPLICA_FORMAT) {
      this.db.close();
      throw new TributaryError('STORAGE_FAILURE', `replica ${options.path} has format ${this.meta.format}, expected ${REPLICA_FORMAT}`);
    }
    if (!created) this.loadSchemas();
  }

  // ---- meta ----------------------------------------------------------------------------------

  private loadMeta(): Meta {
    const meta = { ...META_DEFAULTS } as Meta;
    for (const row of this.stmt.metaAll.all() as { key: string; value: unknown }[]) {
      if (row.key in META_DEFAULTS) (meta as Record<string, unknown>)[row.key] = row.value;
    }
    return meta;
  }

  protected setMeta<K extends MetaKey>(key: K, value: Meta[K]): void {
    if (this.meta[key] === value) return;
    this.stmt.metaPut.run(key, value);
    this.meta[key] = value;
  }

  private loadSchemas(): void {
    this.schemaCache.clear();
    for (const row of this.stmt.schemaAll.all() as { name: string; data: Uint8Array }[]) {
      this.schemaCache.set(row.name, decodeObjectSchema(row.data));
    }
  }

  /** Increases on every change of content, committed or not (caches of derived data key on it). */
  get dataVersion(): number {
    return this.dataCounter;
  }
  /** Increases on every committed transaction (local, download or snapshot). */
  get version(): number {
    return this.changeVersion;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  // ---- StateStore ----------------------------------------------------------------------------

  getSchema(type: string): ObjectSchema | undefined {
    return this.schemaCache.get(type);
  }

  schemas(): ObjectSchema[] {
    return [...this.schemaCache.values()];
  }

  putSchema(schema: ObjectSchema): void {
    this.requireTransaction();
    this.extensions.schema(schema.name, this.schemaCache.get(schema.name));
    this.stmt.schemaPut.run(schema.name, encodeObjectSchema(schema));
    this.dataCounter++;
    this.schemaCache.set(schema.name, schema);
  }

  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    const key = keyString(id);
    const cacheKey = type + '\u0000' + key;
    const cached = this.recordCache.get(cacheKey);
    if (cached) return cached;
    // Looked up and missing earlier in this transaction, and not put since: creating an object reads it twice or more.
    if (this.absent.has(cacheKey)) return undefined;
    const row = this.stmt.objectGet.get(type, key) as { data: Uint8Array } | undefined;
    if (!row) {
      // A create usually follows: it can insert without first trying an update.
      if (this.inTransaction) this.absent.add(cacheKey);
      return undefined;
    }
    const record = decodeRecord(row.data);
    this.remember(cacheKey, record);
    return record;
  }

  putObject(type: string, record: ObjectRecord): void {
    this.requireTransaction();
    const key = keyString(record.id);
    this.extensions.object(type, key, () => this.storedRow(type, key));
    const data = encodeRecord(record);
    this.dataCounter++;
    const cacheKey = type + '\u0000' + key;
    if (this.absent.delete(cacheKey) || this.stmt.objectUpdate.run(data, type, key).changes === 0) {
      // The sequence is written to meta once per transaction (flushSeq), not per insert.
      const seq = this.meta.nextSeq;
      this.stmt.objectInsert.run(type, key, seq, data);
      this.deferMeta('nextSeq', seq + 1);
    }
    this.remember(cacheKey, record);
  }

  insertObject(type: string, record: ObjectRecord): boolean {
    this.requireTransaction();
    const key = keyString(record.id);
    const cacheKey = type + '\u0000' + key;
    if (this.recordCache.has(cacheKey)) return false;
    if (this.extensions.capturesPreImages) {
      // A pre-image capture is told before every write with the row as it was: the plain way.
      if (this.getObject(type, record.id)) return false;
      this.putObject(type, record);
      return true;
    }
    const seq = this.meta.nextSeq;
    if (this.stmt.objectInsertNew.run(type, key, seq, encodeRecord(record)).changes === 0) return false;
    this.deferMeta('nextSeq', seq + 1);
    this.dataCounter++;
    this.absent.delete(cacheKey);
    this.remember(cacheKey, record);
    return true;
  }

  deleteObject(type: string, id: ObjectKey): void {
    this.requireTransaction();
    const key = keyString(id);
    this.extensions.object(type, key, () => this.storedRow(type, key));
    this.stmt.objectDelete.run(type, key);
    this.dataCounter++;
    this.recordCache.delete(type + '\u0000' + key);
  }

  /** The type's objects in local creation order (materialised: safe to write while iterating). */
  objects(type: string): ObjectRecord[] {
    const out: ObjectRecord[] = [];
    for (const row of this.stmt.objectsOfType.all(type) as { key: string; data: Uint8Array }[]) {
      const cacheKey = type + '\u0000' + row.key;
      let record = this.recordCache.get(cacheKey);
      if (!record) {
        record = decodeRecord(row.data);
        this.remember(cacheKey, record);
      }
      out.push(record);
    }
    return out;
  }

  /** The stored row of an object as the database holds it now (no cache). */
  private storedRow(type: string, key: string): StoredRow | undefined {
    return this.stmt.objectRow.get(type, key) as StoredRow | undefined;
  }

  /** The keys (keyString form) of a type's objects in creation order, without decoding records. */
  objectKeys(type: string): string[] {
    return (this.stmt.keysOfType.all(type) as { key: string }[]).map((r) => r.key);
  }

  /** The keys of a type's objects with their creation sequence numbers, in creation order. */
  keysWithSequence(type: string): { key: string; seq: number }[] {
    return this.stmt.keysWithSeqOfType.all(type) as { key: string; seq: number }[];
  }

  count(type: string): number {
    return (this.stmt.countOfType.get(type) as { n: number }).n;
  }

  /** Caches a record (evicting the oldest eighth when the cache is full: {@link evictOldest}). */
  private remember(cacheKey: string, record: ObjectRecord): void {
    if (this.recordCache.size >= this.cacheSize && !this.recordCache.has(cacheKey)) this.evictOldest();
    this.recordCache.set(cacheKey, record);
  }

  /**
   * Drops the oldest eighth of the record cache in one pass. Evicting one entry per insert with
   * `keys().next()` costs a scan over every entry deleted before it (a Map keeps them as holes
   * until it rehashes): 20 % of a download's time once the cache was full.
   */
  private evictOldest(): void {
    let n = Math.max(1, this.cacheSize >> 3);
    for (const key of this.recordCache.keys()) {
      this.recordCache.delete(key);
      if (--n === 0) break;
    }
  }

  /** Deletes every object and schema (a snapshot replaces them), telling pre-image captures first. */
  protected clearObjects(): void {
    this.extensions.reset(() => this.stmt.objectRowsAll.iterate() as Iterable<{ type: string; key: string } & StoredRow>, this.schemas());
    this.db.exec('DELETE FROM objects; DELETE FROM schemas;');
    this.recordCache.clear();
    this.schemaCache.clear();
    this.dataCounter++;
  }

  // ---- extensions ----------------------------------------------------------------------------

  /**
   * Registers an extension (see {@link ReplicaExtension}) after those already registered: its
   * `attach` runs at once, then it takes part in every later transaction. Returns its removal
   * (idempotent). Closing the replica removes every extension.
   */
  addExtension(extension: ReplicaExtension): () => void {
    this.checkOpen();
    const remove = this.extensions.add(extension);
    try {
      extension.attach?.(this.storage);
    } catch (e) {
      remove();
      throw e;
    }
    return remove;
  }

  private readonly storage: ExtensionStorage = {
    exec: (sql) => {
      this.checkOpen();
      this.db.exec(sql);
    },
    prepare: (sql) => {
      this.checkOpen();
      return this.db.prepare(sql);
    },
    transaction: (fn) => (this.inTransaction ? this.atomically(fn) : this.transaction(fn)),
  };

  // ---- transactions --------------------------------------------------------------------------

  private requireTransaction(): void {
    if (!this.inTransaction) throw new TributaryError('NOT_IN_TRANSACTION', 'replica mutations must run inside a transaction');
  }

  protected checkOpen(): void {
    if (this.closed) throw new TributaryError('REALM_CLOSED', `replica ${this.path} is closed`);
  }

  protected get isInTransaction(): boolean {
    return this.inTransaction;
  }

  /** Runs `fn` in one IMMEDIATE transaction; on a throw everything (caches included) rolls back. */
  protected transaction<T>(fn: () => T, origin?: CommitOrigin, clientVersion?: () => number | undefined, durable = origin !== 'download'): T {
    this.checkOpen();
    if (this.inTransaction) throw new TributaryError('INVALID_ARGUMENT', 'a replica transaction is already open');
    this.begin(durable);
    const result = this.finish(fn);
    if (origin) this.committed({ origin, clientVersion: clientVersion?.() });
    return result;
  }

  /**
   * Opens the IMMEDIATE transaction that {@link finish} ends. Downloads commit without an fsync
   * (`durable` false): they are atomic with their cursor, so a power loss can only roll both back
   * together and they are downloaded again. Local writes fsync only with durability 'full'; by
   * default they are in the WAL when write() returns, which a process crash cannot undo.
   */
  protected begin(durable: boolean): void {
    this.deferCommit = !durable && this.downloadCommitDelayMs > 0;
    if (this.pendingCommit) {
      // Another download continues the waiting transaction. Anything else commits it first: a
      // savepoint held across a local write would keep SQLite's statement journal growing with
      // every page the write touches (it spills to a file past 64 KiB).
      if (this.deferCommit) {
        // Undoable on its own: a download that fails changes nothing, as when it commits alone.
        this.db.exec('SAVEPOINT download');
        this.joined = true;
        this.joinedMeta = [...this.deferred].map((key) => [key, this.meta[key]] as const);
        this.inTransaction = true;
        return;
      }
      this.commitPending();
    }
    this.setSynchronous(durable && this.fsyncWrites ? 'FULL' : 'NORMAL');
    this.db.exec('BEGIN IMMEDIATE');
    this.inTransaction = true;
  }

  /**
   * Runs `fn` in the open transaction and commits it; on a throw rolls everything back. A
   * download's transaction may leave the COMMIT to later (ReplicaOptions.downloadCommitDelayMs):
   * its changes are in effect at once, for reads and notifications alike, and on disk within the
   * delay. A download that throws changes nothing, as when it commits alone (it continues the
   * waiting transaction under a savepoint).
   */
  protected finish<T>(fn: () => T): T {
    try {
      const result = fn();
      // A download whose COMMIT waits leaves its cursors in memory: the waiting downloads' meta is
      // written once, before their COMMIT (commitPending), not once per download.
      if (!this.deferCommit) this.flushDeferredMeta();
      if (this.joined) this.db.exec('RELEASE download');
      this.joined = false;
      if (this.deferCommit) {
        this.pendingCommit ??= { timer: null };
        // Unref'd: a program that ends without close() is not kept alive for it (what it loses is downloaded again).
        this.pendingCommit.timer ??= setTimeout(() => this.commitPendingLater(), this.downloadCommitDelayMs).unref();
      } else {
        this.db.exec('COMMIT');
        this.carriedWritten();
      }
      return result;
    } catch (e) {
      this.rollbackAll();
      throw e;
    } finally {
      this.inTransaction = false;
      this.deferCommit = false;
      this.absent.clear();
    }
  }

  /** Whether downloaded changes wait for their COMMIT (they are in effect, not yet in the WAL). */
  get hasPendingCommit(): boolean {
    return this.pendingCommit !== null;
  }

  /** Commits the downloaded changes that wait for it, now (between transactions only). */
  commitPending(): void {
    if (!this.pendingCommit || this.inTransaction) return;
    this.clearPending();
    try {
      this.flushDeferredMeta();
      this.db.exec('COMMIT');
      this.carriedWritten();
    } catch (e) {
      // Not committed: the waiting changes are rolled back (and downloaded again).
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.reloadFromFile();
      this.restoreCarried();
      const error = new TributaryError('STORAGE_FAILURE', `cannot commit downloaded changes to ${this.path}: ${(e as Error).message}`, { cause: e });
      this.lostPending(error);
      throw error;
    }
  }

  private commitPendingLater(): void {
    if (!this.pendingCommit) return;
    this.pendingCommit.timer = null;
    // A write transaction is open (a realm.beginTransaction() across turns): its end commits.
    if (this.inTransaction || this.closed) return;
    try {
      this.commitPending();
    } catch {
      // Told to the commit-failure listeners (the sync session binds again from the file's cursors).
    }
  }

  private readonly commitFailureListeners = new Set<(error: Error) => void>();

  /**
   * Calls `listener` when downloaded changes that waited for their COMMIT were rolled back instead
   * (the disk refused the commit): the replica's cursors went back with them, so whoever downloads
   * into it must ask the server again from there. Returns the unsubscribe.
   */
  onCommitFailure(listener: (error: Error) => void): () => void {
    this.commitFailureListeners.add(listener);
    return () => this.commitFailureListeners.delete(listener);
  }

  private lostPending(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    queueMicrotask(() => {
      for (const l of [...this.commitFailureListeners]) l(e);
    });
  }

  private clearPending(): void {
    if (this.pendingCommit?.timer) clearTimeout(this.pendingCommit.timer);
    this.pendingCommit = null;
  }

  /** Keys this transaction looked up and found missing (cleared with it). */
  private readonly absent = new Set<string>();
  /** Meta values changed in memory and not yet written. */
  private readonly deferred = new Set<MetaKey>();

  /**
   * Changes a meta value in memory; it is written with the next commit (a savepoint that rolls
   * back restores the pending values it started with). For values written often that need no
   * transaction of their own: the creation sequence, the cursors, the informational upload cursor.
   */
  protected deferMeta<K extends MetaKey>(key: K, value: Meta[K]): void {
    if (this.meta[key] === value) return;
    this.meta[key] = value;
    this.deferred.add(key);
  }

  /**
   * Meta values changed between transactions ({@link carryMeta}), as they were set: written by the
   * next transaction that commits (of any kind), and put back after anything rolls back before
   * that. Empty while a download transaction waits for its COMMIT (carrying is refused then).
   */
  private readonly carried = new Map<MetaKey, unknown>();
  private carryTimer: NodeJS.Timeout | null = null;

  /**
   * Changes a meta value outside any transaction, for values whose loss in a crash costs nothing
   * but a repeat (a cursor the server moved without sending changes, which it sends again; a
   * binding, made again by the next open): no transaction of their own. The next commit writes
   * them; if none comes within the download commit delay, a small transaction does. Returns false
   * (and changes nothing) inside a transaction or while a download transaction waits for its
   * COMMIT: a cursor carried past downloads that were not committed could skip them when they roll back.
   */
  protected carryMeta<K extends MetaKey>(key: K, value: Meta[K]): boolean {
    if (this.inTransaction || this.pendingCommit || this.closed) return false;
    if (this.meta[key] === value && !this.deferred.has(key)) return true;
    this.meta[key] = value;
    this.deferred.add(key);
    this.carried.set(key, value);
    this.writeCarriedLater();
    return true;
  }

  private writeCarriedLater(): void {
    // Unref'd, as the download commit timer: a program that ends without close() repeats the step.
    this.carryTimer ??= setTimeout(() => this.writeCarried(), this.downloadCommitDelayMs).unref();
  }

  /** Writes carried meta values in a transaction of their own (nothing else committed them in time). */
  private writeCarried(): void {
    this.carryTimer = null;
    // A transaction open now (or a download's waiting for its COMMIT) writes them when it commits.
    if (this.carried.size === 0 || this.inTransaction || this.pendingCommit || this.closed) return;
    try {
      this.setSynchronous('NORMAL');
      this.db.exec('BEGIN IMMEDIATE');
      this.flushDeferredMeta();
      this.db.exec('COMMIT');
      this.carriedWritten();
    } catch {
      // Still carried (and repeated after a crash): the next transaction tries again. Called from a
      // timer and from close(), so nothing here may throw.
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.reloadFromFile();
      } catch {
        // The file cannot be read back now either: the next transaction reports it.
      }
      this.restoreCarried(false);
    }
  }

  /** A COMMIT wrote every deferred value, the carried ones included. */
  private carriedWritten(): void {
    if (this.carried.size === 0) return;
    this.carried.clear();
    if (this.carryTimer) clearTimeout(this.carryTimer);
    this.carryTimer = null;
  }

  /**
   * After a rollback reloaded the meta from the file: the carried values again, still to be written
   * (by the next commit, or by their own transaction: the timer may have found this one open).
   */
  private restoreCarried(rearm = true): void {
    if (this.carried.size === 0) return;
    for (const [key, value] of this.carried) {
      (this.meta as Record<MetaKey, unknown>)[key] = value;
      this.deferred.add(key);
    }
    // Not after their own transaction failed: no retry every few ms against a refusing disk.
    if (rearm && !this.closed) this.writeCarriedLater();
  }

  /** Writes the deferred meta values in one statement (one upsert of n rows, prepared once per n). */
  private flushDeferredMeta(): void {
    const n = this.deferred.size;
    if (n === 0) return;
    const params: unknown[] = [];
    for (const key of this.deferred) params.push(key, this.meta[key]);
    this.deferred.clear();
    let put = this.metaPuts[n];
    if (!put) {
      const rows = Array.from({ length: n }, () => '(?, ?)').join(', ');
      put = this.metaPuts[n] = this.db.prepare(`INSERT INTO meta (key, value) VALUES ${rows} ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    }
    put.run(...params);
  }

  /** Multi-row meta upserts by row count (at most one per meta key). */
  private readonly metaPuts: Database.Statement[] = [];

  private setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.synchronous === mode) return;
    this.db.pragma(`synchronous = ${mode}`);
    this.synchronous = mode;
  }

  protected rollbackAll(): void {
    const joined = this.joined && this.db.inTransaction;
    if (joined) {
      // A download that continued waiting ones: only its own part goes; they still wait.
      this.db.exec('ROLLBACK TO download');
      this.db.exec('RELEASE download');
    } else {
      this.clearPending();
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
    this.joined = false;
    this.inTransaction = false;
    this.savepoints = 0;
    this.reloadFromFile();
    this.restoreCarried();
    if (joined) {
      // The waiting downloads' cursors are not in the file yet: back to what this one found.
      for (const [key, value] of this.joinedMeta) (this.meta as Record<MetaKey, unknown>)[key] = value;
      for (const [key] of this.joinedMeta) this.deferred.add(key);
    }
    this.joinedMeta = [];
  }

  /** Runs `fn` atomically inside the open transaction (a savepoint). */
  protected atomically<T>(fn: () => T): T {
    // Meta values changed in memory and not yet written stay unwritten (a write of many objects
    // would otherwise rewrite `nextSeq` once per object); a rollback puts them back as they were.
    const pending = this.deferred.size > 0 ? [...this.deferred].map((key) => [key, this.meta[key]] as const) : null;
    const name = `sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const r = fn();
      this.db.exec(`RELEASE ${name}`);
      return r;
    } catch (e) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      // In-memory caches may hold mutated records: rebuild them from the (rolled back) file.
      this.reloadFromFile();
      if (pending) {
        for (const [key, value] of pending) (this.meta as Record<MetaKey, unknown>)[key] = value;
        for (const [key] of pending) this.deferred.add(key);
      }
      throw e;
    } finally {
      this.savepoints--;
    }
  }

  private reloadFromFile(): void {
    this.forgetDerived();
    this.dataCounter++;
    this.recordCache.clear();
    this.absent.clear();
    this.deferred.clear();
    this.meta = this.loadMeta();
    this.loadSchemas();
  }

  /** Drops state a subclass derived from the file (called whenever memory is reloaded from it). */
  protected forgetDerived(): void {}

  protected committed(event: CommitEvent): void {
    this.changeVersion++;
    this.extensions.committed(event);
  }

  close(): void {
    if (this.closed) return;
    // Downloaded changes still waiting are committed (a write left open is rolled back by close).
    if (this.pendingCommit && !this.inTransaction) {
      try {
        this.commitPending();
      } catch {
        // Rolled back: downloaded again at the next open.
      }
    }
    this.clearPending();
    // Carried cursors nothing committed yet: written now (on failure, repeated after the next open).
    if (this.carried.size > 0 && !this.inTransaction) this.writeCarried();
    if (this.carryTimer) clearTimeout(this.carryTimer);
    this.carryTimer = null;
    this.closed = true;
    this.extensions.clear();
    this.db.close();
  }
}

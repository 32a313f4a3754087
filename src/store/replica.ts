import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import {
  apply,
  decodeChangeset,
  decodeObjectSchema,
  decodeRecord,
  encodeChangeset,
  encodeObjectSchema,
  encodeRecord,
  type ApplyObserver,
  type Instruction,
  type ObjectRecord,
  type StateStore,
} from '../changeset';
import { TributaryError } from '../errors';
import { integrateDownload, type IncomingChangeset, type PendingChangeset } from '../merge';
import { HybridLogicalClock, keyString, type ObjectKey, type ObjectSchema } from '../model';
import { META_DEFAULTS, REPLICA_DDL, REPLICA_FORMAT, type Meta, type MetaKey } from './replica-schema';
import { recoverInstructions } from './recovery';

export interface ReplicaOptions {
  /** File path of the replica; `:memory:` for a throw-away one (tests). */
  path: string;
  /** Wall clock for the HLC (tests inject one). */
  now?: () => number;
  /** Most decoded records kept in memory (default 10,000). */
  cacheSize?: number;
}

export interface DownloadCursor {
  serverVersion: number;
  lastIntegratedClientVersion: number;
}

export interface UploadCursor {
  clientVersion: number;
  lastIntegratedServerVersion: number;
}

export interface SyncProgress {
  download: DownloadCursor;
  latestServerVersion: number;
  latestServerVersionSalt: number;
  /** The server's upload cursor: everything up to `clientVersion` is durable on the server. */
  acknowledged: UploadCursor;
}

/** A local changeset as stored in the history and sent in UPLOAD. */
export interface LocalChangeset {
  clientVersion: number;
  originTimestamp: number;
  /** The server version the changeset was made on (download cursor at commit time). */
  lastIntegratedServerVersion: number;
  /** The original encoded instructions. */
  data: Uint8Array;
}

/** The content of one DOWNLOAD message, changesets decoded. */
export interface DownloadBatch {
  serverVersion: number;
  lastIntegratedClientVersion: number;
  latestServerVersion: number;
  latestServerVersionSalt: number;
  uploadClientVersion: number;
  uploadServerVersion: number;
  changesets: IncomingChangeset[];
}

/** A state snapshot (STATE) and the cursor it corresponds to. */
export interface Snapshot {
  serverVersion: number;
  serverVersionSalt: number;
  lastIntegratedClientVersion: number;
  instructions: Instruction[];
}

export type CommitOrigin = 'local' | 'download' | 'snapshot';

export interface CommitEvent {
  origin: CommitOrigin;
  /** The client version of a local commit that produced a changeset. */
  clientVersion?: number;
}

/**
 * Told, inside the transaction, before a stored object or schema changes while its row still holds
 * the previous content (the notifier's `oldRealm` undo log). `read` returns that previous row
 * (`undefined` when the object is being created); call it only for the first touch you care about.
 */
export interface PreImageHook {
  object(type: string, key: string, read: () => { seq: number; data: Uint8Array } | undefined): void;
  schema(name: string, previous: ObjectSchema | undefined): void;
  /** Every object and schema is about to be replaced (a snapshot); `rows` lists them as stored. */
  reset(rows: () => Iterable<{ type: string; key: string; seq: number; data: Uint8Array }>, schemas: ObjectSchema[]): void;
}

/**
 * Applies downloaded changesets and snapshots in place of `apply(replica, instructions,
 * replica.observer)`, inside their transaction; `applyNow` does the actual application. The Adapter
 * records the instructions it applies in the same transaction as their integration.
 */
export type RemoteApplier = (instructions: readonly Instruction[], origin: 'download' | 'snapshot', applyNow: (instructions: readonly Instruction[]) => void) => void;

/** What a replica is bound to; checked on open so a file is never synced to another realm. */
export interface ReplicaBinding {
  serverUrl: string;
  realmPath: string;
  userIdentity: string;
}

/**
 * A durable local replica of one realm on SQLite (WAL, synchronous=FULL): object state, local
 * history, sync cursors and the hybrid logical clock, in one file. Every mutation is one SQLite
 * transaction, so a crash never separates data from its history entry or its cursors.
 *
 * Implements {@link StateStore} so `apply()` runs directly against it; those calls are only
 * valid inside a transaction opened by {@link beginWrite}, {@link integrate} or
 * {@link applySnapshot}.
 *
 * @example
 * const replica = Replica.open({ path: 'dogs.db' });
 * replica.write((w) => w.apply([{ op: 'Create', type: 'Dog', id: 1, values: { name: 'Rex' } }]));
 */
export class Replica implements StateStore {
  readonly path: string;
  /** Receives every effect of every applied instruction (local, downloaded and snapshot). */
  observer: ApplyObserver | undefined;
  /** Admin tools: see {@link PreImageHook}. */
  preImageHook: PreImageHook | undefined;
  /** Admin tools: see {@link RemoteApplier}. */
  remoteApplier: RemoteApplier | undefined;
  private readonly db: Database.Database;
  private readonly clock: HybridLogicalClock;
  private meta: Meta;
  private schemaCache = new Map<string, ObjectSchema>();
  private recordCache = new Map<string, ObjectRecord>();
  private readonly cacheSize: number;
  private readonly commitListeners = new Set<(e: CommitEvent) => void>();
  private activeWrite: LocalWrite | null = null;
  private inTransaction = false;
  private savepoints = 0;
  private changeVersion = 0;
  private dataCounter = 0;
  private closed = false;
  private readonly stmt: ReturnType<Replica['prepare']>;

  private constructor(options: ReplicaOptions) {
    this.path = options.path;
    if (options.path !== ':memory:') fs.mkdirSync(nodePath.dirname(nodePath.resolve(options.path)), { recursive: true });
    this.db = new Database(options.path);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(REPLICA_DDL);
    } catch (e) {
      this.db.close();
      throw new TributaryError('STORAGE_FAILURE', `cannot open replica ${options.path}: ${(e as Error).message}`, { cause: e });
    }
    this.cacheSize = options.cacheSize ?? 10_000;
    this.stmt = this.prepare();
    this.meta = this.loadMeta();
    if (this.meta.format !== REPLICA_FORMAT) {
      this.db.close();
      throw new TributaryError('STORAGE_FAILURE', `replica ${options.path} has format ${this.meta.format}, expected ${REPLICA_FORMAT}`);
    }
    this.loadSchemas();
    this.clock = new HybridLogicalClock(options.now);
    this.clock.observe(this.meta.hlc);
  }

  static open(options: ReplicaOptions): Replica {
    return new Replica(options);
  }

  private prepare() {
    const db = this.db;
    return {
      metaAll: db.prepare('SELECT key, value FROM meta'),
      metaPut: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      schemaAll: db.prepare('SELECT name, data FROM schemas ORDER BY seq'),
      schemaPut: db.prepare(
        'INSERT INTO schemas (name, seq, data) VALUES (?, (SELECT COUNT(*) FROM schemas), ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
      ),
      objectGet: db.prepare('SELECT data FROM objects WHERE type = ? AND key = ?'),
      objectRow: db.prepare('SELECT seq, data FROM objects WHERE type = ? AND key = ?'),
      objectRowsAll: db.prepare('SELECT type, key, seq, data FROM objects'),
      objectUpdate: db.prepare('UPDATE objects SET data = ? WHERE type = ? AND key = ?'),
      objectInsert: db.prepare('INSERT INTO objects (type, key, seq, data) VALUES (?, ?, ?, ?)'),
      objectDelete: db.prepare('DELETE FROM objects WHERE type = ? AND key = ?'),
      objectsOfType: db.prepare('SELECT key, data FROM objects WHERE type = ? ORDER BY seq'),
      keysOfType: db.prepare('SELECT key FROM objects WHERE type = ? ORDER BY seq'),
      countOfType: db.prepare('SELECT COUNT(*) AS n FROM objects WHERE type = ?'),
      historyInsert: db.prepare(
        'INSERT INTO history (client_version, origin_timestamp, base_server_version, changeset, rebased) VALUES (?, ?, ?, ?, NULL)',
      ),
      historyAfter: db.prepare(
        'SELECT client_version, origin_timestamp, base_server_version, changeset, rebased FROM history WHERE client_version > ? ORDER BY client_version',
      ),
      historySetRebased: db.prepare('UPDATE history SET rebased = ? WHERE client_version = ?'),
      historyTrim: db.prepare('DELETE FROM history WHERE client_version <= ?'),
      historyCount: db.prepare('SELECT COUNT(*) AS n FROM history'),
    };
  }

  // ---- meta ----------------------------------------------------------------------------------

  private loadMeta(): Meta {
    const meta = { ...META_DEFAULTS } as Meta;
    for (const row of this.stmt.metaAll.all() as { key: string; value: unknown }[]) {
      if (row.key in META_DEFAULTS) (meta as Record<string, unknown>)[row.key] = row.value;
    }
    return meta;
  }

  private setMeta<K extends MetaKey>(key: K, value: Meta[K]): void {
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

  get fileIdent(): number {
    return this.meta.fileIdent;
  }
  get fileSalt(): number {
    return this.meta.fileSalt;
  }
  get lastClientVersion(): number {
    return this.meta.lastClientVersion;
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
  /** The last HLC timestamp issued or observed (persisted). */
  get clockTime(): number {
    return this.meta.hlc;
  }

  get binding(): ReplicaBinding | undefined {
    const m = this.meta;
    return m.serverUrl ? { serverUrl: m.serverUrl, realmPath: m.realmPath, userIdentity: m.userIdentity } : undefined;
  }

  /**
   * Records what this replica syncs with the first time, and afterwards refuses another binding
   * (a replica of one realm must never upload its history into another).
   */
  bind(binding: ReplicaBinding): void {
    const current = this.binding;
    if (current) {
      if (current.serverUrl !== binding.serverUrl || current.realmPath !== binding.realmPath || current.userIdentity !== binding.userIdentity) {
        throw new TributaryError(
          'USER_MISMATCH',
          `replica ${this.path} belongs to ${current.userIdentity}@${current.serverUrl}${current.realmPath}, not ${binding.userIdentity}@${binding.serverUrl}${binding.realmPath}`,
        );
      }
      return;
    }
    this.transaction(() => {
      this.setMeta('serverUrl', binding.serverUrl);
      this.setMeta('realmPath', binding.realmPath);
      this.setMeta('userIdentity', binding.userIdentity);
    });
  }

  get progress(): SyncProgress {
    const m = this.meta;
    return {
      download: { serverVersion: m.downloadServerVersion, lastIntegratedClientVersion: m.downloadClientVersion },
      latestServerVersion: m.latestServerVersion,
      latestServerVersionSalt: m.latestServerVersionSalt,
      acknowledged: { clientVersion: m.ackClientVersion, lastIntegratedServerVersion: m.ackServerVersion },
    };
  }

  /** Stores the file ident the server allocated, durably, before it is used. */
  setIdent(fileIdent: number, fileSalt: number): void {
    if (!Number.isSafeInteger(fileIdent) || fileIdent <= 0) throw new TributaryError('INVALID_ARGUMENT', `bad file ident ${fileIdent}`);
    this.transaction(() => {
      this.setMeta('fileIdent', fileIdent);
      this.setMeta('fileSalt', fileSalt);
    });
  }

  /**
   * Forgets the file ident and every sync cursor (client reset): the next bind asks for a new
   * ident and bootstraps from a snapshot. Objects and unacknowledged history stay until then.
   */
  resetSyncState(): void {
    this.transaction(() => {
      this.setMeta('fileIdent', 0);
      this.setMeta('fileSalt', 0);
      this.setMeta('downloadServerVersion', 0);
      this.setMeta('downloadClientVersion', 0);
      this.setMeta('latestServerVersion', 0);
      this.setMeta('latestServerVersionSalt', 0);
      this.setMeta('uploadedClientVersion', this.meta.ackClientVersion);
    });
  }

  /** Records how far uploads have been sent (informational; resends start from the ack, so no fsync). */
  noteUploaded(clientVersion: number): void {
    if (clientVersion > this.meta.uploadedClientVersion) this.transaction(() => this.setMeta('uploadedClientVersion', clientVersion), undefined, undefined, false);
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
    this.preImageHook?.schema(schema.name, this.schemaCache.get(schema.name));
    this.stmt.schemaPut.run(schema.name, encodeObjectSchema(schema));
    this.dataCounter++;
    this.schemaCache.set(schema.name, schema);
  }

  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    const key = keyString(id);
    const cacheKey = type + '\u0000' + key;
    const cached = this.recordCache.get(cacheKey);
    if (cached) return cached;
    const row = this.stmt.objectGet.get(type, key) as { data: Uint8Array } | undefined;
    if (!row) return undefined;
    const record = decodeRecord(row.data);
    this.remember(cacheKey, record);
    return record;
  }

  putObject(type: string, record: ObjectRecord): void {
    this.requireTransaction();
    const key = keyString(record.id);
    this.preImageHook?.object(type, key, () => this.storedRow(type, key));
    const data = encodeRecord(record);
    this.dataCounter++;
    if (this.stmt.objectUpdate.run(data, type, key).changes === 0) {
      const seq = this.meta.nextSeq;
      this.stmt.objectInsert.run(type, key, seq, data);
      this.setMeta('nextSeq', seq + 1);
    }
    this.remember(type + '\u0000' + key, record);
  }

  deleteObject(type: string, id: ObjectKey): void {
    this.requireTransaction();
    const key = keyString(id);
    this.preImageHook?.object(type, key, () => this.storedRow(type, key));
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
  private storedRow(type: string, key: string): { seq: number; data: Uint8Array } | undefined {
    return this.stmt.objectRow.get(type, key) as { seq: number; data: Uint8Array } | undefined;
  }

  /**
   * @internal The SQLite handle, for admin tools that keep their own tables in the replica file
   * (the Adapter's log and cursor) and write them inside the replica's transactions.
   */
  get sqlite(): Database.Database {
    this.checkOpen();
    return this.db;
  }

  /** The keys (keyString form) of a type's objects in creation order, without decoding records. */
  objectKeys(type: string): string[] {
    return (this.stmt.keysOfType.all(type) as { key: string }[]).map((r) => r.key);
  }

  count(type: string): number {
    return (this.stmt.countOfType.get(type) as { n: number }).n;
  }

  private remember(cacheKey: string, record: ObjectRecord): void {
    if (this.recordCache.size >= this.cacheSize && !this.recordCache.has(cacheKey)) {
      const oldest = this.recordCache.keys().next().value;
      if (oldest !== undefined) this.recordCache.delete(oldest);
    }
    this.recordCache.set(cacheKey, record);
  }

  // ---- transactions --------------------------------------------------------------------------

  private requireTransaction(): void {
    if (!this.inTransaction) throw new TributaryError('NOT_IN_TRANSACTION', 'replica mutations must run inside a transaction');
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('REALM_CLOSED', `replica ${this.path} is closed`);
  }

  /** Runs `fn` in one IMMEDIATE transaction; on a throw everything (caches included) rolls back. */
  private transaction<T>(fn: () => T, origin?: CommitOrigin, clientVersion?: () => number | undefined, durable = origin !== 'download'): T {
    this.checkOpen();
    if (this.inTransaction) throw new TributaryError('INVALID_ARGUMENT', 'a replica transaction is already open');
    // Downloads commit without an fsync: they are atomic with their cursor, so a power loss can
    // only roll both back together and they are downloaded again. Local writes always fsync.
    this.setSynchronous(durable ? 'FULL' : 'NORMAL');
    this.db.exec('BEGIN IMMEDIATE');
    this.inTransaction = true;
    let result: T;
    try {
      result = fn();
      this.db.exec('COMMIT');
    } catch (e) {
      this.rollbackAll();
      throw e;
    } finally {
      this.inTransaction = false;
    }
    if (origin) this.committed({ origin, clientVersion: clientVersion?.() });
    return result;
  }

  private synchronous: 'FULL' | 'NORMAL' = 'FULL';
  private setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (this.synchronous === mode) return;
    this.db.pragma(`synchronous = ${mode}`);
    this.synchronous = mode;
  }

  private rollbackAll(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.inTransaction = false;
    this.savepoints = 0;
    this.dataCounter++;
    this.recordCache.clear();
    this.meta = this.loadMeta();
    this.loadSchemas();
  }

  /** Runs `fn` atomically inside the open transaction (a savepoint). */
  private atomically<T>(fn: () => T): T {
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
      this.dataCounter++;
      this.recordCache.clear();
      this.meta = this.loadMeta();
      this.loadSchemas();
      throw e;
    } finally {
      this.savepoints--;
    }
  }

  private committed(event: CommitEvent): void {
    this.changeVersion++;
    for (const l of [...this.commitListeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure must not undo or block a durable commit
      }
    }
  }

  /** Called after every committed transaction. Returns an unsubscribe function. */
  onCommit(listener: (event: CommitEvent) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  get isInWrite(): boolean {
    return this.activeWrite !== null;
  }

  /**
   * Opens a local write transaction. Instructions given to {@link LocalWrite.apply} take effect
   * at once (reads inside the write see them); `commit()` makes them one changeset with its
   * history entry, in the same SQLite transaction.
   */
  beginWrite(): LocalWrite {
    this.checkOpen();
    if (this.activeWrite || this.inTransaction) throw new TributaryError('INVALID_ARGUMENT', 'a write transaction is already open');
    this.setSynchronous('FULL');
    this.db.exec('BEGIN IMMEDIATE');
    this.inTransaction = true;
    const w = new LocalWrite(this);
    this.activeWrite = w;
    return w;
  }

  /** Runs `fn` in a write transaction and commits it; rolls back if `fn` throws. */
  write<T>(fn: (w: LocalWrite) => T): T {
    const w = this.beginWrite();
    let result: T;
    try {
      result = fn(w);
    } catch (e) {
      if (w.isOpen) w.cancel();
      throw e;
    }
    if (w.isOpen) w.commit();
    return result;
  }

  /** @internal used by LocalWrite */
  applyLocal(instructions: readonly Instruction[]): void {
    this.atomically(() => apply(this, instructions, this.observer));
  }

  /** @internal used by LocalWrite */
  commitLocal(w: LocalWrite, instructions: Instruction[]): number | undefined {
    let clientVersion: number | undefined;
    try {
      if (instructions.length > 0) {
        clientVersion = this.meta.lastClientVersion + 1;
        const timestamp = this.clock.tick();
        this.stmt.historyInsert.run(clientVersion, timestamp, this.meta.downloadServerVersion, encodeChangeset(instructions));
        this.setMeta('lastClientVersion', clientVersion);
        this.setMeta('hlc', timestamp);
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.rollbackAll();
      throw e;
    } finally {
      this.inTransaction = false;
      if (this.activeWrite === w) this.activeWrite = null;
    }
    this.committed({ origin: 'local', clientVersion });
    return clientVersion;
  }

  /** @internal used by LocalWrite */
  cancelLocal(w: LocalWrite): void {
    this.rollbackAll();
    if (this.activeWrite === w) this.activeWrite = null;
  }

  // ---- history -------------------------------------------------------------------------------

  /** Local changesets with client version > `after`, oldest first, up to about `maxBytes`. */
  changesetsAfter(after: number, maxBytes = Infinity): LocalChangeset[] {
    const out: LocalChangeset[] = [];
    let bytes = 0;
    for (const row of this.stmt.historyAfter.iterate(after) as Iterable<HistoryRow>) {
      if (out.length > 0 && bytes + row.changeset.length > maxBytes) break;
      bytes += row.changeset.length;
      out.push({
        clientVersion: row.client_version,
        originTimestamp: row.origin_timestamp,
        lastIntegratedServerVersion: row.base_server_version,
        data: row.changeset,
      });
    }
    return out;
  }

  /** Number of local changesets still kept (not yet acknowledged and integrated). */
  get historySize(): number {
    return (this.stmt.historyCount.get() as { n: number }).n;
  }

  private pendingAfter(after: number): PendingChangeset[] {
    return (this.stmt.historyAfter.all(after) as HistoryRow[]).map((row) => ({
      clientVersion: row.client_version,
      originTimestamp: row.origin_timestamp,
      instructions: decodeChangeset(row.rebased ?? row.changeset),
    }));
  }

  // ---- downloads -----------------------------------------------------------------------------

  /**
   * Integrates one DOWNLOAD: transforms each changeset past the pending local ones, applies it,
   * stores the rebased pending changesets, the new cursors and the clock, and trims history the
   * server has both acknowledged and integrated — all in one transaction. Throws (and changes
   * nothing) on a cursor that moves backwards or a changeset that cannot be applied.
   */
  integrate(batch: DownloadBatch): void {
    this.integrateAll([batch]);
  }

  /**
   * Integrates consecutive DOWNLOADs, in order, in one transaction (the sync session coalesces the
   * DOWNLOADs that arrive together): each is checked against the cursors the one before it left,
   * exactly as separate {@link integrate} calls would, but they commit once. Throws (and changes
   * nothing) if any of them fails.
   */
  integrateAll(batches: readonly DownloadBatch[]): void {
    this.transaction(() => {
      for (const batch of batches) this.integrateOne(batch);
    }, 'download');
  }

  private integrateOne(batch: DownloadBatch): void {
    const m = this.meta;
    checkCursor(batch.serverVersion >= m.downloadServerVersion, 'BAD_SERVER_VERSION', `download cursor moved back from ${m.downloadServerVersion} to ${batch.serverVersion}`);
    checkCursor(
      batch.lastIntegratedClientVersion >= m.downloadClientVersion && batch.lastIntegratedClientVersion <= m.lastClientVersion,
      'BAD_CLIENT_VERSION',
      `download cursor's client version ${batch.lastIntegratedClientVersion} is outside ${m.downloadClientVersion}..${m.lastClientVersion}`,
    );
    checkCursor(batch.latestServerVersion >= batch.serverVersion, 'BAD_SERVER_VERSION', `latest server version ${batch.latestServerVersion} is behind ${batch.serverVersion}`);
    checkCursor(
      batch.uploadClientVersion <= m.lastClientVersion,
      'BAD_CLIENT_VERSION',
      `server acknowledged client version ${batch.uploadClientVersion} beyond the last one made (${m.lastClientVersion})`,
    );
    let previous = m.downloadServerVersion;
    let pending: PendingChangeset[] | undefined;
    const rebased = new Map<number, Instruction[]>();
    for (const cs of batch.changesets) {
      checkCursor(cs.serverVersion > previous && cs.serverVersion <= batch.serverVersion, 'BAD_SERVER_VERSION', `changeset server version ${cs.serverVersion} out of order`);
      previous = cs.serverVersion;
      pending ??= this.pendingAfter(m.downloadClientVersion);
      const concurrent = pending.filter((p) => p.clientVersion > cs.lastIntegratedClientVersion);
      let toApply = cs.instructions;
      if (concurrent.length > 0) {
        const result = integrateDownload(m.fileIdent, concurrent, cs, this);
        toApply = result.apply;
        for (const p of result.pending) {
          rebased.set(p.clientVersion, p.instructions);
          const i = pending.findIndex((q) => q.clientVersion === p.clientVersion);
          if (i >= 0) pending[i] = p;
        }
      }
      this.applyRemote(toApply, 'download');
      this.clock.observe(cs.originTimestamp);
    }
    for (const [clientVersion, instructions] of rebased) this.stmt.historySetRebased.run(encodeChangeset(instructions), clientVersion);
    this.setMeta('downloadServerVersion', batch.serverVersion);
    this.setMeta('downloadClientVersion', batch.lastIntegratedClientVersion);
    this.setMeta('latestServerVersion', batch.latestServerVersion);
    this.setMeta('latestServerVersionSalt', batch.latestServerVersionSalt);
    if (batch.uploadClientVersion > m.ackClientVersion) {
      this.setMeta('ackClientVersion', batch.uploadClientVersion);
      this.setMeta('ackServerVersion', batch.uploadServerVersion);
    }
    this.setMeta('hlc', this.clock.current);
    this.stmt.historyTrim.run(Math.min(this.meta.ackClientVersion, this.meta.downloadClientVersion));
  }

  /**
   * Replaces the replica's content with a server snapshot (bootstrap or client reset) and
   * re-applies the local changes the server has not acknowledged on top of it, as new changesets
   * based on the snapshot's version (PROTOCOL.md §6). One transaction.
   */
  applySnapshot(snapshot: Snapshot): { recovered: number; dropped: number } {
    let recovered = 0;
    let dropped = 0;
    this.transaction(() => {
      const local = this.pendingOriginals(this.meta.ackClientVersion);
      this.preImageHook?.reset(() => this.stmt.objectRowsAll.iterate() as Iterable<{ type: string; key: string; seq: number; data: Uint8Array }>, this.schemas());
      this.db.exec('DELETE FROM objects; DELETE FROM schemas; DELETE FROM history;');
      this.recordCache.clear();
      this.schemaCache.clear();
      this.dataCounter++;
      this.applyRemote(snapshot.instructions, 'snapshot');
      this.setMeta('downloadServerVersion', snapshot.serverVersion);
      this.setMeta('downloadClientVersion', snapshot.lastIntegratedClientVersion);
      this.setMeta('latestServerVersion', snapshot.serverVersion);
      this.setMeta('latestServerVersionSalt', snapshot.serverVersionSalt);
      this.setMeta('ackClientVersion', snapshot.lastIntegratedClientVersion);
      this.setMeta('ackServerVersion', snapshot.serverVersion);
      this.setMeta('uploadedClientVersion', snapshot.lastIntegratedClientVersion);
      for (const entry of local) {
        const kept = recoverInstructions(this, entry.instructions, (ins) => this.atomically(() => apply(this, [ins], this.observer)));
        dropped += entry.instructions.length - kept.length;
        if (kept.length === 0) continue;
        const clientVersion = Math.max(this.meta.lastClientVersion, snapshot.lastIntegratedClientVersion) + 1;
        const timestamp = this.clock.tick();
        this.stmt.historyInsert.run(clientVersion, timestamp, snapshot.serverVersion, encodeChangeset(kept));
        this.setMeta('lastClientVersion', clientVersion);
        recovered++;
      }
      this.setMeta('hlc', this.clock.current);
    }, 'snapshot');
    return { recovered, dropped };
  }

  private applyRemote(instructions: readonly Instruction[], origin: 'download' | 'snapshot'): void {
    const applyNow = (ins: readonly Instruction[]) => apply(this, ins, this.observer);
    if (this.remoteApplier) this.remoteApplier(instructions, origin, applyNow);
    else applyNow(instructions);
  }

  private pendingOriginals(after: number): { clientVersion: number; instructions: Instruction[] }[] {
    return (this.stmt.historyAfter.all(after) as HistoryRow[]).map((row) => ({
      clientVersion: row.client_version,
      instructions: decodeChangeset(row.changeset),
    }));
  }

  close(): void {
    if (this.closed) return;
    if (this.activeWrite) this.cancelLocal(this.activeWrite);
    this.closed = true;
    this.commitListeners.clear();
    this.db.close();
  }
}

interface HistoryRow {
  client_version: number;
  origin_timestamp: number;
  base_server_version: number;
  changeset: Uint8Array;
  rebased: Uint8Array | null;
}

function checkCursor(ok: boolean, code: 'BAD_SERVER_VERSION' | 'BAD_CLIENT_VERSION', message: string): void {
  if (!ok) throw new TributaryError(code, message);
}

/**
 * An open local write. Every `apply` takes effect at once and atomically (a failing batch leaves
 * nothing behind); `commit` turns everything applied into one changeset.
 */
export class LocalWrite {
  private readonly instructions: Instruction[] = [];
  private open = true;
  constructor(private readonly replica: Replica) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** The instructions applied so far. */
  get applied(): readonly Instruction[] {
    return this.instructions;
  }

  apply(instructions: readonly Instruction[]): void {
    if (!this.open) throw new TributaryError('NOT_IN_TRANSACTION', 'the write transaction is closed');
    if (instructions.length === 0) return;
    this.replica.applyLocal(instructions);
    this.instructions.push(...instructions);
  }

  /** Commits; returns the new client version, or undefined when nothing was written. */
  commit(): number | undefined {
    if (!this.open) throw new TributaryError('NOT_IN_TRANSACTION', 'the write transaction is closed');
    this.open = false;
    return this.replica.commitLocal(this, this.instructions);
  }

  cancel(): void {
    if (!this.open) return;
    this.open = false;
    this.replica.cancelLocal(this);
  }
}

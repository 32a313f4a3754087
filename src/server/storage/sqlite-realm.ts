import type BetterSqlite3 from 'better-sqlite3';
import { decodeChangeset, decodeObjectSchema, decodeRecord, encodeChangeset, encodeObjectSchema, encodeRecord } from '../../changeset/codec';
import type { Instruction } from '../../changeset/instructions';
import type { ObjectRecord, StateStore } from '../../changeset/state';
import type { HistoryEntry, JournaledUpload } from '../../merge/integrate';
import { keyString, type ObjectKey, type ObjectSchema } from '../../model';
import { TributaryError } from '../../errors';
import { randomSalt } from './salt';
import type { CachedRealm, ReciprocalRange, SqliteCache } from './sqlite-cache';
import type { ClientFileRecord, RealmTransaction, StoredHistoryEntry } from './types';

/** What a realm transaction needs from its write transaction to use the driver's cache. */
export interface RealmCacheAccess {
  readonly cache: SqliteCache;
  cachedRealm(realmId: number): CachedRealm | undefined;
  getClientFile(realmId: number, ident: number): ClientFileRecord | undefined;
}

type Db = BetterSqlite3.Database;
type Stmt = BetterSqlite3.Statement;

/** Prepared statements for one realm's history and state (prepared once per database). */
export class RealmStatements {
  readonly latest: Stmt;
  readonly setLatest: Stmt;
  readonly historyAfter: Stmt;
  readonly historyAfterLimited: Stmt;
  readonly lastCumulative: Stmt;
  readonly insertHistory: Stmt;
  readonly clientFile: Stmt;
  readonly setLastIntegrated: Stmt;
  readonly getReciprocal: Stmt;
  readonly setReciprocal: Stmt;
  readonly trimReciprocal: Stmt;
  readonly reciprocalRange: Stmt;
  readonly setReciprocalBase: Stmt;
  readonly journalAfter: Stmt;
  readonly journalInsert: Stmt;
  readonly journalClear: Stmt;
  readonly getSchema: Stmt;
  readonly allSchemas: Stmt;
  readonly upsertSchema: Stmt;
  readonly nextSchemaSeq: Stmt;
  readonly getObject: Stmt;
  readonly upsertObject: Stmt;
  readonly deleteObject: Stmt;
  readonly objectsOfType: Stmt;

  constructor(db: Db) {
    this.latest = db.prepare('SELECT latest_version AS version, latest_salt AS salt FROM realms WHERE id = ?');
    this.setLatest = db.prepare('UPDATE realms SET latest_version = ?, latest_salt = ? WHERE id = ?');
    this.historyAfter = db.prepare(
      'SELECT version, origin_file_ident, origin_timestamp, client_version, changeset FROM history WHERE realm_id = ? AND version > ? ORDER BY version',
    );
    this.historyAfterLimited = db.prepare(
      'SELECT version, origin_file_ident, origin_timestamp, client_version, changeset FROM history WHERE realm_id = ? AND version > ? ORDER BY version LIMIT ?',
    );
    this.lastCumulative = db.prepare('SELECT cumulative_bytes FROM history WHERE realm_id = ? AND version = ?').pluck();
    this.insertHistory = db.prepare(
      'INSERT INTO history (realm_id, version, salt, origin_file_ident, origin_timestamp, client_version, changeset, byte_size, cumulative_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.clientFile = db.prepare('SELECT last_integrated_client_version FROM client_files WHERE realm_id = ? AND ident = ?').pluck();
    this.setLastIntegrated = db.prepare('UPDATE client_files SET last_integrated_client_version = ? WHERE realm_id = ? AND ident = ?');
    this.getReciprocal = db.prepare('SELECT changeset FROM reciprocal_history WHERE realm_id = ? AND ident = ? AND version = ?').pluck();
    this.setReciprocal = db.prepare('INSERT OR REPLACE INTO reciprocal_history (realm_id, ident, version, changeset) VALUES (?, ?, ?, ?)');
    this.trimReciprocal = db.prepare('DELETE FROM reciprocal_history WHERE realm_id = ? AND ident = ? AND version <= ?');
    this.reciprocalRange = db.prepare('SELECT MIN(version) AS min, MAX(version) AS max FROM reciprocal_history WHERE realm_id = ? AND ident = ?');
    this.setReciprocalBase = db.prepare('UPDATE client_files SET reciprocal_base = MAX(reciprocal_base, ?) WHERE realm_id = ? AND ident = ?');
    this.journalAfter = db.prepare(
      'SELECT client_version, version, base_version, origin_timestamp, changeset FROM upload_journal WHERE realm_id = ? AND ident = ? AND client_version > ? ORDER BY client_version LIMIT ?',
    );
    this.journalInsert = db.prepare(
      'INSERT INTO upload_journal (realm_id, ident, client_version, version, base_version, origin_timestamp, changeset) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.journalClear = db.prepare('DELETE FROM upload_journal WHERE realm_id = ? AND ident = ?');
    this.getSchema = db.prepare('SELECT schema FROM schemas WHERE realm_id = ? AND name = ?').pluck();
    this.allSchemas = db.prepare('SELECT schema FROM schemas WHERE realm_id = ? ORDER BY seq').pluck();
    this.upsertSchema = db.prepare(
      'INSERT INTO schemas (realm_id, name, seq, schema) VALUES (?, ?, ?, ?) ON CONFLICT (realm_id, name) DO UPDATE SET schema = excluded.schema',
    );
    this.nextSchemaSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM schemas WHERE realm_id = ?').pluck();
    this.getObject = db.prepare('SELECT record FROM objects WHERE realm_id = ? AND type = ? AND key = ?').pluck();
    this.upsertObject = db.prepare(
      'INSERT INTO objects (realm_id, type, key, record) VALUES (?, ?, ?, ?) ON CONFLICT (realm_id, type, key) DO UPDATE SET record = excluded.record',
    );
    this.deleteObject = db.prepare('DELETE FROM objects WHERE realm_id = ? AND type = ? AND key = ?');
    this.objectsOfType = db.prepare('SELECT record FROM objects WHERE realm_id = ? AND type = ? ORDER BY seq').pluck();
  }
}

function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The object state of one realm over the `schemas` and `objects` tables. Used read-only for
 * snapshots and as part of {@link SqliteRealmTransaction} for writes.
 */
export class SqliteRealmState implements StateStore {
  constructor(
    protected readonly st: RealmStatements,
    readonly realmId: number,
  ) {}

  getSchema(type: string): ObjectSchema | undefined {
    const b = this.st.getSchema.get(this.realmId, type) as Buffer | undefined;
    return b ? decodeObjectSchema(bytes(b)) : undefined;
  }
  schemas(): ObjectSchema[] {
    return (this.st.allSchemas.all(this.realmId) as Buffer[]).map((b) => decodeObjectSchema(bytes(b)));
  }
  putSchema(schema: ObjectSchema): void {
    const seq = this.st.nextSchemaSeq.get(this.realmId) as number;
    this.st.upsertSchema.run(this.realmId, schema.name, seq, encodeObjectSchema(schema));
  }
  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    const b = this.st.getObject.get(this.realmId, type, keyString(id)) as Buffer | undefined;
    return b ? decodeRecord(bytes(b)) : undefined;
  }
  putObject(type: string, record: ObjectRecord): void {
    this.st.upsertObject.run(this.realmId, type, keyString(record.id), encodeRecord(record));
  }
  deleteObject(type: string, id: ObjectKey): void {
    this.st.deleteObject.run(this.realmId, type, keyString(id));
  }
  objects(type: string): Iterable<ObjectRecord> {
    // all(), not iterate(): apply() writes while it walks, and an open cursor would block that.
    return (this.st.objectsOfType.all(this.realmId, type) as Buffer[]).map((b) => decodeRecord(bytes(b)));
  }
}

/** History, reciprocal history and state of one realm inside an open SQLite transaction. */
export class SqliteRealmTransaction extends SqliteRealmState implements RealmTransaction {
  constructor(
    st: RealmStatements,
    realmId: number,
    private readonly access?: RealmCacheAccess,
  ) {
    super(st, realmId);
  }

  /** Schemas come from the realm's cache when there is one (decoded once, not per instruction). */
  private cachedSchemas(): Map<string, ObjectSchema> | undefined {
    const c = this.access?.cachedRealm(this.realmId);
    if (!c) return undefined;
    if (!c.schemas) c.schemas = new Map(super.schemas().map((s) => [s.name, s]));
    return c.schemas;
  }

  override getSchema(type: string): ObjectSchema | undefined {
    const cached = this.cachedSchemas();
    return cached ? cached.get(type) : super.getSchema(type);
  }

  override putSchema(schema: ObjectSchema): void {
    super.putSchema(schema);
    this.cachedSchemas()?.set(schema.name, schema);
  }

  latestVersion(): number {
    return this.latestRow().version;
  }

  latestSalt(): number {
    return this.latestRow().salt;
  }

  *entriesAfter(after: number, limit?: number): Iterable<HistoryEntry> {
    const cached = this.access?.cachedRealm(this.realmId)?.historyAfter(after);
    if (cached) {
      for (const e of limit === undefined ? cached : cached.slice(0, limit)) yield e.entry;
      return;
    }
    const rows = (limit === undefined ? this.st.historyAfter.all(this.realmId, after) : this.st.historyAfterLimited.all(this.realmId, after, limit)) as {
      version: number;
      origin_file_ident: number;
      origin_timestamp: number;
      client_version: number;
      changeset: Buffer;
    }[];
    for (const r of rows) {
      yield {
        version: r.version,
        originFileIdent: r.origin_file_ident,
        originTimestamp: r.origin_timestamp,
        clientVersion: r.client_version,
        instructions: decodeChangeset(bytes(r.changeset)),
      };
    }
  }

  lastIntegratedClientVersion(fileIdent: number): number {
    if (this.access) return this.access.getClientFile(this.realmId, fileIdent)?.lastIntegratedClientVersion ?? 0;
    return (this.st.clientFile.get(this.realmId, fileIdent) as number | undefined) ?? 0;
  }

  /** The version range of the file's stored reciprocal rows (loaded once, then kept up to date). */
  private reciprocalRange(fileIdent: number): ReciprocalRange | undefined {
    const c = this.access?.cachedRealm(this.realmId);
    if (!c) return undefined;
    let range = c.reciprocal.get(fileIdent);
    if (!range) {
      const row = this.st.reciprocalRange.get(this.realmId, fileIdent) as { min: number | null; max: number | null };
      range = row.min === null || row.max === null ? { min: Infinity, max: -Infinity } : { min: row.min, max: row.max };
      c.reciprocal.set(fileIdent, range);
    }
    return range;
  }

  getReciprocal(fileIdent: number, version: number): Instruction[] | undefined {
    const range = this.reciprocalRange(fileIdent);
    if (range && (version < range.min || version > range.max)) return undefined;
    const b = this.st.getReciprocal.get(this.realmId, fileIdent, version) as Buffer | undefined;
    return b === undefined ? undefined : decodeChangeset(bytes(b));
  }

  setReciprocal(fileIdent: number, version: number, instructions: Instruction[]): void {
    this.st.setReciprocal.run(this.realmId, fileIdent, version, encodeChangeset(instructions));
    const range = this.reciprocalRange(fileIdent);
    if (range) {
      range.min = Math.min(range.min, version);
      range.max = Math.max(range.max, version);
    }
  }

  trimReciprocal(fileIdent: number, upTo: number): void {
    const range = this.reciprocalRange(fileIdent);
    // Skip the DELETE when no stored row is at or below `upTo` (the common case: every upload trims).
    if (!range || range.min <= upTo) {
      this.st.trimReciprocal.run(this.realmId, fileIdent, upTo);
      if (range) {
        if (range.max <= upTo) {
          range.min = Infinity;
          range.max = -Infinity;
        } else range.min = upTo + 1;
      }
    }
    const c = this.access?.cachedRealm(this.realmId);
    const file = this.access?.getClientFile(this.realmId, fileIdent);
    if (file && upTo <= file.reciprocalBase) return; // the base only grows (MAX)
    this.st.setReciprocalBase.run(upTo, this.realmId, fileIdent);
    if (file && c) c.files.set(fileIdent, { ...file, reciprocalBase: upTo });
  }

  journaled(fileIdent: number, afterClientVersion: number, limit: number): JournaledUpload[] {
    const rows = this.st.journalAfter.all(this.realmId, fileIdent, afterClientVersion, limit) as {
      client_version: number;
      version: number;
      base_version: number;
      origin_timestamp: number;
      changeset: Buffer;
    }[];
    return rows.map((r) => ({
      clientVersion: r.client_version,
      version: r.version,
      lastIntegratedServerVersion: r.base_version,
      originTimestamp: r.origin_timestamp,
      instructions: decodeChangeset(bytes(r.changeset)),
    }));
  }

  journal(fileIdent: number, upload: JournaledUpload): void {
    const data = upload.data ?? encodeChangeset(upload.instructions);
    this.st.journalInsert.run(this.realmId, fileIdent, upload.clientVersion, upload.version, upload.lastIntegratedServerVersion, upload.originTimestamp, data);
  }

  clearJournal(fileIdent: number): void {
    this.st.journalClear.run(this.realmId, fileIdent);
  }

  append(entry: Omit<HistoryEntry, 'version'>): number {
    const file =
      entry.originFileIdent === 0
        ? undefined
        : this.access
          ? this.access.getClientFile(this.realmId, entry.originFileIdent)
          : (this.st.clientFile.get(this.realmId, entry.originFileIdent) as number | undefined);
    if (entry.originFileIdent !== 0 && file === undefined) {
      throw new TributaryError('BAD_CLIENT_FILE_IDENT', `no client file ${entry.originFileIdent} in realm ${this.realmId}`);
    }
    const c = this.access?.cachedRealm(this.realmId);
    const version = this.latestVersion() + 1;
    const data = encodeChangeset(entry.instructions);
    const previous =
      version === 1 ? 0 : c?.cumulative !== undefined ? c.cumulative : ((this.st.lastCumulative.get(this.realmId, version - 1) as number | undefined) ?? 0);
    const salt = randomSalt();
    this.st.insertHistory.run(
      this.realmId,
      version,
      salt,
      entry.originFileIdent,
      entry.originTimestamp,
      entry.clientVersion,
      data,
      data.length,
      previous + data.length,
    );
    this.st.setLatest.run(version, salt, this.realmId);
    if (entry.originFileIdent !== 0) this.st.setLastIntegrated.run(entry.clientVersion, this.realmId, entry.originFileIdent);
    if (c) {
      const stored: StoredHistoryEntry = {
        version,
        salt,
        originFileIdent: entry.originFileIdent,
        originTimestamp: entry.originTimestamp,
        clientVersion: entry.clientVersion,
        data,
        byteSize: data.length,
        cumulativeBytes: previous + data.length,
      };
      const decoded: HistoryEntry = {
        version,
        originFileIdent: entry.originFileIdent,
        originTimestamp: entry.originTimestamp,
        clientVersion: entry.clientVersion,
        instructions: entry.instructions,
      };
      this.access!.cache.appended(c, stored, decoded);
      if (typeof file === 'object') c.files.set(entry.originFileIdent, { ...file, lastIntegratedClientVersion: entry.clientVersion });
    }
    return version;
  }

  private latestRow(): { version: number; salt: number } {
    if (this.access) {
      const c = this.access.cachedRealm(this.realmId);
      if (!c) throw new TributaryError('STORAGE_FAILURE', `realm ${this.realmId} does not exist`);
      return { version: c.record.latestVersion, salt: c.record.latestSalt };
    }
    const row = this.st.latest.get(this.realmId) as { version: number; salt: number } | undefined;
    if (!row) throw new TributaryError('STORAGE_FAILURE', `realm ${this.realmId} does not exist`);
    return row;
  }
}

import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StateStore } from '../../changeset/state';
import { TributaryError } from '../../errors';
import { isBusy, preparePrivateDatabaseFile, takeExclusiveLock } from '../../shared/sqlite-file';
import { randomSalt } from './salt';
import { CachedRealm, SqliteCache } from './sqlite-cache';
import { AccountStatements, SqliteAccountReads, SqliteAccountWrites } from './sqlite-accounts';
import { DDL, MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema';
import { RealmStatements, SqliteRealmState, SqliteRealmTransaction, type RealmCacheAccess } from './sqlite-realm';
import type {
  ClientFileRecord,
  PermissionLevel,
  RealmRecord,
  ReadTransaction,
  RealmTransaction,
  StorageDriver,
  StoredHistoryEntry,
  UserRecord,
  WriteTransaction,
} from './types';

type Stmt = BetterSqlite3.Statement;

export const SQLITE_FILE_NAME = 'tributary.db';

interface UserRow {
  id: string;
  username: string | null;
  password_hash: string | null;
  is_admin: number;
  created_at: number;
}
interface RealmRow {
  id: number;
  path: string;
  owner: string | null;
  created_at: number;
  deleted: number;
  latest_version: number;
  latest_salt: number;
}
interface ClientFileRow {
  realm_id: number;
  ident: number;
  salt: number;
  last_integrated_client_version: number;
  upload_client_version: number;
  upload_server_version: number;
  reciprocal_base: number;
  last_seen: number;
}

function userFromRow(r: UserRow): UserRecord {
  return { id: r.id, username: r.username, passwordHash: r.password_hash, isAdmin: r.is_admin === 1, createdAt: r.created_at };
}
function realmFromRow(r: RealmRow): RealmRecord {
  return {
    id: r.id,
    path: r.path,
    owner: r.owner,
    createdAt: r.created_at,
    deleted: r.deleted === 1,
    latestVersion: r.latest_version,
    latestSalt: r.latest_salt,
  };
}
function clientFileFromRow(r: ClientFileRow): ClientFileRecord {
  return {
    realmId: r.realm_id,
    ident: r.ident,
    salt: r.salt,
    lastIntegratedClientVersion: r.last_integrated_client_version,
    uploadClientVersion: r.upload_client_version,
    uploadServerVersion: r.upload_server_version,
    reciprocalBase: r.reciprocal_base,
    lastSeen: r.last_seen,
  };
}

class Statements {
  readonly userById: Stmt;
  readonly userByName: Stmt;
  readonly users: Stmt;
  readonly insertUser: Stmt;
  readonly realmByPath: Stmt;
  readonly realms: Stmt;
  readonly realmById: Stmt;
  readonly insertRealm: Stmt;
  readonly permission: Stmt;
  readonly setPermission: Stmt;
  readonly deletePermission: Stmt;
  readonly clientFile: Stmt;
  readonly nextIdent: Stmt;
  readonly bumpIdent: Stmt;
  readonly insertClientFile: Stmt;
  readonly setUploadProgress: Stmt;
  readonly heartbeat: Stmt;
  readonly versionSalt: Stmt;
  readonly historyPage: Stmt;
  readonly cumulative: Stmt;
  readonly realm: RealmStatements;
  readonly accounts: AccountStatements;

  constructor(db: BetterSqlite3.Database) {
    this.userById = db.prepare('SELECT * FROM users WHERE id = ?');
    this.userByName = db.prepare('SELECT * FROM users WHERE username = ?');
    this.users = db.prepare('SELECT * FROM users ORDER BY created_at, id');
    this.insertUser = db.prepare('INSERT INTO users (id, username, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?)');
    this.realmByPath = db.prepare('SELECT * FROM realms WHERE path = ?');
    this.realms = db.prepare('SELECT * FROM realms ORDER BY id');
    this.realmById = db.prepare('SELECT * FROM realms WHERE id = ?');
    this.insertRealm = db.prepare('INSERT INTO realms (path, owner, created_at) VALUES (?, ?, ?)');
    this.permission = db.prepare('SELECT level FROM permissions WHERE realm_path = ? AND user_id = ?').pluck();
    this.setPermission = db.prepare('INSERT OR REPLACE INTO permissions (realm_path, user_id, level) VALUES (?, ?, ?)');
    this.deletePermission = db.prepare('DELETE FROM permissions WHERE realm_path = ? AND user_id = ?');
    this.clientFile = db.prepare('SELECT * FROM client_files WHERE realm_id = ? AND ident = ?');
    this.nextIdent = db.prepare('SELECT next_file_ident FROM realms WHERE id = ?').pluck();
    this.bumpIdent = db.prepare('UPDATE realms SET next_file_ident = next_file_ident + 1 WHERE id = ?');
    this.insertClientFile = db.prepare('INSERT INTO client_files (realm_id, ident, salt, last_seen) VALUES (?, ?, ?, ?)');
    this.heartbeat = db.prepare("INSERT INTO meta (key, value) VALUES ('heartbeat', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.setUploadProgress = db.prepare(
      'UPDATE client_files SET upload_client_version = ?, upload_server_version = ?, last_seen = ? WHERE realm_id = ? AND ident = ?',
    );
    this.versionSalt = db.prepare('SELECT salt FROM history WHERE realm_id = ? AND version = ?').pluck();
    this.historyPage = db.prepare(
      'SELECT version, salt, origin_file_ident, origin_timestamp, client_version, changeset, byte_size, cumulative_bytes FROM history WHERE realm_id = ? AND version > ? ORDER BY version LIMIT ?',
    );
    this.cumulative = db.prepare('SELECT cumulative_bytes FROM history WHERE realm_id = ? AND version = ?').pluck();
    this.realm = new RealmStatements(db);
    this.accounts = new AccountStatements(db);
  }
}

class SqliteReadTransaction implements ReadTransaction {
  constructor(
    protected readonly st: Statements,
    readonly cache: SqliteCache,
    readonly accounts: SqliteAccountReads = new SqliteAccountReads(st.accounts),
  ) {}

  /** The cached rows of a realm, loading its row on a miss; undefined when the realm does not exist. */
  cachedRealm(id: number): CachedRealm | undefined {
    const hit = this.cache.realm(id);
    if (hit) return hit;
    const r = this.st.realmById.get(id) as RealmRow | undefined;
    return r && this.cache.putRealm(realmFromRow(r));
  }

  getUserById(id: string): UserRecord | undefined {
    const r = this.st.userById.get(id) as UserRow | undefined;
    return r && userFromRow(r);
  }
  getUserByName(username: string): UserRecord | undefined {
    const r = this.st.userByName.get(username) as UserRow | undefined;
    return r && userFromRow(r);
  }
  listUsers(): UserRecord[] {
    return (this.st.users.all() as UserRow[]).map(userFromRow);
  }
  getRealm(realmPath: string): RealmRecord | undefined {
    const hit = this.cache.realmByPath(realmPath);
    if (hit) return hit.record;
    const r = this.st.realmByPath.get(realmPath) as RealmRow | undefined;
    return r && this.cache.putRealm(realmFromRow(r)).record;
  }
  getRealmById(id: number): RealmRecord | undefined {
    return this.cachedRealm(id)?.record;
  }
  listRealms(): RealmRecord[] {
    return (this.st.realms.all() as RealmRow[]).map(realmFromRow);
  }
  getPermission(realmPath: string, userId: string): PermissionLevel | undefined {
    return this.st.permission.get(realmPath, userId) as PermissionLevel | undefined;
  }
  getClientFile(realmId: number, ident: number): ClientFileRecord | undefined {
    const c = this.cachedRealm(realmId);
    const hit = c?.files.get(ident);
    if (hit) return hit;
    const r = this.st.clientFile.get(realmId, ident) as ClientFileRow | undefined;
    if (!r) return undefined;
    const file = clientFileFromRow(r);
    c?.files.set(ident, file);
    return file;
  }
  versionSalt(realmId: number, version: number): number | undefined {
    if (version === 0) return 0;
    const c = this.cachedRealm(realmId);
    if (c) {
      if (version === c.record.latestVersion) return c.record.latestSalt;
      if (version > c.record.latestVersion) return undefined;
      const e = c.at(version);
      if (e) return e.stored.salt;
    }
    return this.st.versionSalt.get(realmId, version) as number | undefined;
  }
  readHistory(realmId: number, after: number, maxBytes: number, maxCount = 10_000): StoredHistoryEntry[] {
    const out: StoredHistoryEntry[] = [];
    let total = 0;
    const cached = this.cachedRealm(realmId)?.historyAfter(after);
    if (cached) {
      for (const e of cached) {
        if (out.length >= maxCount || total >= maxBytes) break;
        out.push(e.stored);
        total += e.stored.byteSize;
      }
      return out;
    }
    // Pages keep memory bounded when a realm has a long history of small changesets.
    while (out.length < maxCount && total < maxBytes) {
      const page = this.st.historyPage.all(realmId, after, Math.min(256, maxCount - out.length)) as {
        version: number;
        salt: number;
        origin_file_ident: number;
        origin_timestamp: number;
        client_version: number;
        changeset: Buffer;
        byte_size: number;
        cumulative_bytes: number;
      }[];
      if (page.length === 0) break;
      for (const r of page) {
        out.push({
          version: r.version,
          salt: r.salt,
          originFileIdent: r.origin_file_ident,
          originTimestamp: r.origin_timestamp,
          clientVersion: r.client_version,
          data: new Uint8Array(r.changeset.buffer, r.changeset.byteOffset, r.changeset.byteLength),
          byteSize: r.byte_size,
          cumulativeBytes: r.cumulative_bytes,
        });
        total += r.byte_size;
        after = r.version;
        if (total >= maxBytes) break;
      }
    }
    return out;
  }
  cumulativeBytes(realmId: number, version: number): number {
    if (version === 0) return 0;
    const c = this.cachedRealm(realmId);
    if (c) {
      if (version === c.record.latestVersion && c.cumulative !== undefined) return c.cumulative;
      const e = c.at(version);
      if (e) return e.stored.cumulativeBytes;
    }
    return (this.st.cumulative.get(realmId, version) as number | undefined) ?? 0;
  }
  realmState(realmId: number): StateStore {
    return new SqliteRealmState(this.st.realm, realmId);
  }
}

class SqliteWriteTransaction extends SqliteReadTransaction implements WriteTransaction, RealmCacheAccess {
  declare readonly accounts: SqliteAccountWrites;
  constructor(
    st: Statements,
    cache: SqliteCache,
    private readonly db: BetterSqlite3.Database,
  ) {
    super(st, cache, new SqliteAccountWrites(st.accounts));
  }

  createUser(user: UserRecord): void {
    try {
      this.st.insertUser.run(user.id, user.username, user.passwordHash, user.isAdmin ? 1 : 0, user.createdAt);
      if (user.username !== null) this.accounts.addAccount({ provider: 'password', providerId: user.username, userId: user.id, createdAt: user.createdAt, confirmedAt: null });
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new TributaryError('USER_EXISTS', 'a user with that name exists');
      throw e;
    }
  }
  createRealm(realmPath: string, owner: string | null, createdAt: number): RealmRecord {
    const id = Number(this.st.insertRealm.run(realmPath, owner, createdAt).lastInsertRowid);
    const record: RealmRecord = { id, path: realmPath, owner, createdAt, deleted: false, latestVersion: 0, latestSalt: 0 };
    const c = this.cache.putRealm(record);
    c.cumulative = 0;
    return record;
  }
  setPermission(realmPath: string, userId: string, level: PermissionLevel | null): void {
    if (level === null) this.st.deletePermission.run(realmPath, userId);
    else this.st.setPermission.run(realmPath, userId, level);
  }
  allocateClientFile(realmId: number, now: number): ClientFileRecord {
    const ident = this.st.nextIdent.get(realmId) as number | undefined;
    if (ident === undefined) throw new TributaryError('STORAGE_FAILURE', `realm ${realmId} does not exist`);
    this.st.bumpIdent.run(realmId);
    const salt = randomSalt();
    this.st.insertClientFile.run(realmId, ident, salt, now);
    const file: ClientFileRecord = {
      realmId,
      ident,
      salt,
      lastIntegratedClientVersion: 0,
      uploadClientVersion: 0,
      uploadServerVersion: 0,
      reciprocalBase: 0,
      lastSeen: now,
    };
    const c = this.cache.realm(realmId);
    if (c) {
      c.files.set(ident, file);
      c.reciprocal.set(ident, { min: Infinity, max: -Infinity });
    }
    return file;
  }
  heartbeat(now: number): void {
    this.st.heartbeat.run(String(now));
  }
  setUploadProgress(realmId: number, ident: number, clientVersion: number, serverVersion: number, now: number): void {
    this.st.setUploadProgress.run(clientVersion, serverVersion, now, realmId, ident);
    const c = this.cache.realm(realmId);
    const f = c?.files.get(ident);
    if (f) c!.files.set(ident, { ...f, uploadClientVersion: clientVersion, uploadServerVersion: serverVersion, lastSeen: now });
  }
  realm(realmId: number): RealmTransaction {
    return new SqliteRealmTransaction(this.st.realm, realmId, this);
  }
  savepoint<T>(fn: () => T): T {
    // A better-sqlite3 transaction function called inside a transaction runs as a SAVEPOINT.
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      // The savepoint's writes are undone: so are any cache updates (of any realm) they made.
      this.cache.clear();
      throw e;
    }
  }
}

/** The pid of the server holding a data directory, written for the next one's error message. */
const PID_FILE = 'server.pid';

function writePid(dataPath: string): void {
  try {
    fs.writeFileSync(path.join(dataPath, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  } catch {
    // informational only
  }
}

function inUse(dataPath: string): TributaryError {
  let holder = '';
  try {
    holder = ` (pid ${fs.readFileSync(path.join(dataPath, PID_FILE), 'utf8').trim()})`;
  } catch {
    // no pid file: still in use
  }
  return new TributaryError('DATA_DIR_IN_USE', `the data directory ${path.resolve(dataPath)} is in use by another tributary server${holder}; stop it or use another --data-path`);
}

/** A data directory problem as the one line a user needs: which path and why. */
export function unwritable(dataPath: string, e: unknown): TributaryError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'EROFS' ? 'is on a read-only file system' : err.code === 'EACCES' || err.code === 'EPERM' ? 'is not writable by this user' : err.code === 'ENOTDIR' || err.code === 'EEXIST' ? 'is not a folder' : `cannot be used (${err.code ?? err.message})`;
  return new TributaryError('DATA_DIR_UNWRITABLE', `the data directory ${path.resolve(dataPath)} ${why}: ${err.path ?? ''} ${err.code ?? ''}`.trim(), { cause: e });
}

function storageFailure(e: unknown): unknown {
  if (e instanceof TributaryError) return e;
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return new TributaryError('STORAGE_FAILURE', `storage failure (${code}): ${(e as Error).message}`, { cause: e });
  }
  return e;
}

/**
 * The embedded storage driver: one SQLite database (`<dataPath>/tributary.db`) in WAL mode.
 * better-sqlite3 is synchronous: `write` runs its body and commits on the event loop, but the
 * commit does not fsync (`synchronous=NORMAL`): the WAL file is fsync'd afterwards on libuv's
 * thread pool, once for every commit made before that fsync started, and `write` resolves only
 * then. So a transaction survives power loss before anything acknowledges it, and the event loop
 * keeps serving other sessions while the disk flushes (an fsync on the loop stalled every session
 * for its duration: up to several milliseconds each, many times a second under load). `read`
 * resolves after the fsync of every commit it could see, so nothing that could still be lost
 * leaves the server (a DOWNLOAD, a snapshot, an account).
 */
export class SqliteDriver implements StorageDriver {
  readonly kind = 'sqlite';
  private readonly db: BetterSqlite3.Database;
  private readonly st: Statements;
  private readonly cache: SqliteCache;
  private closed = false;
  /** The WAL file fsync'd after commits; null in memory. */
  private readonly walFile: string | null;
  /** Commits made, and how many of them are known to be on disk. */
  private committed = 0;
  private synced = 0;
  private syncing: Promise<void> | null = null;
  private walFd: number | null = null;
  /** Counters for tests and metrics: fsyncs of the WAL, and commits they made durable. */
  readonly syncStats = { fsyncs: 0, commits: 0 };

  /**
   * Opens (creating when missing) the database in `dataPath`, or at `:memory:` for tests.
   * `historyCacheBytes` bounds the newest history kept in memory for downloads and merges.
   */
  constructor(dataPath: string | ':memory:', options: { historyCacheBytes?: number } = {}) {
    this.cache = new SqliteCache(options.historyCacheBytes ?? 8 * 1024 * 1024);
    let file = ':memory:';
    if (dataPath !== ':memory:') {
      file = path.join(dataPath, SQLITE_FILE_NAME);
      try {
        preparePrivateDatabaseFile(file);
      } catch (e) {
        throw unwritable(dataPath, e);
      }
    }
    this.walFile = file === ':memory:' ? null : `${file}-wal`;
    this.db = new Database(file);
    try {
      // One server per data directory: the file lock is the operating system's, so it goes away
      // with the process (kill -9 included) and a restart never finds a stale lock.
      if (file !== ':memory:') takeExclusiveLock(this.db);
      this.db.pragma('journal_mode = WAL');
      // Commits write the WAL without an fsync; write() fsyncs it off the event loop (see above).
      // Checkpoints still fsync the WAL before, and the database after, copying pages back.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = OFF');
      this.db.pragma('busy_timeout = 5000');
      this.migrate();
      this.st = new Statements(this.db);
    } catch (e) {
      this.db.close();
      if (isBusy(e)) throw inUse(dataPath);
      throw storageFailure(e);
    }
    if (file !== ':memory:') writePid(dataPath);
  }

  private migrate(): void {
    this.db.exec(DDL);
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
    if (row === undefined) {
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    } else if (Number(row) > SCHEMA_VERSION) {
      throw new TributaryError('STORAGE_FAILURE', `database schema version ${row} is newer than this server supports (${SCHEMA_VERSION})`);
    } else if (Number(row) < SCHEMA_VERSION) {
      this.db.transaction(() => {
        for (let v = Number(row); v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
        this.db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
      })();
    }
  }

  async read<T>(fn: (tx: ReadTransaction) => T): Promise<T> {
    // What a read returns may leave the server: only once every commit it can see is on disk. It
    // reads now and waits for exactly those; commits made while it waits are not in what it read.
    // (Reading after the wait instead chased every later commit: while a long merge committed
    // slice after slice, each DOWNLOAD to anyone else waited for fsync after fsync.)
    // Called from inside a write's body, it reads once that write has committed (never its
    // uncommitted changes), and so waits for that commit's fsync too.
    if (this.db.inTransaction) await undefined;
    const upTo = this.committed;
    const result = this.readSync(fn);
    if (this.synced < upTo) await this.durable(upTo);
    return result;
  }

  /**
   * Synchronous read. No BEGIN/COMMIT is needed for a consistent view: the driver owns its one
   * connection and `fn` runs without yielding, so no write can land between its statements.
   */
  readSync<T>(fn: (tx: ReadTransaction) => T): T {
    this.checkOpen();
    try {
      return fn(new SqliteReadTransaction(this.st, this.cache));
    } catch (e) {
      throw storageFailure(e);
    }
  }

  async write<T>(fn: (tx: WriteTransaction) => T): Promise<T> {
    this.checkOpen();
    let result: T;
    try {
      result = this.db.transaction(() => fn(new SqliteWriteTransaction(this.st, this.cache, this.db))).immediate();
    } catch (e) {
      // Rolled back (or COMMIT failed): forget whatever the body cached.
      this.cache.clear();
      throw storageFailure(e);
    }
    await this.durable(++this.committed);
    return result;
  }

  /**
   * Resolves once commit number `commit` is on disk: one fsync of the WAL at a time, each covering
   * every commit made before it started (commits made while one runs share the next).
   */
  private async durable(commit: number): Promise<void> {
    if (!this.walFile) {
      this.synced = Math.max(this.synced, commit);
      return;
    }
    while (this.synced < commit) {
      this.syncing ??= this.syncWal().finally(() => (this.syncing = null));
      await this.syncing;
    }
  }

  private async syncWal(): Promise<void> {
    const upTo = this.committed;
    try {
      // One descriptor for the connection's life: SQLite keeps the WAL file (the same inode,
      // truncated at most) while its connection is open; opening it per fsync cost more CPU on
      // the event loop than the commit itself.
      this.walFd ??= await new Promise<number>((resolve, reject) => fs.open(this.walFile!, 'r+', (e, fd) => (e ? reject(e) : resolve(fd))));
      const fd = this.walFd;
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      this.closeWalFd();
      const error = e as NodeJS.ErrnoException;
      throw new TributaryError('STORAGE_FAILURE', `storage failure (${error.code ?? 'fsync'}): cannot flush ${this.walFile} to disk: ${error.message}`, { cause: e });
    }
    this.syncStats.fsyncs++;
    this.syncStats.commits += upTo - this.synced;
    this.synced = upTo;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Commits whose fsync is still running finish it first (closing checkpoints the WAL anyway).
    await this.syncing?.catch(() => undefined);
    this.closeWalFd();
    this.db.close();
  }

  private closeWalFd(): void {
    if (this.walFd === null) return;
    try {
      fs.closeSync(this.walFd);
    } catch {
      // already gone
    }
    this.walFd = null;
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('STORAGE_FAILURE', 'the database is closed');
  }
}

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { preparePrivateDatabaseFile } from '../shared/sqlite-file';

/**
 * The SQLite layout of a client replica (docs/client.md, "The replica file"). One file per
 * (server, user, realm). Bump {@link REPLICA_FORMAT} when it changes, and migrate the older
 * formats in {@link openReplicaSchema}.
 *
 * - `meta`: key → value (format, file ident and salt, binding, cursors, HLC, counters).
 * - `schemas`: one encoded ObjectSchema per type.
 * - `objects`: one encoded ObjectRecord per object, stored in (type, seq) order — `seq` is the
 *   local creation order (a deleted and re-created object moves to the end, as in Realm) — and
 *   found by (type, keyString(id)) through a unique index of small entries. New objects append
 *   to their type's last page whatever their keys (UUIDs, ObjectIds), so a transaction of new
 *   objects writes few pages.
 * - `history`: local changesets not yet both acknowledged and integrated by the server: the
 *   original encoded instructions (what is uploaded) and the rebased copy used to transform
 *   downloads (NULL while it equals the original).
 *
 * Format 1 clustered `objects` by (type, key), with a second index on (type, seq): inserts with
 * scattered keys split pages all over the table (9 WAL pages per commit of 12 new objects).
 */
export const REPLICA_FORMAT = 2;

const OBJECTS_DDL = `
CREATE TABLE IF NOT EXISTS objects (
  type TEXT NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (type, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (type, key);
`;

export const REPLICA_DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schemas (
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL
) WITHOUT ROWID;
${OBJECTS_DDL}
CREATE TABLE IF NOT EXISTS history (
  client_version INTEGER PRIMARY KEY,
  origin_timestamp INTEGER NOT NULL,
  base_server_version INTEGER NOT NULL,
  changeset BLOB NOT NULL,
  rebased BLOB
);
`;

/**
 * Creates the tables of a new replica file, or brings an older file to {@link REPLICA_FORMAT}
 * in one transaction, and records the format. Format 1 files wrote no `format` row: they are
 * recognised by their `objects_order` index. Returns the file's format afterwards (a newer
 * format than this code knows is left alone, for the caller to refuse).
 */
export function openReplicaSchema(db: Database.Database): number {
  const names = new Set(db.prepare("SELECT name FROM sqlite_master WHERE name IN ('meta', 'objects_order')").pluck().all() as string[]);
  const recorded = names.has('meta') ? (db.prepare("SELECT value FROM meta WHERE key = 'format'").pluck().get() as number | undefined) : undefined;
  // Current already (every reopen): nothing to create or migrate.
  if (recorded !== undefined && recorded >= REPLICA_FORMAT) return recorded;
  // One exec, one transaction: a new file's tables (or format 1's objects moved over) and its format.
  const migrate = names.has('objects_order')
    ? `ALTER TABLE objects RENAME TO objects_format1; DROP INDEX objects_order; ${OBJECTS_DDL}
       INSERT INTO objects (type, seq, key, data) SELECT type, seq, key, data FROM objects_format1; DROP TABLE objects_format1;`
    : '';
  db.exec(`BEGIN IMMEDIATE; ${migrate} ${REPLICA_DDL}
    INSERT INTO meta (key, value) VALUES ('format', ${REPLICA_FORMAT}) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    COMMIT;`);
  return REPLICA_FORMAT;
}

export const META_DEFAULTS = {
  format: REPLICA_FORMAT,
  fileIdent: 0,
  fileSalt: 0,
  serverUrl: '',
  realmPath: '',
  userIdentity: '',
  /** Last HLC timestamp issued or observed; the clock never goes behind it after a restart. */
  hlc: 0,
  /** Last client version ever produced (history rows may have been trimmed). */
  lastClientVersion: 0,
  /** Next local creation sequence number. */
  nextSeq: 1,
  downloadServerVersion: 0,
  downloadClientVersion: 0,
  latestServerVersion: 0,
  latestServerVersionSalt: 0,
  /** The server's upload cursor (acknowledgement): client version and its base server version. */
  ackClientVersion: 0,
  ackServerVersion: 0,
  /** Highest client version sent in an UPLOAD (informational; resends start from the ack). */
  uploadedClientVersion: 0,
  /** realm-js `schemaVersion` of the file, local only; -1 until first set (a new file). */
  schemaVersion: -1,
};

export type MetaKey = keyof typeof META_DEFAULTS;
export type Meta = { -readonly [K in MetaKey]: (typeof META_DEFAULTS)[K] };

/** The bytes of a new, empty replica file: an in-memory database given the tables, serialized once. */
let template: Buffer | null = null;

function replicaTemplate(): Buffer {
  if (!template) {
    const db = new Database(':memory:');
    try {
      openReplicaSchema(db);
      template = db.serialize();
    } finally {
      db.close();
    }
    // A WAL database already (file format read and write versions 2, header bytes 18 and 19): the
    // opener's `journal_mode = WAL` then has nothing to convert (switching a new file over cost
    // about 60 µs of every open that created one).
    template[18] = 2;
    template[19] = 2;
  }
  return template;
}

/**
 * Prepares the file of a replica before SQLite opens it, as {@link preparePrivateDatabaseFile}
 * does (private folder and file), and gives a file that does not exist yet its tables and format
 * by copying a template in: creating them with SQL cost a third of opening a new replica (1,000
 * clients each opening a realm of their own spent 0.1–0.4 ms each on it). The copy appears whole
 * or not at all (written beside it, then hard-linked into place, which fails if another process
 * created the file first); where that cannot be done (no hard links on the file system) the file
 * is created empty and {@link openReplicaSchema} makes the tables as before.
 *
 * Returns true when this call created the file from the template: it is then known to be empty and
 * current, and the opener need not check its format or read its meta. A `-wal` or `-shm` file left
 * beside a replica that no longer exists (its database file deleted alone) is removed then: SQLite
 * would otherwise replay the old file's committed frames into the new one.
 */
export function prepareReplicaFile(file: string): boolean {
  if (fs.existsSync(file)) {
    preparePrivateDatabaseFile(file);
    return false;
  }
  const dir = nodePath.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staged = `${file}.${randomBytes(6).toString('hex')}.new`;
  let created = false;
  try {
    fs.writeFileSync(staged, replicaTemplate(), { mode: 0o600, flag: 'wx' });
    fs.linkSync(staged, file);
    created = true;
  } catch (e) {
    // EEXIST: another process created it first, which is fine. Anything else (a file system
    // without hard links, a full disk): the plain way below, which reports what is wrong.
    void e;
  } finally {
    fs.rmSync(staged, { force: true });
  }
  if (!created) {
    preparePrivateDatabaseFile(file);
    return false;
  }
  // Made 0600 by this call, in a folder that existed or was made 0700 (as preparePrivateDatabaseFile would).
  for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  return true;
}

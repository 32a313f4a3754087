/**
 * The SQLite layout of a client replica (docs/client.md, "The replica file"). One file per
 * (server, user, realm). Bump {@link REPLICA_FORMAT} when it changes.
 *
 * - `meta`: key → value (file ident and salt, binding, cursors, HLC, counters).
 * - `schemas`: one encoded ObjectSchema per type.
 * - `objects`: one encoded ObjectRecord per (type, keyString(id)); `seq` is the local creation
 *   order (a deleted and re-created object moves to the end, as in Realm).
 * - `history`: local changesets not yet both acknowledged and integrated by the server: the
 *   original encoded instructions (what is uploaded) and the rebased copy used to transform
 *   downloads (NULL while it equals the original).
 */
export const REPLICA_FORMAT = 1;

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
CREATE TABLE IF NOT EXISTS objects (
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (type, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_order ON objects (type, seq);
CREATE TABLE IF NOT EXISTS history (
  client_version INTEGER PRIMARY KEY,
  origin_timestamp INTEGER NOT NULL,
  base_server_version INTEGER NOT NULL,
  changeset BLOB NOT NULL,
  rebased BLOB
);
`;

/** Keys of the `meta` table, with their defaults. */
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

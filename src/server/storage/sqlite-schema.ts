/**
 * Tables of the embedded store (data/tributary.db). Bump SCHEMA_VERSION and add a migration step
 * when they change; the driver refuses a database with a newer version than it knows.
 *
 * Changesets, reciprocal changesets, records and object schemas are stored in the binary formats of
 * src/changeset/codec.ts, so downloads send history bytes without re-encoding.
 */
export const SCHEMA_VERSION = 1;

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS users (
  id            TEXT PRIMARY KEY,
  username      TEXT UNIQUE,
  password_hash TEXT,
  is_admin      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS realms (
  id               INTEGER PRIMARY KEY,
  path             TEXT NOT NULL UNIQUE,
  owner            TEXT,
  created_at       INTEGER NOT NULL,
  deleted          INTEGER NOT NULL DEFAULT 0,
  latest_version   INTEGER NOT NULL DEFAULT 0,
  latest_salt      INTEGER NOT NULL DEFAULT 0,
  next_file_ident  INTEGER NOT NULL DEFAULT 1
);

-- One row per integrated changeset. origin_file_ident 0 = written by the server itself.
CREATE TABLE IF NOT EXISTS history (
  realm_id          INTEGER NOT NULL,
  version           INTEGER NOT NULL,
  salt              INTEGER NOT NULL,
  origin_file_ident INTEGER NOT NULL,
  origin_timestamp  INTEGER NOT NULL,
  client_version    INTEGER NOT NULL,
  changeset         BLOB NOT NULL,
  byte_size         INTEGER NOT NULL,
  cumulative_bytes  INTEGER NOT NULL,
  PRIMARY KEY (realm_id, version)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS client_files (
  realm_id                        INTEGER NOT NULL,
  ident                           INTEGER NOT NULL,
  salt                            INTEGER NOT NULL,
  last_integrated_client_version  INTEGER NOT NULL DEFAULT 0,
  upload_client_version           INTEGER NOT NULL DEFAULT 0,
  upload_server_version           INTEGER NOT NULL DEFAULT 0,
  reciprocal_base                 INTEGER NOT NULL DEFAULT 0,
  last_seen                       INTEGER NOT NULL,
  PRIMARY KEY (realm_id, ident)
) WITHOUT ROWID;

-- Transformed copies of history entries as one client file will see them. A changeset that the
-- transform emptied is stored as an encoded empty changeset: "discarded" is a row, "not yet
-- transformed" is no row.
CREATE TABLE IF NOT EXISTS reciprocal_history (
  realm_id  INTEGER NOT NULL,
  ident     INTEGER NOT NULL,
  version   INTEGER NOT NULL,
  changeset BLOB NOT NULL,
  PRIMARY KEY (realm_id, ident, version)
) WITHOUT ROWID;

-- Object state. seq (the rowid) keeps creation order; a replace keeps its seq.
CREATE TABLE IF NOT EXISTS objects (
  seq      INTEGER PRIMARY KEY,
  realm_id INTEGER NOT NULL,
  type     TEXT NOT NULL,
  key      TEXT NOT NULL,
  record   BLOB NOT NULL,
  UNIQUE (realm_id, type, key)
);
CREATE INDEX IF NOT EXISTS objects_by_type ON objects (realm_id, type, seq);

CREATE TABLE IF NOT EXISTS schemas (
  realm_id INTEGER NOT NULL,
  name     TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  schema   BLOB NOT NULL,
  PRIMARY KEY (realm_id, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS permissions (
  realm_path TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  level      TEXT NOT NULL CHECK (level IN ('read', 'write', 'manage')),
  PRIMARY KEY (realm_path, user_id)
) WITHOUT ROWID;
`;

/**
 * Tables of the embedded store (data/tributary.db). Bump SCHEMA_VERSION and add a migration step
 * when they change; the driver refuses a database with a newer version than it knows.
 *
 * Changesets, reciprocal changesets, records and object schemas are stored in the binary formats of
 * src/changeset/codec.ts, so downloads send history bytes without re-encoding.
 */
export const SCHEMA_VERSION = 3;

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

-- The upload journal: a client file's changesets, as uploaded, whose merge changed history entries
-- as that client sees them, since the journal was last emptied. Replayed over reciprocal_history it
-- gives the client's current reciprocal copies (which are kept in memory, not written back); emptied
-- once the client's uploads are based past every journaled version.
CREATE TABLE IF NOT EXISTS upload_journal (
  realm_id         INTEGER NOT NULL,
  ident            INTEGER NOT NULL,
  client_version   INTEGER NOT NULL,
  version          INTEGER NOT NULL,
  base_version     INTEGER NOT NULL,
  origin_timestamp INTEGER NOT NULL,
  changeset        BLOB NOT NULL,
  PRIMARY KEY (realm_id, ident, client_version)
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

-- user_id '*' is everyone.
CREATE TABLE IF NOT EXISTS permissions (
  realm_path TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  level      TEXT NOT NULL CHECK (level IN ('read', 'write', 'manage')),
  updated_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm_path, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS permissions_by_user ON permissions (user_id);

-- Login identities: (provider, provider_id) → user. Password users have ('password', username).
CREATE TABLE IF NOT EXISTS accounts (
  provider     TEXT NOT NULL,
  provider_id  TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  confirmed_at INTEGER,
  PRIMARY KEY (provider, provider_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_user ON accounts (user_id);

-- Refresh tokens by jti; rotated on use within a family (one family per login).
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id         TEXT PRIMARY KEY,
  family     TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  revoked    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE IF NOT EXISTS admin_tokens (
  id         TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS permission_offers (
  token      TEXT PRIMARY KEY,
  realm_path TEXT NOT NULL,
  level      TEXT NOT NULL CHECK (level IN ('read', 'write', 'manage')),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Password-reset and e-mail-confirmation tokens (SHA-256 of the token only).
CREATE TABLE IF NOT EXISTS account_tokens (
  hash       TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  purpose    TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Steps from one schema version to the next, run in order inside one transaction after DDL (which
 * creates tables that are new in a later version). `MIGRATIONS[n]` upgrades version n to n + 1.
 */
export const MIGRATIONS: Record<number, string> = {
  // 1 → 2: grants get a time; password users get their account row; the old /__admin (whose
  // RealmFile.owner was a string, not a link to User) is retired under another name: the server
  // rebuilds /__admin in the ROS layout from the tables at start, and clients that had a copy of
  // the old one reset to the new one (their file ident is unknown there).
  1: `
ALTER TABLE permissions ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
INSERT OR IGNORE INTO accounts (provider, provider_id, user_id, created_at) SELECT 'password', username, id, created_at FROM users WHERE username IS NOT NULL;
UPDATE realms SET path = '/__admin-v1', deleted = 1 WHERE path = '/__admin';
`,
  // 2 → 3: the upload journal (its table comes with DDL). A server of version 2 would read the
  // reciprocal copies without the journal, so it must not open a database of version 3.
  2: `SELECT 1;`,
};

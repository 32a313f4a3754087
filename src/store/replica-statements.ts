import type Database from 'better-sqlite3';

/**
 * Every statement the replica runs on its own tables (replica-schema.ts), prepared once per open
 * file. Extensions prepare theirs through their ExtensionStorage, never here.
 */
const SQL = {
  metaAll: 'SELECT key, value FROM meta',
  metaPut: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  schemaAll: 'SELECT name, data FROM schemas ORDER BY seq',
  schemaPut: 'INSERT INTO schemas (name, seq, data) VALUES (?, (SELECT COUNT(*) FROM schemas), ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data',
  objectGet: 'SELECT data FROM objects WHERE type = ? AND key = ?',
  objectRow: 'SELECT seq, data FROM objects WHERE type = ? AND key = ?',
  objectRowsAll: 'SELECT type, key, seq, data FROM objects',
  objectUpdate: 'UPDATE objects SET data = ? WHERE type = ? AND key = ?',
  objectInsert: 'INSERT INTO objects (type, key, seq, data) VALUES (?, ?, ?, ?)',
  /** Inserts unless the (type, key) exists (`changes` 0). */
  objectInsertNew: 'INSERT INTO objects (type, key, seq, data) VALUES (?, ?, ?, ?) ON CONFLICT (type, key) DO NOTHING',
  objectDelete: 'DELETE FROM objects WHERE type = ? AND key = ?',
  objectsOfType: 'SELECT key, data FROM objects WHERE type = ? ORDER BY seq',
  keysOfType: 'SELECT key FROM objects WHERE type = ? ORDER BY seq',
  keysWithSeqOfType: 'SELECT key, seq FROM objects WHERE type = ? ORDER BY seq',
  countOfType: 'SELECT COUNT(*) AS n FROM objects WHERE type = ?',
  historyInsert: 'INSERT INTO history (client_version, origin_timestamp, base_server_version, changeset, rebased) VALUES (?, ?, ?, ?, NULL)',
  historyAfter: 'SELECT client_version, origin_timestamp, base_server_version, changeset, rebased FROM history WHERE client_version > ? ORDER BY client_version',
  historySetRebased: 'UPDATE history SET rebased = ? WHERE client_version = ?',
  historyTrim: 'DELETE FROM history WHERE client_version <= ?',
  historyClear: 'DELETE FROM history',
  historyCount: 'SELECT COUNT(*) AS n FROM history',
};

export type ReplicaStatements = { readonly [K in keyof typeof SQL]: Database.Statement };

/**
 * The statements, each prepared on first use and kept: opening a replica prepared all of them,
 * a third of a millisecond per file, most of it for statements a short-lived replica never runs
 * (1,000 clients connecting spent 0.3 s of CPU in it).
 */
export function prepareStatements(db: Database.Database): ReplicaStatements {
  const statements = {} as Record<keyof typeof SQL, Database.Statement>;
  for (const name of Object.keys(SQL) as (keyof typeof SQL)[]) {
    Object.defineProperty(statements, name, {
      enumerable: true,
      configurable: true,
      get() {
        const statement = db.prepare(SQL[name]);
        Object.defineProperty(statements, name, { value: statement, enumerable: true, writable: false });
        return statement;
      },
    });
  }
  return statements;
}

/** A row of `history`. */
export interface HistoryRow {
  client_version: number;
  origin_timestamp: number;
  base_server_version: number;
  changeset: Uint8Array;
  rebased: Uint8Array | null;
}

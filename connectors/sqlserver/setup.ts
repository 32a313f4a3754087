import { connectorError } from '../kit/errors';
import type { Sql } from './db';
import type { ResolvedMapping } from './mapping';
import { DATABASE_STATE, setupStatements, TRACKED_TABLES } from './tsql';

/**
 * What the connector needs of the database, checked at every start and by `test`: Change Tracking
 * on the database and on each mapped table, and snapshot isolation allowed (loads and polls read
 * one consistent snapshot). Each missing piece is its own coded error printing the exact statement
 * that turns it on.
 */

export interface DatabaseState {
  name: string;
  changeTracking: boolean;
  snapshotIsolation: boolean;
  version: string;
}

export async function readDatabaseState(db: Sql): Promise<DatabaseState> {
  const r = (await db.query(DATABASE_STATE)).rows[0]!;
  return { name: String(r.name), changeTracking: Number(r.change_tracking) > 0, snapshotIsolation: Number(r.snapshot_isolation) === 1, version: String(r.version ?? '') };
}

/** Change Tracking and snapshot isolation on the database, or the coded error with the ALTER DATABASE statement. */
export function checkDatabase(s: DatabaseState): void {
  if (!s.changeTracking) {
    throw connectorError('SQLSERVER_CHANGE_TRACKING_OFF', `Change Tracking is off on database ${s.name}; run:\n  ${setupStatements.databaseChangeTracking(s.name)}\n(retention: keep it longer than the connector may be stopped; a table whose changes were cleaned up is reloaded)`);
  }
  if (!s.snapshotIsolation) {
    throw connectorError('SQLSERVER_SNAPSHOT_ISOLATION_OFF', `database ${s.name} does not allow snapshot isolation, which the connector's loads and polls need; run:\n  ${setupStatements.snapshotIsolation(s.name)}`);
  }
}

/** Change Tracking on every mapped table, or the coded error with one ALTER TABLE statement per table. */
export async function checkTables(db: Sql, mapping: ResolvedMapping): Promise<void> {
  const tracked = new Set((await db.query(TRACKED_TABLES)).rows.map((r) => `${String(r.schema_name)}.${String(r.name)}`.toLowerCase()));
  const missing = [...mapping.tables.values()].filter((t) => !tracked.has(`${t.schema}.${t.table}`.toLowerCase()));
  if (missing.length > 0) {
    throw connectorError(
      'SQLSERVER_TABLE_NOT_TRACKED',
      `Change Tracking is not enabled on ${missing.map((t) => `${t.schema}.${t.table}`).join(', ')}; run:\n${missing.map((t) => `  ${setupStatements.tableChangeTracking(t.schema, t.table)}`).join('\n')}`,
    );
  }
}

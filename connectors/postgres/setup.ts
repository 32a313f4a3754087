import type { Client } from 'pg';
import type { ResolvedOptions } from './config';
import { connectorError, fromDriverError } from './errors';
import type { ResolvedMapping, ResolvedPlacement } from './mapping';
import { sideListTables } from './side-lists';
import { controlRealmPath } from '../kit/position';
import { placementPattern as kitPlacementPattern } from '../kit/placement';

export { controlRealmPath } from '../kit/position';

/** The realm paths a placement can produce, as a pattern for the Adapter's filter (null: a function, any path). */
export function placementPattern(mapping: ResolvedMapping, p: ResolvedPlacement): RegExp | null {
  return kitPlacementPattern(p, (table) => mapping.tables.get(table)!.placement);
}

/**
 * Checks the server before anything is created: version, `wal_level`, replication privilege.
 * Returns server_version_num.
 */
export async function preflight(sql: Client): Promise<number> {
  const v = await sql.query("SELECT current_setting('server_version_num')::int AS v, current_setting('wal_level') AS wal, current_user AS role, r.rolreplication, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user");
  const row = v.rows[0] as { v: number; wal: string; role: string; rolreplication: boolean; rolsuper: boolean };
  if (row.v < 130000) throw connectorError('CONNECTOR_SOURCE_FAILED', `PostgreSQL ${row.v} is too old: the connector needs 13 or later (publish_via_partition_root)`);
  if (row.wal !== 'logical') {
    throw connectorError('PG_WAL_LEVEL_NOT_LOGICAL', `PostgreSQL runs with wal_level = ${row.wal}; logical replication needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical (or edit postgresql.conf) and restart PostgreSQL`);
  }
  if (!row.rolreplication && !row.rolsuper) {
    throw connectorError('PG_REPLICATION_PRIVILEGE', `role ${row.role} may not replicate: run ALTER ROLE "${row.role}" WITH REPLICATION and allow "replication" connections for it in pg_hba.conf`);
  }
  return row.v;
}

export async function ensurePublication(sql: Client, mapping: ResolvedMapping): Promise<void> {
  const o = mapping.options;
  const list = [...mapping.tables.values()].map((t) => t.qualified).concat(sideListTables(mapping.tables.values())).join(', ');
  const exists = await sql.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [o.publicationName]);
  try {
    if (exists.rows.length === 0) await sql.query(`CREATE PUBLICATION "${o.publicationName}" FOR TABLE ${list} WITH (publish_via_partition_root = true)`);
    else {
      await sql.query(`ALTER PUBLICATION "${o.publicationName}" SET TABLE ${list}`);
      await sql.query(`ALTER PUBLICATION "${o.publicationName}" SET (publish_via_partition_root = true)`);
    }
  } catch (e) {
    throw fromDriverError(e, `creating publication ${o.publicationName} (the role must own the tables or be superuser)`);
  }
}

export async function slotInfo(sql: Client, o: ResolvedOptions): Promise<{ plugin: string; confirmed_flush_lsn: string | null; wal_status: string | null } | null> {
  const r = await sql.query('SELECT plugin, confirmed_flush_lsn::text, wal_status, database FROM pg_replication_slots WHERE slot_name = $1', [o.slotName]);
  if (r.rows.length === 0) return null;
  const s = r.rows[0];
  const db = (await sql.query('SELECT current_database() AS d')).rows[0].d;
  if (s.plugin !== 'pgoutput' || s.database !== db) throw connectorError('PG_SLOT_INVALID', `replication slot ${o.slotName} exists for plugin ${s.plugin} in database ${s.database}; drop it or choose another slotName`);
  if (s.wal_status === 'lost') throw connectorError('PG_SLOT_INVALID', `replication slot ${o.slotName} was invalidated (WAL removed, max_slot_wal_keep_size); drop it (SELECT pg_drop_replication_slot('${o.slotName}')) and the connector's control realm ${controlRealmPath(o.name)} to reload`);
  return s;
}

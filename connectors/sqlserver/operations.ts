import { formatDeadLetter, type DeadLetterRecord } from '../kit/dead-letters';
import { runChecks, type ConnectionCheck } from '../kit/test-connection';
import { describeDatabase, type ResolvedOptions, type SqlServerConnectorConfig } from './config';
import { openPool } from './connector';
import { sqlOn } from './db';
import { TributaryError } from '../../src/errors';
import { placementPattern } from '../kit/placement';
import { STATE_TYPE } from '../kit/position';
import { COUNTER_TYPE, mappingRealmSchema, resolveMapping } from './mapping';
import { checkDatabase, checkTables, readDatabaseState, type DatabaseState } from './setup';
import { listApplyPositions, readCapturePosition, SqlServerDeadLetters } from './stores';
import type { ConnectionPool } from 'mssql';

type Config = SqlServerConnectorConfig & { resolved: ResolvedOptions };

/** `test`: reachable, Change Tracking and snapshot isolation, the mapping against the catalog and each table tracked — in order, the first failure ends it. */
export async function testSqlServerConnection(config: Config): Promise<ConnectionCheck[]> {
  let pool: ConnectionPool | null = null;
  let state: DatabaseState | null = null;
  try {
    return await runChecks([
      {
        name: 'database',
        run: async () => {
          pool = await openPool(config);
          state = await readDatabaseState(sqlOn(pool));
          return `${describeDatabase(config.database)} answers (SQL Server ${state.version})`;
        },
      },
      {
        name: 'change tracking and snapshot isolation',
        run: async () => {
          checkDatabase(state!);
          return `Change Tracking on, snapshot isolation allowed in ${state!.name}`;
        },
      },
      {
        name: 'mapping',
        run: async () => {
          const m = await resolveMapping(sqlOn(pool!), config, config.resolved);
          await checkTables(sqlOn(pool!), m);
          return `${m.tables.size} table(s) mapped and tracked: ${[...m.tables.keys()].join(', ')}`;
        },
      },
    ]);
  } finally {
    await (pool as ConnectionPool | null)?.close().catch(() => undefined);
  }
}

export interface SqlServerDatabaseStatus {
  database: string;
  currentVersion: string | null;
  capture: { version: string; reloads: number } | null;
  minValidVersions: Record<string, string | null>;
  applyPositions: { realmPath: string; txn: number }[];
  deadLetters: DeadLetterRecord[];
  warnings: string[];
}

/** `status`: the connector's state in the database, without starting it. */
export async function inspectSqlServerConnector(config: Config): Promise<SqlServerDatabaseStatus> {
  const o = config.resolved;
  const pool = await openPool(config);
  try {
    const db = sqlOn(pool);
    const cur = (await db.query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).rows[0]?.v;
    const capture = await readCapturePosition(db, o.schema, o.name);
    const minValidVersions: Record<string, string | null> = {};
    const warnings: string[] = [];
    for (const table of Object.keys(config.tables)) {
      const r = await db.query(`SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(@name)) AS m`, { name: `${o.schema}.${table}` });
      const m = r.rows[0]?.m;
      minValidVersions[table] = m === null || m === undefined ? null : String(m);
      if (m === null || m === undefined) warnings.push(`${table}: Change Tracking is not enabled`);
      else if (capture && capture.version < BigInt(m as string)) warnings.push(`${table}: changes since the saved version ${capture.version} were cleaned up (min valid ${m}); the next start re-loads it`);
    }
    return {
      database: describeDatabase(config.database),
      currentVersion: cur === null || cur === undefined ? null : String(cur),
      capture: capture ? { version: capture.version.toString(), reloads: capture.reloads } : null,
      minValidVersions,
      applyPositions: await listApplyPositions(db, o.schema, o.name),
      deadLetters: await new SqlServerDeadLetters(o.schema, o.name).list(db),
      warnings,
    };
  } finally {
    await pool.close().catch(() => undefined);
  }
}

export function formatDatabaseStatus(s: SqlServerDatabaseStatus): string {
  const lines = [
    `database          ${s.database}`,
    `current version   ${s.currentVersion ?? '(Change Tracking off)'}`,
    `capture position  ${s.capture ? `${s.capture.version} (tables re-loaded: ${s.capture.reloads})` : '(none: the next start loads)'}`,
    `min valid         ${Object.entries(s.minValidVersions).map(([t, v]) => `${t} ${v ?? 'untracked'}`).join(', ')}`,
    `apply positions   ${s.applyPositions.length === 0 ? '(none)' : s.applyPositions.map((p) => `${p.realmPath} ${p.txn}`).join(', ')}`,
    `dead letters      ${s.deadLetters.length}`,
    ...s.deadLetters.map((d) => `  ${formatDeadLetter(d)}`),
    ...s.warnings.map((w) => `warning           ${w}`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The realm-js schema a client declares to create the first objects of a realm of this connector
 * that does not exist yet: the mapped types of that path (without the connector's own types).
 */
export async function realmSchemaOfConfig(config: Config, realmPath: string): Promise<object[]> {
  const pool = await openPool(config);
  try {
    const mapping = await resolveMapping(sqlOn(pool), config, config.resolved);
    const patterns = [...mapping.tables.values()].map((t) => placementPattern(t.placement, (name) => mapping.tables.get(name)!.placement));
    if (!patterns.some((p) => p === null || p.test(realmPath))) throw new TributaryError('CONFIG_INVALID', `realm ${realmPath} is not a realm of this connector: no table's placement produces it`);
    return mappingRealmSchema(mapping, realmPath).filter((s) => s.name !== STATE_TYPE && s.name !== COUNTER_TYPE);
  } finally {
    await pool.close().catch(() => undefined);
  }
}

import { Client } from 'pg';
import { APPLY_POSITION_TABLE } from './apply';
import { clientConfig, validateConfig, type PostgresConnectorConfig, type ResolvedOptions } from './config';
import { formatDeadLetter } from '../kit/dead-letters';
import { runChecks, type ConnectionCheck } from '../kit/test-connection';
import { resolveMapping } from './mapping';
import { preflight } from './setup';
import { PgDeadLetters, type DeadLetterRecord } from './dead-letters';
import { connectorError, fromDriverError } from './errors';

/**
 * Operations of the PostgreSQL connector that read the database's side of it: the replication
 * slot and how much WAL it holds back, the publication, the apply positions; the warnings a
 * slot deserves; and dropping them for a reset. Nothing here needs the sync server or a running
 * connector (`tributary connector postgres status` uses it with the connector stopped).
 */

/** The connector's replication slot as PostgreSQL reports it (`pg_replication_slots`). */
export interface SlotStatus {
  name: string;
  exists: boolean;
  /** A walsender streams from it (a connector is running). */
  active: boolean;
  activePid: number | null;
  database: string | null;
  restartLsn: string | null;
  /** What the connector last confirmed: PostgreSQL replays from here after a restart. */
  confirmedFlushLsn: string | null;
  /** `reserved`, `extended`, `unreserved` (about to be invalidated by max_slot_wal_keep_size) or `lost`. */
  walStatus: string | null;
  /** Bytes of WAL that can still be written before the slot is in danger of invalidation (null: no max_slot_wal_keep_size). */
  safeWalSize: number | null;
  /** WAL the slot keeps on disk: `pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)`. */
  retainedBytes: number | null;
  /** Bytes of WAL written after what the connector confirmed: its lag behind the database. */
  lagBytes: number | null;
}

/** The database's view of a connector (no sync server needed). */
export interface DatabaseStatus {
  /** `pg_current_wal_lsn()` when the figures were read. */
  currentWalLsn: string;
  slot: SlotStatus;
  publication: { name: string; exists: boolean; tables: string[] };
  /** Realm → database positions (`tributary_apply_position`): the last Adapter transaction applied per realm. */
  applyPositions: { realmPath: string; txn: number }[];
  /** Realm transactions rejected into dead letters (`tributary_dead_letter`): how many, and the oldest 20. */
  deadLetters: { count: number; oldest: DeadLetterRecord[] };
  /** What `slotWarnings` says about the slot now. */
  warnings: SlotWarning[];
}

export interface SlotWarning {
  kind: 'retained-over-budget' | 'wal-unreserved' | 'wal-lost' | 'inactive';
  message: string;
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Reads the slot's figures. */
export async function readSlot(sql: Client, slotName: string): Promise<{ currentWalLsn: string; slot: SlotStatus }> {
  const r = await sql.query(
    `SELECT pg_current_wal_lsn()::text AS current, s.slot_name IS NOT NULL AS exists, coalesce(s.active, false) AS active, s.active_pid,
            s.database, s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.wal_status,
            s.safe_wal_size::text AS safe_wal_size,
            pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text AS retained,
            pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::text AS lag
       FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
    [slotName],
  );
  const row = r.rows[0];
  return {
    currentWalLsn: row.current,
    slot: {
      name: slotName,
      exists: row.exists,
      active: row.active,
      activePid: row.active_pid ?? null,
      database: row.database ?? null,
      restartLsn: row.restart_lsn ?? null,
      confirmedFlushLsn: row.confirmed_flush_lsn ?? null,
      walStatus: row.wal_status ?? null,
      safeWalSize: numberOrNull(row.safe_wal_size),
      retainedBytes: numberOrNull(row.retained),
      lagBytes: numberOrNull(row.lag),
    },
  };
}

/**
 * What an operator must hear about a slot. An inactive slot still retains WAL (PostgreSQL cannot
 * recycle it until the connector confirms), and with `max_slot_wal_keep_size` set, a slot past
 * its budget is invalidated — the connector then needs a reset and a full reload.
 */
export function slotWarnings(slot: SlotStatus, budgetBytes: number): SlotWarning[] {
  if (!slot.exists) return [];
  const out: SlotWarning[] = [];
  const retained = slot.retainedBytes === null ? 'an unknown amount' : formatBytes(slot.retainedBytes);
  if (slot.walStatus === 'lost') {
    out.push({ kind: 'wal-lost', message: `replication slot ${slot.name} was invalidated (wal_status lost: PostgreSQL removed WAL it needed); reset the connector (tributary connector postgres reset) and start it to reload` });
  } else if (slot.walStatus === 'unreserved') {
    const safe = slot.safeWalSize === null ? '' : ` (safe_wal_size ${formatBytes(slot.safeWalSize)})`;
    out.push({ kind: 'wal-unreserved', message: `replication slot ${slot.name} retains ${retained} of WAL and is past max_slot_wal_keep_size${safe}: the next checkpoint may invalidate it; start the connector or raise max_slot_wal_keep_size` });
  }
  if (slot.retainedBytes !== null && slot.retainedBytes > budgetBytes) {
    out.push({ kind: 'retained-over-budget', message: `replication slot ${slot.name} retains ${retained} of WAL, over the retainedWalWarnBytes budget of ${formatBytes(budgetBytes)}${slot.active ? ' (the connector is behind)' : ' (no connector is streaming from it)'}` });
  }
  if (!slot.active) {
    out.push({ kind: 'inactive', message: `replication slot ${slot.name} is inactive and retains ${retained} of WAL; PostgreSQL keeps it until a connector confirms it (or the slot is dropped)` });
  }
  return out;
}

async function readPublication(sql: Client, name: string): Promise<DatabaseStatus['publication']> {
  const r = await sql.query('SELECT p.pubname, t.schemaname, t.tablename FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname WHERE p.pubname = $1 ORDER BY 2, 3', [name]);
  return { name, exists: r.rows.length > 0, tables: r.rows.filter((x) => x.tablename !== null).map((x) => `${x.schemaname}.${x.tablename}`) };
}

async function readApplyPositions(sql: Client, connector: string): Promise<DatabaseStatus['applyPositions']> {
  const exists = await sql.query('SELECT to_regclass($1) IS NOT NULL AS exists', [APPLY_POSITION_TABLE]);
  if (!exists.rows[0].exists) return [];
  const r = await sql.query(`SELECT realm_path, txn::text FROM ${APPLY_POSITION_TABLE} WHERE connector = $1 ORDER BY realm_path`, [connector]);
  return r.rows.map((x) => ({ realmPath: x.realm_path, txn: Number(x.txn) }));
}

/** The database's side of a connector, read through `sql`. */
export async function readDatabaseStatus(sql: Client, o: ResolvedOptions): Promise<DatabaseStatus> {
  try {
    const { currentWalLsn, slot } = await readSlot(sql, o.slotName);
    const publication = await readPublication(sql, o.publicationName);
    const applyPositions = await readApplyPositions(sql, o.name);
    const letters = new PgDeadLetters(o.name);
    const deadLetters = { count: await letters.count(sql), oldest: await letters.list(sql, 20) };
    return { currentWalLsn, slot, publication, applyPositions, deadLetters, warnings: slotWarnings(slot, o.retainedWalWarnBytes) };
  } catch (e) {
    throw fromDriverError(e, 'reading the connector status from PostgreSQL');
  }
}

/** Runs `fn` with a fresh connection to the connector's database (for a connector that is not running). */
export async function withDatabase<T>(database: PostgresConnectorConfig['database'], fn: (sql: Client) => Promise<T>): Promise<T> {
  const sql = new Client(clientConfig(database));
  sql.on('error', () => undefined); // a lost connection fails the query in flight
  await sql.connect().catch((e) => {
    throw fromDriverError(e, 'connecting to PostgreSQL');
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end().catch(() => undefined);
  }
}

/**
 * The database's side of a connector without starting it (`tributary connector postgres status`).
 *
 * @example
 * const s = await inspectPostgresConnector(loadConnectorConfig('pagila.json'));
 * console.log(s.slot.active, s.slot.retainedBytes, s.warnings);
 */
export async function inspectPostgresConnector(config: PostgresConnectorConfig): Promise<DatabaseStatus> {
  const c = validateConfig(config);
  return withDatabase(c.database, (sql) => readDatabaseStatus(sql, c.resolved));
}

/**
 * Drops the slot and the connector's apply positions; refuses (`PG_SLOT_ACTIVE`) while a
 * walsender streams from the slot. `pg_drop_replication_slot` itself refuses an active slot, so a
 * connector that reconnects between the check and the drop is refused too.
 */
export async function dropDatabaseState(sql: Client, o: ResolvedOptions): Promise<{ slotDropped: boolean; applyPositionsDeleted: number }> {
  const { slot } = await readSlot(sql, o.slotName);
  const db = (await sql.query('SELECT current_database() AS d')).rows[0].d as string;
  if (slot.exists && slot.database !== db) {
    throw connectorError('PG_SLOT_INVALID', `replication slot ${o.slotName} belongs to database ${slot.database}, not ${db}: it is another connector's; reset that one from its own database, or choose another slotName`);
  }
  if (slot.active) throw slotActive(o.slotName, slot.activePid);
  let slotDropped = false;
  if (slot.exists) {
    try {
      await sql.query('SELECT pg_drop_replication_slot($1)', [o.slotName]);
      slotDropped = true;
    } catch (e) {
      if ((e as { code?: unknown }).code === '55006') throw slotActive(o.slotName, null, e);
      if ((e as { code?: unknown }).code !== '42704') throw fromDriverError(e, `dropping replication slot ${o.slotName}`); // 42704: dropped meanwhile
    }
  }
  // The replication origin's progress entry holds one of max_replication_slots' origin states until dropped.
  try {
    await sql.query('SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1', [o.originName]);
  } catch (e) {
    if ((e as { code?: unknown }).code === '55006') throw connectorError('PG_SLOT_ACTIVE', `replication origin ${o.originName} is in use: a connector is applying realm changes; stop it before resetting`, e);
    throw fromDriverError(e, `dropping replication origin ${o.originName}`);
  }
  let applyPositionsDeleted = 0;
  try {
    const exists = await sql.query('SELECT to_regclass($1) IS NOT NULL AS exists', [APPLY_POSITION_TABLE]);
    if (exists.rows[0].exists) applyPositionsDeleted = (await sql.query(`DELETE FROM ${APPLY_POSITION_TABLE} WHERE connector = $1`, [o.name])).rowCount ?? 0;
  } catch (e) {
    throw fromDriverError(e, `deleting the apply positions of connector ${o.name} from ${APPLY_POSITION_TABLE}`);
  }
  return { slotDropped, applyPositionsDeleted };
}

function slotActive(slot: string, pid: number | null, cause?: unknown) {
  return connectorError('PG_SLOT_ACTIVE', `replication slot ${slot} is active${pid === null ? '' : ` (walsender pid ${pid})`}: a connector is streaming from it; stop that connector before resetting`, cause);
}

export { clearLoadMark } from '../kit/realm-side';

/** `tributary connector postgres status` as text: one fact per line, warnings last. */
export function formatDatabaseStatus(s: DatabaseStatus, o: Pick<ResolvedOptions, 'name' | 'retainedWalWarnBytes'>): string {
  const slot = s.slot;
  const lines: [string, string][] = [['connector', o.name]];
  if (!slot.exists) lines.push(['slot', `${slot.name}: missing (the next start creates it and loads from the database)`]);
  else {
    lines.push(['slot', `${slot.name}: ${slot.active ? `active (walsender pid ${slot.activePid})` : 'inactive (no connector streaming)'}`]);
    lines.push(['wal_status', `${slot.walStatus ?? 'unknown'}, safe_wal_size ${slot.safeWalSize === null ? 'unlimited (no max_slot_wal_keep_size)' : formatBytes(slot.safeWalSize)}`]);
    lines.push(['retained WAL', `${slot.retainedBytes === null ? 'unknown' : formatBytes(slot.retainedBytes)} since restart_lsn ${slot.restartLsn ?? '-'} (budget ${formatBytes(o.retainedWalWarnBytes)})`]);
    lines.push(['confirmed', `${slot.confirmedFlushLsn ?? '-'}, ${slot.lagBytes === null ? 'lag unknown' : `${formatBytes(slot.lagBytes)} behind the current WAL`} ${s.currentWalLsn}`]);
  }
  lines.push(['publication', `${s.publication.name}: ${s.publication.exists ? s.publication.tables.join(', ') || '(no tables)' : 'missing (the next start creates it)'}`]);
  if (s.applyPositions.length === 0) lines.push(['apply positions', 'none']);
  s.applyPositions.forEach((p, i) => lines.push([i === 0 ? 'apply positions' : '', `${p.realmPath} txn ${p.txn}`]));
  const d = s.deadLetters;
  if (d.count === 0) lines.push(['dead letters', 'none']);
  d.oldest.forEach((l, i) => lines.push([i === 0 ? 'dead letters' : '', `${i === 0 ? `${d.count}: ` : ''}${formatDeadLetter(l)}`]));
  if (d.count > 0) lines.push(['', `${d.count > d.oldest.length ? `… ${d.count - d.oldest.length} more; ` : ''}each keeps its realm transaction's instructions (status --json); clear with: tributary connector postgres clear-dead-letters --config <file> --id <n> (or --all)`]);
  for (const w of s.warnings) lines.push(['warning', w.message]);
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/**
 * The database's checks of `testConnection` (the kit's test-connection.ts): PostgreSQL answers;
 * version, `wal_level` and the replication privilege (as the start checks them, with what to run
 * when one is missing); the mapping against the catalog; the slot, if any. Nothing is created.
 */
export async function testPostgresConnection(config: PostgresConnectorConfig & { resolved: ResolvedOptions }): Promise<ConnectionCheck[]> {
  const sql = new Client(clientConfig(config.database));
  sql.on('error', () => undefined);
  try {
    return await runChecks([
      {
        name: 'database',
        run: async () => {
          await sql.connect().catch((e) => {
            throw fromDriverError(e, 'connecting to PostgreSQL');
          });
          const r = await sql.query('SELECT current_database() AS d, current_user AS u');
          return `connected to ${r.rows[0].d} as ${r.rows[0].u}`;
        },
      },
      { name: 'prerequisites', run: async () => `PostgreSQL ${await preflight(sql)}, wal_level = logical, may replicate` },
      {
        name: 'mapping',
        run: async () => {
          const m = await resolveMapping(sql, config, config.resolved);
          return `${m.tables.size} table${m.tables.size === 1 ? '' : 's'} mapped in schema ${config.resolved.schema}: ${[...m.tables.keys()].join(', ')}`;
        },
      },
      {
        name: 'slot',
        run: async () => {
          const { slot } = await readSlot(sql, config.resolved.slotName);
          return slot.exists ? `${slot.name} exists (${slot.active ? 'active: a connector is streaming' : 'inactive'})` : `${slot.name} does not exist yet (the first start creates it and loads)`;
        },
      },
    ]);
  } finally {
    await sql.end().catch(() => undefined);
  }
}

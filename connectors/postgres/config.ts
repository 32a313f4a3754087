import type { ClientConfig } from 'pg';
import { TributaryError } from '../../src/errors';

/**
 * Where a table's rows live (CONNECTORS.md §1):
 * - a path (`'/pagila/catalog'`; `{schema}` and `{table}` are filled in): one realm for the table,
 *   e.g. one realm per database schema with `'/db/{schema}'`;
 * - a path template over the row's columns (`'/pagila/store/{store_id}'`): rows partitioned into
 *   realms by a column;
 * - `{ follow: 'rental_id' }`: the realm of the row this foreign key points at (a payment lives
 *   with its rental);
 * - a function of the row (JavaScript/TypeScript configs), like ROS's `mapPostgresChangeToRealmPath`.
 */
export type Placement = string | { follow: string } | ((row: Readonly<Record<string, unknown>>, table: string) => string);

export interface ColumnMappingInput {
  /** Property name (default: the column name). */
  property?: string;
  /** A value converter run after the type table's (JavaScript configs only). */
  toRealm?: (value: unknown) => unknown;
}

export interface TableMappingInput {
  /** Realm object type (default: the table name). */
  type?: string;
  /** Default: the connector's `realm`. */
  realm?: Placement;
  /** Renames (`'title'` → `{ title: 'name' }`), converters, or `false` to leave a column out. Unlisted columns map by name. */
  columns?: Record<string, string | ColumnMappingInput | false>;
  /** The realm primary key: default the table's primary key. A subset of it (e.g. Pagila's payment_id without payment_date) must stay unique. */
  primaryKey?: string | string[];
  /** Foreign-key column → link property name, or false for no links. Default: every foreign key to a mapped table in the same placement gets a link named after the column without `_id`. */
  links?: Record<string, string | false> | false;
}

export type InitialLoad = 'from-database' | 'none';

export interface PostgresConnectorConfig {
  /** Names the slot, the publication and the state kept in realms; [a-z0-9_]. */
  name: string;
  /** A connection URL or node-postgres client config. The role needs REPLICATION (or superuser). */
  database: string | ClientConfig;
  /** The Tributary server: `realm://host:port` (or http://). */
  serverUrl: string;
  /** Admin token (or put `{"ADMIN_TOKEN": …}` in a file and give adminTokenFile). */
  adminToken?: string;
  adminTokenFile?: string;
  /** Directory for the connector's local realm copies (the Adapter's localPath). */
  localPath: string;
  /** Database schema of the tables (default `public`). */
  schema?: string;
  /** Default placement (default `'/{schema}'`: one realm per schema). */
  realm?: Placement;
  tables: Record<string, TableMappingInput>;
  /** What happens when the connector starts without a slot (default `from-database`). */
  initialLoad?: InitialLoad;
  /** Rows per batch during the initial load (default 2000). */
  batchSize?: number;
  /** Changes of one source transaction kept in memory before the rest spills to disk (default 5000). */
  spillThreshold?: number;
  /** Interval of pg_logical_emit_message heartbeats that let an idle database's slot advance (default 30000; 0 = off). */
  heartbeatIntervalMs?: number;
  /** Property holding a composite key encoded as a string (default `key`). */
  compositeKeyProperty?: string;
  slotName?: string;
  publicationName?: string;
}

export interface ResolvedOptions {
  name: string;
  schema: string;
  initialLoad: InitialLoad;
  batchSize: number;
  spillThreshold: number;
  heartbeatIntervalMs: number;
  compositeKeyProperty: string;
  slotName: string;
  publicationName: string;
  originName: string;
}

function invalid(path: string, message: string): TributaryError {
  return new TributaryError('CONFIG_INVALID', `postgres connector config: ${path}: ${message}`);
}

const IDENT = /^[a-z_][a-z0-9_]{0,40}$/;

function checkPlacement(p: unknown, path: string): void {
  if (typeof p === 'string') {
    if (!p.startsWith('/')) throw invalid(path, `a realm path must start with '/', got '${p}'`);
    return;
  }
  if (typeof p === 'function') return;
  if (p && typeof p === 'object' && typeof (p as { follow?: unknown }).follow === 'string') return;
  throw invalid(path, "expected a path ('/x', '/x/{column}'), { follow: '<foreign key column>' } or a function of the row");
}

/** Validates the shape of a config (catalog checks happen at start, in mapping.ts). */
export function validateConfig(input: unknown): PostgresConnectorConfig & { resolved: ResolvedOptions } {
  if (!input || typeof input !== 'object') throw invalid('(root)', 'expected an object');
  const c = input as PostgresConnectorConfig;
  if (typeof c.name !== 'string' || !IDENT.test(c.name)) throw invalid('name', `expected a lowercase identifier ([a-z_][a-z0-9_]*, at most 41 characters), got ${JSON.stringify(c.name)}`);
  if (typeof c.database !== 'string' && (!c.database || typeof c.database !== 'object')) throw invalid('database', 'expected a connection URL or a node-postgres client config');
  if (typeof c.serverUrl !== 'string' || !/^(realms?|https?):\/\//.test(c.serverUrl)) throw invalid('serverUrl', `expected realm://host:port, got ${JSON.stringify(c.serverUrl)}`);
  if (typeof c.localPath !== 'string' || c.localPath.length === 0) throw invalid('localPath', 'expected a directory for the local realm copies');
  if (c.schema !== undefined && typeof c.schema !== 'string') throw invalid('schema', 'expected a schema name');
  if (c.realm !== undefined) checkPlacement(c.realm, 'realm');
  if (!c.tables || typeof c.tables !== 'object' || Object.keys(c.tables).length === 0) throw invalid('tables', 'map at least one table');
  for (const [table, t] of Object.entries(c.tables)) {
    const at = `tables.${table}`;
    if (!t || typeof t !== 'object') throw invalid(at, 'expected a table mapping object ({} maps every column by name)');
    if (t.type !== undefined && (typeof t.type !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.type))) throw invalid(`${at}.type`, `not a valid type name: ${JSON.stringify(t.type)}`);
    if (t.realm !== undefined) checkPlacement(t.realm, `${at}.realm`);
    if (t.columns !== undefined) {
      if (!t.columns || typeof t.columns !== 'object') throw invalid(`${at}.columns`, 'expected an object');
      for (const [col, m] of Object.entries(t.columns)) {
        if (m === false || typeof m === 'string') continue;
        if (!m || typeof m !== 'object') throw invalid(`${at}.columns.${col}`, 'expected a property name, { property, toRealm } or false');
        if (m.property !== undefined && typeof m.property !== 'string') throw invalid(`${at}.columns.${col}.property`, 'expected a string');
        if (m.toRealm !== undefined && typeof m.toRealm !== 'function') throw invalid(`${at}.columns.${col}.toRealm`, 'expected a function');
      }
    }
    if (t.primaryKey !== undefined) {
      const ks = Array.isArray(t.primaryKey) ? t.primaryKey : [t.primaryKey];
      if (ks.length === 0 || ks.some((k) => typeof k !== 'string')) throw invalid(`${at}.primaryKey`, 'expected a column name or a non-empty list of them');
    }
    if (t.links !== undefined && t.links !== false && (typeof t.links !== 'object' || t.links === null)) throw invalid(`${at}.links`, 'expected { column: property | false } or false');
  }
  const initialLoad = c.initialLoad ?? 'from-database';
  if (initialLoad !== 'from-database' && initialLoad !== 'none') throw invalid('initialLoad', `expected 'from-database' or 'none', got ${JSON.stringify(c.initialLoad)}`);
  const positive = (v: unknown, name: string, dflt: number, allowZero = false): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw invalid(name, `expected a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const resolved: ResolvedOptions = {
    name: c.name,
    schema: c.schema ?? 'public',
    initialLoad,
    batchSize: positive(c.batchSize, 'batchSize', 2000),
    spillThreshold: positive(c.spillThreshold, 'spillThreshold', 5000),
    heartbeatIntervalMs: positive(c.heartbeatIntervalMs, 'heartbeatIntervalMs', 30_000, true),
    compositeKeyProperty: c.compositeKeyProperty ?? 'key',
    slotName: c.slotName ?? `tributary_${c.name}`,
    publicationName: c.publicationName ?? `tributary_${c.name}`,
    originName: `tributary_${c.name}`,
  };
  for (const k of ['slotName', 'publicationName'] as const) if (!/^[a-z_][a-z0-9_]{0,62}$/.test(resolved[k])) throw invalid(k, `expected a lowercase identifier, got ${JSON.stringify(resolved[k])}`);
  return { ...c, resolved };
}

/** node-postgres settings for every connection: unambiguous, lossless text output. */
export function clientConfig(database: PostgresConnectorConfig['database'], extra: ClientConfig = {}): ClientConfig {
  const base: ClientConfig = typeof database === 'string' ? { connectionString: database } : { ...database };
  return { ...base, ...extra, options: [base.options, '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres'].filter(Boolean).join(' ') };
}

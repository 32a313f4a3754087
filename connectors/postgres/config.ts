import type { ClientConfig } from 'pg';
import { TributaryError } from '../../src/errors';

import type { Placement } from '../kit/placement';

export type { Placement } from '../kit/placement';

export interface ColumnMappingInput {
  /** Property name (default: the column name). */
  property?: string;
  /** A value converter run after the type table's (JavaScript configs only). */
  toRealm?: (value: unknown) => unknown;
  /** The inverse of `toRealm` for realm → database writes; a column with `toRealm` but no `fromRealm` is not written back. */
  fromRealm?: (value: unknown) => unknown;
  /**
   * An integer counter incremented on both sides: database updates reach the realm as increments
   * (new − old, so the table needs REPLICA IDENTITY FULL) and realm increments reach the database
   * as `n = n + δ`, so concurrent increments on the two sides add up instead of one overwriting
   * the other.
   */
  counter?: boolean;
}

/**
 * Who wins a race between a database write and a realm write to the same row (CONNECTORS.md §1):
 * `database-wins` (default) or `realm-wins`; the loser side is updated.
 */
export type ConflictPolicy = 'database-wins' | 'realm-wins';

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
  /** List property → side table whose rows (owner key, value, position) are the owner's list, in order (docs: "Lists"). */
  lists?: Record<string, SideListInput>;
}

/**
 * A realm list kept in a side table: the rows whose `owner` column references the owner's row,
 * ordered by `position` (an integer column; without one, by value, edited as a set), elements
 * being links to the mapped type `value` references by foreign key, or `value`'s primitives.
 */
export interface SideListInput {
  table: string;
  owner: string;
  value: string;
  position?: string;
}

/**
 * What the first start copies: `from-database` (tables → realms from the slot's exported
 * snapshot; objects already in the realms are written to the tables too), `from-realm` (realm
 * objects → tables; existing rows are not copied into realms), `none` (nothing: only changes
 * from now on, both ways).
 */
export type InitialLoad = 'from-database' | 'from-realm' | 'none';

/**
 * What the connector does when a schema changes on one side (docs/connectors/postgres.md, "Schema
 * changes"). Additive changes only: a dropped column or a changed type is reported, never applied.
 */
export interface SchemaChangesInput {
  /** A column added to a mapped table becomes a realm property (default true). */
  addProperties?: boolean;
  /** A property a client adds to a mapped type becomes a column (`ALTER TABLE … ADD COLUMN`); default false: reported only. */
  addColumns?: boolean;
}

export interface SchemaChangesOptions {
  addProperties: boolean;
  addColumns: boolean;
}

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
  /** Who wins a race between a database write and a realm write to the same row (default `database-wins`). */
  conflict?: ConflictPolicy;
  /** Realm transactions applied to PostgreSQL in one database transaction, at most (default 100). */
  applyBatch?: number;
  /** Schema changes: new columns → properties (default on), new realm properties → columns (default off). */
  schemaChanges?: SchemaChangesInput;
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
  /** Retained WAL (bytes) past which the slot check warns loudly (default 1 GiB). */
  retainedWalWarnBytes?: number;
  /** Interval of the slot check (retained WAL, wal_status) while running (default 60000; 0 = only at start). */
  slotCheckIntervalMs?: number;
  slotName?: string;
  publicationName?: string;
}

export interface ResolvedOptions {
  name: string;
  conflict: ConflictPolicy;
  applyBatch: number;
  schema: string;
  initialLoad: InitialLoad;
  schemaChanges: SchemaChangesOptions;
  batchSize: number;
  spillThreshold: number;
  heartbeatIntervalMs: number;
  compositeKeyProperty: string;
  retainedWalWarnBytes: number;
  slotCheckIntervalMs: number;
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

function checkSchemaChanges(v: unknown): SchemaChangesOptions {
  const out: SchemaChangesOptions = { addProperties: true, addColumns: false };
  if (v === undefined) return out;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid('schemaChanges', 'expected { addProperties?: boolean, addColumns?: boolean }');
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'addProperties' && k !== 'addColumns') throw invalid(`schemaChanges.${k}`, 'unknown option; expected addProperties or addColumns');
    if (typeof x !== 'boolean') throw invalid(`schemaChanges.${k}`, `expected true or false, got ${JSON.stringify(x)}`);
    out[k] = x;
  }
  return out;
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
        if (!m || typeof m !== 'object') throw invalid(`${at}.columns.${col}`, 'expected a property name, { property, toRealm, fromRealm, counter } or false');
        if (m.property !== undefined && typeof m.property !== 'string') throw invalid(`${at}.columns.${col}.property`, 'expected a string');
        if (m.toRealm !== undefined && typeof m.toRealm !== 'function') throw invalid(`${at}.columns.${col}.toRealm`, 'expected a function');
        if (m.fromRealm !== undefined && typeof m.fromRealm !== 'function') throw invalid(`${at}.columns.${col}.fromRealm`, 'expected a function');
        if (m.counter !== undefined && typeof m.counter !== 'boolean') throw invalid(`${at}.columns.${col}.counter`, 'expected true or false');
      }
    }
    if (t.primaryKey !== undefined) {
      const ks = Array.isArray(t.primaryKey) ? t.primaryKey : [t.primaryKey];
      if (ks.length === 0 || ks.some((k) => typeof k !== 'string')) throw invalid(`${at}.primaryKey`, 'expected a column name or a non-empty list of them');
    }
    if (t.links !== undefined && t.links !== false && (typeof t.links !== 'object' || t.links === null)) throw invalid(`${at}.links`, 'expected { column: property | false } or false');
    if (t.lists !== undefined && (!t.lists || typeof t.lists !== 'object' || Array.isArray(t.lists))) throw invalid(`${at}.lists`, "expected { property: { table, owner, value, position? } }");
    for (const [prop, l] of Object.entries(t.lists ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prop)) throw invalid(`${at}.lists`, `not a valid property name: ${JSON.stringify(prop)}`);
      if (!l || typeof l !== 'object') throw invalid(`${at}.lists.${prop}`, "expected { table, owner, value, position? }");
      for (const k of Object.keys(l)) if (!['table', 'owner', 'value', 'position'].includes(k)) throw invalid(`${at}.lists.${prop}.${k}`, 'unknown option; expected table, owner, value or position');
      for (const k of ['table', 'owner', 'value', 'position'] as const) {
        if ((l[k] !== undefined || k !== 'position') && (typeof l[k] !== 'string' || l[k] === '')) throw invalid(`${at}.lists.${prop}.${k}`, `expected a ${k === 'table' ? 'table' : 'column'} name, got ${JSON.stringify(l[k])}`);
      }
    }
  }
  const initialLoad = c.initialLoad ?? 'from-database';
  if (initialLoad !== 'from-database' && initialLoad !== 'from-realm' && initialLoad !== 'none') throw invalid('initialLoad', `expected 'from-database', 'from-realm' or 'none', got ${JSON.stringify(c.initialLoad)}`);
  const positive = (v: unknown, name: string, dflt: number, allowZero = false): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw invalid(name, `expected a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const conflict = c.conflict ?? 'database-wins';
  if (conflict !== 'database-wins' && conflict !== 'realm-wins') throw invalid('conflict', `expected 'database-wins' or 'realm-wins', got ${JSON.stringify(c.conflict)}`);
  const schemaChanges = checkSchemaChanges(c.schemaChanges);
  const resolved: ResolvedOptions = {
    name: c.name,
    conflict,
    applyBatch: positive(c.applyBatch, 'applyBatch', 100),
    schema: c.schema ?? 'public',
    initialLoad,
    schemaChanges,
    batchSize: positive(c.batchSize, 'batchSize', 2000),
    spillThreshold: positive(c.spillThreshold, 'spillThreshold', 5000),
    heartbeatIntervalMs: positive(c.heartbeatIntervalMs, 'heartbeatIntervalMs', 30_000, true),
    compositeKeyProperty: c.compositeKeyProperty ?? 'key',
    retainedWalWarnBytes: positive(c.retainedWalWarnBytes, 'retainedWalWarnBytes', 1024 ** 3),
    slotCheckIntervalMs: positive(c.slotCheckIntervalMs, 'slotCheckIntervalMs', 60_000, true),
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

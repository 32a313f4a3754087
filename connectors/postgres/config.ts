import type { ClientConfig } from 'pg';
import { commonFields, commonOptions, commonTableFields, type CommonConnectorConfig, type CommonOptions, type CommonTableMappingInput } from '../kit/config';
import { custom, integer, object, record, required, string, validate, withDefault, type Issues } from '../kit/config-schema';

export type { Placement } from '../kit/placement';
export type { ColumnMappingInput, InitialLoad, SchemaChangesInput, SchemaChangesOptions } from '../kit/config';
export type { ConflictPolicy } from '../kit/conflict';

/**
 * The PostgreSQL connector's config: the kit's common keys (connectors/kit/config.ts — name,
 * server, placement, tables, conflict, loads, schema changes) and PostgreSQL's own (database,
 * schema, side-table lists, slot and WAL options), validated in one pass that reports every
 * problem at once (the kit's config-schema.ts). Catalog checks happen at start, in mapping.ts.
 */

export interface TableMappingInput extends CommonTableMappingInput {
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

export interface PostgresConnectorConfig extends CommonConnectorConfig {
  /** A connection URL or node-postgres client config. The role needs REPLICATION (or superuser). */
  database: string | ClientConfig;
  /** Database schema of the tables (default `public`). Default placement: `'/{schema}'` (one realm per schema). */
  schema?: string;
  tables: Record<string, TableMappingInput>;
  /** Changes of one source transaction kept in memory before the rest spills to disk (default 5000). */
  spillThreshold?: number;
  /** Interval of pg_logical_emit_message heartbeats that let an idle database's slot advance (default 30000; 0 = off). */
  heartbeatIntervalMs?: number;
  /** Retained WAL (bytes) past which the slot check warns loudly (default 1 GiB). */
  retainedWalWarnBytes?: number;
  /** Interval of the slot check (retained WAL, wal_status) while running (default 60000; 0 = only at start). */
  slotCheckIntervalMs?: number;
  slotName?: string;
  publicationName?: string;
}

export interface ResolvedOptions extends CommonOptions {
  schema: string;
  spillThreshold: number;
  heartbeatIntervalMs: number;
  retainedWalWarnBytes: number;
  slotCheckIntervalMs: number;
  slotName: string;
  publicationName: string;
  originName: string;
}

const PG_IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

const sideList = object(
  {
    table: required(string({ nonEmpty: true, expected: 'a table name' })),
    owner: required(string({ nonEmpty: true, expected: 'a column name' })),
    value: required(string({ nonEmpty: true, expected: 'a column name' }), 'a column name'),
    position: string({ nonEmpty: true, expected: 'a column name' }),
  },
  { expected: '{ table, owner, value, position? }' },
);

const table = object(
  { ...commonTableFields, lists: record(sideList, { expected: '{ property: { table, owner, value, position? } }', key: { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, expected: 'a valid property name' } }) },
  { expected: 'a table mapping object ({} maps every column by name)' },
);

const database = custom((v: unknown, path: string, issues: Issues) => {
  if (v === undefined) issues.add('CONFIG_MISSING', path, 'required: a connection URL or a node-postgres client config');
  else if (typeof v !== 'string' && (!v || typeof v !== 'object' || Array.isArray(v))) issues.add('CONFIG_TYPE', path, 'expected a connection URL or a node-postgres client config');
  return v as PostgresConnectorConfig['database'];
});

const schema = object({
  ...commonFields,
  database,
  schema: withDefault(string({ nonEmpty: true, expected: 'a schema name' }), 'public'),
  tables: record(table, { minKeys: 1, expected: 'at least one mapped table' }),
  spillThreshold: integer({ default: 5000 }),
  heartbeatIntervalMs: integer({ min: 0, default: 30_000 }),
  retainedWalWarnBytes: integer({ default: 1024 ** 3 }),
  slotCheckIntervalMs: integer({ min: 0, default: 60_000 }),
  slotName: string({ pattern: PG_IDENT, expected: 'a lowercase identifier' }),
  publicationName: string({ pattern: PG_IDENT, expected: 'a lowercase identifier' }),
});

/**
 * Validates the shape of a config, reporting every problem at once (CONFIG_INVALID with
 * `issues`: code and path of each), and resolves the defaults.
 *
 * @example
 * const c = validateConfig(JSON.parse(text)); // throws ConfigError listing every issue
 * c.resolved.slotName; // 'tributary_<name>'
 */
export function validateConfig(input: unknown): PostgresConnectorConfig & { resolved: ResolvedOptions } {
  // An already validated config is validated again as what the user wrote (without `resolved`).
  if (input && typeof input === 'object' && 'resolved' in input) {
    const { resolved: _, ...written } = input as Record<string, unknown>;
    input = written;
  }
  const v = validate(schema, input, 'postgres connector config');
  const resolved: ResolvedOptions = {
    ...commonOptions(v),
    schema: v.schema,
    spillThreshold: v.spillThreshold,
    heartbeatIntervalMs: v.heartbeatIntervalMs,
    retainedWalWarnBytes: v.retainedWalWarnBytes,
    slotCheckIntervalMs: v.slotCheckIntervalMs,
    slotName: v.slotName ?? `tributary_${v.name}`,
    publicationName: v.publicationName ?? `tributary_${v.name}`,
    originName: `tributary_${v.name}`,
  };
  return { ...(input as PostgresConnectorConfig), resolved };
}

/** node-postgres settings for every connection: unambiguous, lossless text output. */
export function clientConfig(database: PostgresConnectorConfig['database'], extra: ClientConfig = {}): ClientConfig {
  const base: ClientConfig = typeof database === 'string' ? { connectionString: database } : { ...database };
  return { ...base, ...extra, options: [base.options, '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres'].filter(Boolean).join(' ') };
}

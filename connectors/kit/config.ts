import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../../src/errors';
import type { ConflictPolicy } from './conflict';
import { boolean, custom, func, integer, object, oneOf, record, required, string, withDefault, type Rule } from './config-schema';
import type { Placement } from './placement';

/**
 * The part of every connector's config that the kit defines (docs/connectors/kit.md): the server
 * and the local copies, the connector's name, placement, the table (collection) mappings, the
 * conflict policy, loads and schema changes. A connector's schema spreads {@link commonFields} and
 * {@link commonTableFields} and adds its own keys (PostgreSQL: `database`, `schema`, slot options).
 */

/**
 * What the first start copies: `from-database` (tables → realms from a consistent snapshot;
 * objects already in the realms are written to the tables too), `from-realm` (realm objects →
 * tables; existing rows are not copied into realms), `none` (nothing: only changes from now on,
 * both ways).
 */
export type InitialLoad = 'from-database' | 'from-realm' | 'none';

/**
 * What the connector does when a schema changes on one side. Additive changes only: a dropped
 * column or a changed type is reported, never applied.
 */
export interface SchemaChangesInput {
  /** A column (field) added to a mapped table becomes a realm property (default true). */
  addProperties?: boolean;
  /** A property a client adds to a mapped type becomes a column (default false: reported only). */
  addColumns?: boolean;
}

export interface SchemaChangesOptions {
  addProperties: boolean;
  addColumns: boolean;
}

export interface ColumnMappingInput {
  /** Property name (default: the column name). */
  property?: string;
  /** A value converter run after the type table's (JavaScript configs only). */
  toRealm?: (value: unknown) => unknown;
  /** The inverse of `toRealm` for realm → database writes; a column with `toRealm` but no `fromRealm` is not written back. */
  fromRealm?: (value: unknown) => unknown;
  /**
   * An integer counter incremented on both sides: database updates reach the realm as increments
   * and realm increments reach the database as `n = n + δ`, so concurrent increments on the two
   * sides add up instead of one overwriting the other.
   */
  counter?: boolean;
}

/** The keys every connector's table (collection) mapping has. */
export interface CommonTableMappingInput {
  /** Realm object type (default: the table name). */
  type?: string;
  /** Default: the connector's `realm`. */
  realm?: Placement;
  /** Renames (`'title'` → `{ title: 'name' }`), converters, counters, or `false` to leave a column out. Unlisted columns map by name. */
  columns?: Record<string, string | ColumnMappingInput | false>;
  /** The realm primary key: default the table's primary key. */
  primaryKey?: string | string[];
  /** Reference column → link property name, or false for no links. */
  links?: Record<string, string | false> | false;
}

/** The keys every connector's config has. */
export interface CommonConnectorConfig {
  /** Names the connector's state in the database and in realms; [a-z_][a-z0-9_]*, at most 41 characters. */
  name: string;
  /** The Tributary server: `realm://host:port` (or http://). */
  serverUrl: string;
  /** Admin token (or put `{"ADMIN_TOKEN": …}` in a file and give adminTokenFile). */
  adminToken?: string;
  adminTokenFile?: string;
  /** Directory for the connector's local realm copies (the Adapter's localPath). */
  localPath: string;
  /** Default placement. */
  realm?: Placement;
  /** Who wins a race between a database write and a realm write to the same row (default `database-wins`). */
  conflict?: ConflictPolicy;
  /** Realm transactions applied to the database in one database transaction, at most (default 100). */
  applyBatch?: number;
  /** What happens at the first start (default `from-database`). */
  initialLoad?: InitialLoad;
  /** Rows per batch during the initial load (default 2000). */
  batchSize?: number;
  schemaChanges?: SchemaChangesInput;
  /** Property holding a composite key encoded as a string (default `key`). */
  compositeKeyProperty?: string;
}

/** The resolved common options (defaults filled in). */
export interface CommonOptions {
  name: string;
  conflict: ConflictPolicy;
  applyBatch: number;
  initialLoad: InitialLoad;
  batchSize: number;
  schemaChanges: SchemaChangesOptions;
  compositeKeyProperty: string;
}

export const CONNECTOR_NAME = /^[a-z_][a-z0-9_]{0,40}$/;
const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A placement: a path starting with '/', `{ follow: column }`, or a function of the row. */
export const placementRule: Rule<Placement | undefined> = custom((v, path, issues) => {
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    if (!v.startsWith('/')) issues.add('CONFIG_VALUE', path, `a realm path must start with '/', got '${v}'`);
    return v;
  }
  if (typeof v === 'function') return v as Placement;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.follow !== 'string') issues.add(o.follow === undefined ? 'CONFIG_MISSING' : 'CONFIG_TYPE', `${path}.follow`, 'expected the name of a reference (foreign key) column');
    for (const k of Object.keys(o)) if (k !== 'follow') issues.add('CONFIG_UNKNOWN_KEY', `${path}.${k}`, 'unknown option; expected follow');
    return v as Placement;
  }
  issues.add('CONFIG_TYPE', path, "expected a path ('/x', '/x/{column}'), { follow: '<foreign key column>' } or a function of the row");
  return undefined;
});

const columnMapping = custom((v, path, issues) => {
  if (v === false || typeof v === 'string') return v;
  const rule = object({ property: string(), toRealm: func(), fromRealm: func(), counter: boolean() }, { expected: 'a property name, { property, toRealm, fromRealm, counter } or false' });
  return rule(v, path, issues);
});

const primaryKey = custom((v, path, issues) => {
  if (v === undefined || typeof v === 'string') return v;
  if (!Array.isArray(v) || v.length === 0 || v.some((k) => typeof k !== 'string')) issues.add(Array.isArray(v) ? 'CONFIG_VALUE' : 'CONFIG_TYPE', path, 'expected a column name or a non-empty list of them');
  return v as string[];
});

const links = custom((v, path, issues) => {
  if (v === undefined || v === false) return v;
  return record(
    custom((x, p, i) => {
      if (x !== false && typeof x !== 'string') i.add('CONFIG_TYPE', p, 'expected a property name or false');
      return x as string | false;
    }),
    { expected: '{ column: property | false } or false' },
  )(v, path, issues);
});

/** The keys of every table mapping (spread into the connector's table rule). */
export const commonTableFields = {
  type: string({ pattern: TYPE_NAME, expected: 'a type name ([A-Za-z_][A-Za-z0-9_]*)' }),
  realm: placementRule,
  columns: record(columnMapping, { expected: 'an object: { column: property | { property, toRealm, fromRealm, counter } | false }' }),
  primaryKey,
  links,
};

/** The keys of every connector config (spread into the connector's schema). */
export const commonFields = {
  name: required(string({ pattern: CONNECTOR_NAME, expected: 'a lowercase identifier ([a-z_][a-z0-9_]*, at most 41 characters)' }), 'the connector name'),
  serverUrl: required(string({ pattern: /^(realms?|https?):\/\//, expected: 'realm://host:port' }), 'the Tributary server, realm://host:port'),
  adminToken: string(),
  adminTokenFile: string(),
  localPath: required(string({ nonEmpty: true, expected: 'a directory for the local realm copies' }), 'a directory for the local realm copies'),
  realm: placementRule,
  conflict: oneOf(['database-wins', 'realm-wins'] as const, { default: 'database-wins' }),
  applyBatch: integer({ default: 100 }),
  initialLoad: oneOf(['from-database', 'from-realm', 'none'] as const, { default: 'from-database' }),
  batchSize: integer({ default: 2000 }),
  schemaChanges: withDefault(object({ addProperties: boolean({ default: true }), addColumns: boolean({ default: false }) }, { expected: '{ addProperties?: boolean, addColumns?: boolean }' }), { addProperties: true, addColumns: false }),
  compositeKeyProperty: withDefault(string({ nonEmpty: true, expected: 'a property name' }), 'key'),
};

/** The common options of a config validated with {@link commonFields}. */
export function commonOptions(v: { [K in keyof typeof commonFields]: ReturnType<(typeof commonFields)[K]> }): CommonOptions {
  return { name: v.name, conflict: v.conflict, applyBatch: v.applyBatch, initialLoad: v.initialLoad, batchSize: v.batchSize, schemaChanges: v.schemaChanges, compositeKeyProperty: v.compositeKeyProperty };
}

/**
 * Reads a connector config file: `.json`, or a `.js`/`.ts` module exporting it (default or
 * `config`). Relative `localPath` and `adminTokenFile` are taken relative to the file.
 */
export function loadConfigFile<C = Record<string, unknown>>(configPath: string): C {
  const file = path.resolve(configPath);
  if (!fs.existsSync(file)) throw new TributaryError('CONFIG_INVALID', `connector config ${file} not found`);
  let mod: unknown;
  try {
    mod = require(file);
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `cannot read connector config ${file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const m = mod as { default?: unknown; config?: unknown };
  const config = (m.default ?? m.config ?? mod) as Record<string, unknown>;
  if (typeof config.localPath === 'string') config.localPath = path.resolve(path.dirname(file), config.localPath);
  if (typeof config.adminTokenFile === 'string') config.adminTokenFile = path.resolve(path.dirname(file), config.adminTokenFile);
  return config as C;
}

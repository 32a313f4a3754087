import { commonFields, commonOptions, commonTableFields, type CommonConnectorConfig, type CommonOptions, type CommonTableMappingInput } from '../kit/config';
import { custom, integer, object, record, required, string, validate, withDefault, type Issues } from '../kit/config-schema';

export type { Placement } from '../kit/placement';
export type { ColumnMappingInput, InitialLoad, SchemaChangesInput, SchemaChangesOptions } from '../kit/config';
export type { ConflictPolicy } from '../kit/conflict';

/**
 * The MongoDB connector's config: the kit's common keys (connectors/kit/config.ts) and MongoDB's
 * own — the deployment (`url`, a replica set or sharded cluster), the `database` whose collections
 * `tables` maps (keys are collection names), the declared `schema` of collections, the realm
 * property of `_id`, the partition field, and the sample size of schema inference. Validated in one
 * pass reporting every problem (the kit's config-schema.ts); catalog checks happen at start
 * (mapping.ts).
 */

/** A field's realm type as declared: `'int'`, `'string?'`, `'objectId'`, `'double[]'`, `'decimal128?'`… (docs/connectors/mongodb.md, "Types"). */
export type DeclaredType = string;

export interface TableMappingInput extends CommonTableMappingInput {
  /**
   * Fields holding the `_id` of a document of another mapped collection: `{ shop_id: 'shop' }`.
   * `{ follow }` placement and `links` use them. Undeclared, a `{ follow: 'x_id' }` (or `xId`)
   * field is taken to reference collection `x` (or `xs`) when that collection is mapped.
   */
  references?: Record<string, string>;
  /**
   * A partition field: the realm of a document is the field's value (a realm path), as Atlas
   * Device Sync did with `_partition`; documents written from a realm get the realm's path in it.
   * `true` means `_partition`. Exclusive with `realm`.
   */
  partition?: string | boolean;
}

export interface MongoConnectorConfig extends CommonConnectorConfig {
  /** A MongoDB connection string of a replica set or sharded cluster (a single-node replica set is enough). */
  url: string;
  /** The database whose collections `tables` maps (and where the connector keeps its apply positions and dead letters). */
  database: string;
  tables: Record<string, TableMappingInput>;
  /**
   * Declared field types per collection: `{ item: { label: 'string', price: 'double?', tags: 'string[]' } }`.
   * Fields not declared are inferred from a sample (`sampleSize`) with conflicts reported.
   */
  schema?: Record<string, Record<string, DeclaredType>>;
  /** The realm property that holds a document's `_id` (default `_id`, as Atlas Device Sync); `columns: { _id: '…' }` renames it per collection. */
  idProperty?: string;
  /** Documents read per collection to infer undeclared fields' types (default 1000; 0: declared fields only). */
  sampleSize?: number;
  /** Events of one source transaction kept in memory before the rest spills to a temporary file (default 5000). */
  spillThreshold?: number;
  /** How long a change-stream getMore waits for new events (maxAwaitTimeMS, default 1000). */
  maxAwaitTimeMS?: number;
}

export interface ResolvedOptions extends CommonOptions {
  url: string;
  database: string;
  idProperty: string;
  sampleSize: number;
  spillThreshold: number;
  maxAwaitTimeMS: number;
  /** The connector's own collections (in `database`). */
  positionsCollection: string;
  deadLettersCollection: string;
  markersCollection: string;
}

const PROPERTY = /^[A-Za-z_$][A-Za-z0-9_$]{0,62}$/;
const TYPE_TEXT = /^(bool|int|float|double|string|date|data|decimal128|objectId|uuid|mixed)(\?|\[\]|\?\[\]|\[\]\?)?$/;

const partition = custom((v, path, issues) => {
  if (v === undefined || typeof v === 'boolean') return v;
  if (typeof v !== 'string' || v === '') issues.add('CONFIG_TYPE', path, 'expected a field name or true (`_partition`)');
  return v as string;
});

const table = object(
  {
    ...commonTableFields,
    references: record(string({ nonEmpty: true, expected: 'a collection name' }), { expected: '{ field: collection }' }),
    partition,
  },
  { expected: 'a collection mapping object ({} maps every field by name)' },
);

const url = custom((v: unknown, path: string, issues: Issues) => {
  if (v === undefined) issues.add('CONFIG_MISSING', path, 'required: a MongoDB connection string (mongodb://host/?replicaSet=rs0)');
  else if (typeof v !== 'string') issues.add('CONFIG_TYPE', path, 'expected a MongoDB connection string');
  else if (!/^mongodb(\+srv)?:\/\//.test(v)) issues.add('CONFIG_VALUE', path, 'expected a connection string starting with mongodb:// or mongodb+srv://');
  return v as string;
});

const declared = record(
  record(
    custom((v, path, issues) => {
      if (typeof v !== 'string' || !TYPE_TEXT.test(v)) issues.add(typeof v === 'string' ? 'CONFIG_VALUE' : 'CONFIG_TYPE', path, "expected a realm type: 'int', 'string?', 'double[]', 'objectId', 'decimal128', 'uuid', 'date', 'data', 'bool'…");
      return v as string;
    }),
    { expected: '{ field: type }' },
  ),
  { expected: '{ collection: { field: type } }' },
);

const schema = object({
  ...commonFields,
  url,
  database: required(string({ pattern: /^[^/\\. "$]{1,63}$/, expected: 'a database name' }), 'the database whose collections are mapped'),
  tables: record(table, { minKeys: 1, expected: 'at least one mapped collection' }),
  schema: declared,
  idProperty: withDefault(string({ pattern: PROPERTY, expected: 'a property name' }), '_id'),
  sampleSize: integer({ min: 0, default: 1000 }),
  spillThreshold: integer({ default: 5000 }),
  maxAwaitTimeMS: integer({ default: 1000 }),
});

/**
 * Validates the shape of a config, reporting every problem at once (CONFIG_INVALID with `issues`),
 * and resolves the defaults.
 *
 * @example
 * const c = validateConfig({ name: 'shop', url: 'mongodb://127.0.0.1/?replicaSet=rs0', database: 'shop', serverUrl: 'realm://127.0.0.1:9080', localPath: './data', realm: '/shop', tables: { item: {} } });
 */
export function validateConfig(input: unknown): MongoConnectorConfig & { resolved: ResolvedOptions } {
  if (input && typeof input === 'object' && 'resolved' in input) {
    const { resolved: _, ...written } = input as Record<string, unknown>;
    input = written;
  }
  const v = validate(schema, input, 'mongodb connector config');
  const resolved: ResolvedOptions = {
    ...commonOptions(v),
    url: v.url,
    database: v.database,
    idProperty: v.idProperty,
    sampleSize: v.sampleSize,
    spillThreshold: v.spillThreshold,
    maxAwaitTimeMS: v.maxAwaitTimeMS,
    positionsCollection: 'tributary_apply_positions',
    deadLettersCollection: 'tributary_dead_letters',
    markersCollection: 'tributary_markers',
  };
  return { ...(input as MongoConnectorConfig), resolved };
}

/** A connection string with its password replaced by `***` (for logs and errors). */
export function redactUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/** MongoClient options for a connection string: a 10 s server selection unless the URL sets its own. */
export function clientOptions(url: string, timeoutMs = 10_000): { serverSelectionTimeoutMS?: number } {
  return /[?&]serverSelectionTimeoutMS=/i.test(url) ? {} : { serverSelectionTimeoutMS: timeoutMs };
}

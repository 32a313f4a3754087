import type { ObjectKey, Value } from '../../src/model';
import { UUID } from '../../src/model';
import { connectorError } from '../kit/errors';
import { decodeCompositeKey, encodeCompositeKey } from '../kit/keys';
import { resolvePlacement, type PlacedTable, type ResolvedPlacement } from '../kit/placement';
import { STATE_TYPE } from '../kit/position';
import type { ColumnMappingInput } from '../kit/config';
import type { SqlServerConnectorConfig, ResolvedOptions } from './config';
import type { Row, Sql } from './db';
import { columnType, type SqlColumnType } from './types';
import { nstring, qualify } from './tsql';

/**
 * The mapping resolved against SQL Server's catalog (sys.columns, sys.indexes, sys.foreign_keys):
 * tables ↔ types, columns ↔ properties, keys (composite keys encoded reversibly), references ↔
 * links, placement; and the row codec the kit's sink and router use.
 */

export interface CatalogColumn {
  name: string;
  type: SqlColumnType;
  nullable: boolean;
  identity: boolean;
  computed: boolean;
}

export interface ResolvedColumn {
  column: string;
  property: string;
  type: SqlColumnType;
  optional: boolean;
  toRealm?: (v: unknown) => unknown;
  fromRealm?: (v: unknown) => unknown;
  counter: boolean;
  /** Never written: computed columns and rowversion. */
  readOnly: boolean;
  identity: boolean;
}

export interface ResolvedLink {
  column: string;
  property: string;
  targetTable: string;
}

export interface ResolvedTable extends PlacedTable {
  table: string;
  schema: string;
  qualified: string;
  type: string;
  allColumns: CatalogColumn[];
  columns: ResolvedColumn[];
  byColumn: Map<string, ResolvedColumn>;
  keyColumns: string[];
  keyProperty: string;
  composite: boolean;
  links: ResolvedLink[];
  placement: ResolvedPlacement;
  /** The fixed path, or '*' for partitioned placements (the realm schema is shared by the family). */
  family: string;
  /** The highest column_id seen (a new column means a schema change). */
  maxColumnId: number;
}

export interface ResolvedMapping {
  tables: Map<string, ResolvedTable>;
  byType: Map<string, ResolvedTable>;
  loadOrder: ResolvedTable[];
  options: ResolvedOptions;
}

/** The type the connector's counter bases live in, in each realm with counters (see counters.ts). */
export const COUNTER_TYPE = 'TributaryCounter';

function mappingError(message: string): Error {
  return connectorError('CONNECTOR_MAPPING_INVALID', `sqlserver connector mapping: ${message}`);
}

const linkName = (column: string) => (column.endsWith('_id') && column.length > 3 ? column.slice(0, -3) : `${column}_link`);

/** The columns of a table from the catalog (empty when the table does not exist). */
export async function catalogColumns(db: Sql, schema: string, table: string): Promise<{ columns: (CatalogColumn & { id: number; sqlType: string })[] }> {
  const r = await db.query(
    `SELECT c.name, c.column_id, TYPE_NAME(c.system_type_id) AS type_name, c.is_nullable, c.is_identity, c.is_computed FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(${nstring(`${schema}.${table}`)}) ORDER BY c.column_id`,
  );
  return {
    columns: r.rows.map((x) => {
      const sqlType = String(x.type_name);
      return { name: String(x.name), id: Number(x.column_id), sqlType, type: columnType(sqlType)!, nullable: !!x.is_nullable, identity: !!x.is_identity, computed: !!x.is_computed };
    }),
  };
}

function columnEntry(c: CatalogColumn, m: string | ColumnMappingInput | false | undefined): ResolvedColumn | null {
  if (m === false) return null;
  const property = typeof m === 'string' ? m : (m?.property ?? c.name);
  const o = typeof m === 'object' ? m : undefined;
  return { column: c.name, property, type: c.type, optional: c.nullable, toRealm: o?.toRealm, fromRealm: o?.fromRealm, counter: o?.counter === true, readOnly: c.computed || !!c.type.readOnly, identity: c.identity };
}

/** Resolves and validates the mapping against the catalog of the connected database. */
export async function resolveMapping(db: Sql, config: SqlServerConnectorConfig, options: ResolvedOptions): Promise<ResolvedMapping> {
  const schema = options.schema;
  const existing = (await db.query(`SELECT t.name FROM sys.tables AS t WHERE SCHEMA_NAME(t.schema_id) = ${nstring(schema)} ORDER BY t.name`)).rows.map((r) => String(r.name));
  const tables = new Map<string, ResolvedTable>();
  const byType = new Map<string, ResolvedTable>();
  const foreignKeys = new Map<string, { column: string; targetTable: string }[]>();
  const defaultPlacement = config.realm ?? '/{schema}';

  for (const [table, input] of Object.entries(config.tables)) {
    if (!existing.some((n) => n === table)) {
      const near = existing.find((n) => n.toLowerCase() === table.toLowerCase());
      throw mappingError(`table ${schema}.${table} does not exist${near ? ` — did you mean "${near}"?` : ''}; tables in ${schema}: ${existing.filter((n) => !n.startsWith('tributary_')).join(', ') || '(none)'}`);
    }
    const { columns: cat } = await catalogColumns(db, schema, table);
    const names = cat.map((c) => c.name);
    const unknown = (col: string, where: string) => mappingError(`tables.${table}.${where} names column '${col}', which ${schema}.${table} does not have; its columns: ${names.join(', ')}`);
    for (const col of Object.keys(input.columns ?? {})) if (!names.includes(col)) throw unknown(col, 'columns');
    const pk = await db.query(
      `SELECT c.name FROM sys.indexes AS i JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id WHERE i.object_id = OBJECT_ID(${nstring(`${schema}.${table}`)}) AND i.is_primary_key = 1 ORDER BY ic.key_ordinal`,
    );
    const pkColumns = pk.rows.map((r) => String(r.name));
    if (pkColumns.length === 0) throw mappingError(`table ${schema}.${table} has no primary key; Change Tracking needs one (ALTER TABLE ${qualify(schema, table)} ADD PRIMARY KEY (…))`);
    const keyColumns = input.primaryKey === undefined ? pkColumns : Array.isArray(input.primaryKey) ? input.primaryKey : [input.primaryKey];
    for (const k of keyColumns) {
      if (!names.includes(k)) throw unknown(k, 'primaryKey');
      if (!pkColumns.includes(k)) throw mappingError(`tables.${table}.primaryKey: '${k}' is not part of the table's primary key (${pkColumns.join(', ')}); Change Tracking reports deletes by primary key only`);
      if (input.columns?.[k] === false) throw mappingError(`tables.${table}.columns.${k}: a key column cannot be left out`);
    }
    if (keyColumns.length !== pkColumns.length) throw mappingError(`tables.${table}.primaryKey: every primary key column (${pkColumns.join(', ')}) is needed to identify a row`);

    const columns: ResolvedColumn[] = [];
    for (const c of cat) {
      const m = input.columns?.[c.name];
      if (!c.type) {
        if (m === false) continue;
        throw mappingError(`column ${schema}.${table}.${c.name} has type ${c.sqlType}, which the connector does not map (docs/connectors/sqlserver.md, "Types"); leave it out with columns: { ${c.name}: false }`);
      }
      const r = columnEntry(c, m);
      if (!r) continue;
      if (r.counter) {
        if (r.type.realm !== 'int') throw mappingError(`tables.${table}.columns.${c.name}.counter: ${c.name} is ${c.sqlType}; a counter must be an integer column`);
        if (keyColumns.includes(c.name)) throw mappingError(`tables.${table}.columns.${c.name}.counter: a key column cannot be a counter`);
        if (r.readOnly) throw mappingError(`tables.${table}.columns.${c.name}.counter: a computed column cannot be a counter`);
      }
      columns.push(r);
    }
    const first = columns.find((c) => c.column === keyColumns[0])!;
    const composite = keyColumns.length > 1 || !['int', 'string', 'uuid'].includes(first.type.realm);
    const keyProperty = composite ? options.compositeKeyProperty : first.property;
    if (composite && columns.some((c) => c.property === keyProperty)) throw mappingError(`tables.${table}: the composite key property '${keyProperty}' collides with a column; set compositeKeyProperty`);

    const fk = await db.query(
      `SELECT fkc.constraint_object_id AS fk, pc.name AS column_name, OBJECT_NAME(fkc.referenced_object_id) AS target FROM sys.foreign_key_columns AS fkc JOIN sys.columns AS pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id WHERE fkc.parent_object_id = OBJECT_ID(${nstring(`${schema}.${table}`)})`,
    );
    const perConstraint = new Map<number, { column: string; targetTable: string }[]>();
    for (const r of fk.rows) {
      const id = Number(r.fk);
      if (!perConstraint.has(id)) perConstraint.set(id, []);
      perConstraint.get(id)!.push({ column: String(r.column_name), targetTable: String(r.target) });
    }
    foreignKeys.set(table, [...perConstraint.values()].filter((l) => l.length === 1).map((l) => l[0]!));

    const placement = resolvePlacement(input.realm ?? defaultPlacement, {
      schema,
      table,
      columns: names,
      followTarget: (col) => foreignKeys.get(table)!.find((f) => f.column === col)?.targetTable ?? null,
      unknownColumn: unknown,
      fail: (where, message) => mappingError(`tables.${table}.${where}: ${message}`),
    });
    const type = input.type ?? table;
    if (type === STATE_TYPE || type === COUNTER_TYPE) throw mappingError(`tables.${table}.type: ${type} is reserved for the connector`);
    if (byType.has(type)) throw mappingError(`tables.${table}.type: '${type}' is already the type of table ${byType.get(type)!.table}`);
    const resolved: ResolvedTable = {
      table,
      schema,
      qualified: qualify(schema, table),
      type,
      allColumns: cat.filter((c) => c.type),
      columns,
      byColumn: new Map(columns.map((c) => [c.column, c])),
      keyColumns,
      keyProperty,
      composite,
      links: [],
      placement,
      family: placement.kind === 'fixed' ? placement.path : '*',
      maxColumnId: Math.max(0, ...cat.map((c) => c.id)),
    };
    tables.set(table, resolved);
    byType.set(type, resolved);
  }

  for (const t of tables.values()) {
    if (t.placement.kind === 'follow' && !tables.has(t.placement.targetTable)) throw mappingError(`tables.${t.table}.realm.follow: '${t.placement.column}' points at ${t.placement.targetTable}, which is not mapped`);
    const input = config.tables[t.table]!;
    const explicit = input.links === false ? {} : (input.links ?? null);
    if (explicit) for (const col of Object.keys(explicit)) if (!foreignKeys.get(t.table)!.some((f) => f.column === col)) throw mappingError(`tables.${t.table}.links: '${col}' is not a single-column foreign key of ${t.table}`);
    for (const fk of foreignKeys.get(t.table)!) {
      const target = tables.get(fk.targetTable);
      if (!target || target.composite || !t.byColumn.has(fk.column)) continue;
      let property: string | false;
      if (input.links === false) property = false;
      else if (explicit && fk.column in explicit) property = explicit[fk.column]!;
      else property = target.family === t.family ? linkName(fk.column) : false;
      if (property === false) continue;
      let p = property;
      while (t.columns.some((c) => c.property === p) || t.links.some((l) => l.property === p) || p === t.keyProperty) p += '_link';
      t.links.push({ column: fk.column, property: p, targetTable: target.table });
    }
  }

  const loadOrder: ResolvedTable[] = [];
  const visiting = new Set<string>();
  const visit = (t: ResolvedTable): void => {
    if (loadOrder.includes(t) || visiting.has(t.table)) return;
    visiting.add(t.table);
    for (const l of t.links) visit(tables.get(l.targetTable)!);
    if (t.placement.kind === 'follow') visit(tables.get(t.placement.targetTable)!);
    visiting.delete(t.table);
    loadOrder.push(t);
  };
  for (const t of tables.values()) visit(t);
  return { tables, byType, loadOrder, options };
}

// ── keys ──

/**
 * One key column's value as text in a composite key: integers in decimal, text as is,
 * uniqueidentifiers lower-case with dashes, dates as ISO 8601 UTC, bit as 1/0, binaries as hex.
 */
export function keyPartText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof UUID) return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'string' && /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/.test(v)) return v.toLowerCase();
  return String(v);
}

/**
 * The realm key of a row of a table with a composite primary key (or a key type a realm primary
 * key cannot be): each key column's text ({@link keyPartText}) with `\` and `|` escaped, joined by
 * `|`, in primary key order.
 *
 * @example
 * compositeKey(['EU', 42]); // 'EU|42' — the `key` property of the row (region 'EU', id 42)
 * compositeKey(['a|b', new Date('2024-01-01T00:00:00Z')]); // 'a\\|b|2024-01-01T00:00:00.000Z'
 */
export function compositeKey(values: readonly unknown[]): string {
  return encodeCompositeKey(values.map(keyPartText));
}

/** The key column values of a composite realm key, as parameters for its columns. */
export function keyParams(t: ResolvedTable, key: ObjectKey): unknown[] {
  if (!t.composite) return [key instanceof UUID ? key.toString() : key];
  const parts = decodeCompositeKey(String(key));
  return t.keyColumns.map((k, i) => {
    const text = parts[i] ?? '';
    const c = t.allColumns.find((x) => x.name === k)!;
    switch (c.type.realm) {
      case 'int':
        return Number(text);
      case 'bool':
        return text === '1';
      case 'date':
        return new Date(text);
      case 'data':
        return Buffer.from(text, 'hex');
      default:
        return text;
    }
  });
}

/** The realm key of a row (null when a key column is missing). `prefix`: read the key from `__k<i>` columns. */
export function rowKey(t: ResolvedTable, row: Row, fromChangeRecord = false): ObjectKey | null {
  const values: unknown[] = [];
  for (let i = 0; i < t.keyColumns.length; i++) {
    const v = row[fromChangeRecord ? `__k${i}` : t.keyColumns[i]!];
    if (v === null || v === undefined) return null;
    values.push(v);
  }
  if (t.composite) return compositeKey(values);
  return t.byColumn.get(t.keyColumns[0]!)!.type.fromDb(values[0]) as ObjectKey;
}

/** A row's property values for the realm (columns absent from the row left out). */
export function rowValues(t: ResolvedTable, row: Row, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) {
    const v = row[c.column];
    if (v === undefined) continue;
    try {
      let x: unknown = v === null ? null : c.type.fromDb(v);
      if (c.toRealm) x = c.toRealm(x);
      out[c.property] = x;
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `${where}: column ${t.table}.${c.column} (${c.type.sqlType}): ${(e as Error).message}`, e);
    }
  }
  if (t.composite) out[t.keyProperty] = rowKey(t, row);
  return out;
}

/** A row's values by column name (converted, not renamed) for placement functions. */
export function rowForPlacement(t: ResolvedTable, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.allColumns) {
    const v = row[c.name];
    out[c.name] = v === null || v === undefined ? v : (c.type.fromDb(v) as Value);
  }
  return out;
}

/** realm-js schemas of the types that live in a realm of `family` (and the connector's own types). */
export function realmSchemaFor(mapping: ResolvedMapping, family: string): { name: string; primaryKey?: string; properties: Record<string, unknown> }[] {
  const out: { name: string; primaryKey?: string; properties: Record<string, unknown> }[] = [];
  let counters = false;
  for (const t of mapping.tables.values()) {
    if (t.family !== family) continue;
    const properties: Record<string, unknown> = {};
    if (t.composite) properties[t.keyProperty] = 'string';
    // Columns SQL Server fills (rowversion, computed, a non-key identity) are optional: a client creating an object cannot know them.
    for (const c of t.columns) properties[c.property] = { type: c.type.realm, optional: c.property !== t.keyProperty && (c.optional || c.readOnly || c.identity) };
    for (const l of t.links) properties[l.property] = { type: 'object', objectType: mapping.tables.get(l.targetTable)!.type };
    out.push({ name: t.type, primaryKey: t.keyProperty, properties });
    if (t.columns.some((c) => c.counter)) counters = true;
  }
  out.push({ name: STATE_TYPE, primaryKey: 'connector', properties: { connector: 'string', resumeFrom: 'string', updatedAt: 'date' } });
  if (counters) out.push({ name: COUNTER_TYPE, primaryKey: 'id', properties: { id: 'string', base: 'int', applied: 'int', version: 'int' } });
  return out;
}

/** The realm schema of a path: the fixed placement's types at that path, else the partitioned family's. */
export function mappingRealmSchema(mapping: ResolvedMapping, path: string) {
  const fixed = [...mapping.tables.values()].some((t) => t.family === path);
  return realmSchemaFor(mapping, fixed ? path : '*');
}

import type { Client } from 'pg';
import type { ObjectKey, Value } from '../../src/model';
import type { Placement, PostgresConnectorConfig, ResolvedOptions } from './config';
import { connectorError } from './errors';
import { encodeCompositeKey } from '../kit/keys';
import { resolvePlacement } from '../kit/placement';
import { STATE_TYPE } from './position';
import { listPropertySchema, resolveSideLists } from './side-list-mapping';
import type { RawRow, ResolvedColumn, ResolvedLink, ResolvedMapping, ResolvedSideList, ResolvedTable } from './mapping-types';

export type { RawRow, ResolvedColumn, ResolvedLink, ResolvedMapping, ResolvedPlacement, ResolvedSideList, ResolvedTable } from './mapping-types';
import { realmTypeFor, type PgTypeDescription, type RealmColumnType } from './types';

/**
 * Tables ↔ types, columns ↔ properties, foreign keys ↔ links, primary keys ↔ primary keys and
 * rows ↔ realms, resolved against the live catalog at start. Every mistake in the mapping is
 * reported here, before anything is created, with a stable code and what exists instead.
 */

interface CatalogColumn {
  name: string;
  notNull: boolean;
  typeOid: number;
  generated: boolean;
}

/** One row of pg_type, as the catalog keeps it. */
interface PgTypeRow {
  typname: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typcategory: string;
}

/**
 * The domain the connector creates for realm `objectId` columns (text of 24 hex digits). The
 * catalog keeps it instead of resolving it to text, so the column maps back to `objectId` after a
 * restart (types.ts has its row).
 */
export const OBJECT_ID_DOMAIN = 'tributary_objectid';

/**
 * pg_type, for turning column type OIDs into {@link PgTypeDescription}s. `describe` queries what
 * it does not hold; `preload` reads the whole table once (a few hundred rows) so that
 * `describeLoaded` can answer synchronously — capture handles replication frames synchronously
 * and resolves the types of new columns in Relation messages that way.
 */
export class TypeCatalog {
  private readonly rows = new Map<number, PgTypeRow>();
  private readonly cache = new Map<number, PgTypeDescription>();
  constructor(private readonly sql: Pick<Client, 'query'> | null = null) {}

  async preload(sql: Pick<Client, 'query'> | null = this.sql): Promise<void> {
    if (!sql) throw connectorError('CONNECTOR_SOURCE_FAILED', 'the type catalog has no connection');
    const r = await sql.query('SELECT oid::int8::text AS oid, typname, typtype, typbasetype::int8::text AS typbasetype, typelem::int8::text AS typelem, typcategory FROM pg_type');
    for (const row of r.rows as Record<string, string>[]) this.rows.set(Number(row.oid), toTypeRow(row));
  }

  async describe(oid: number, sql: Pick<Client, 'query'> | null = this.sql): Promise<PgTypeDescription> {
    await this.load(oid, sql);
    return this.describeLoaded(oid)!;
  }

  /** The description from rows already read (preload, earlier describes), or null for an OID not seen (a type created since). */
  describeLoaded(oid: number): PgTypeDescription | null {
    const hit = this.cache.get(oid);
    if (hit) return hit;
    const row = this.rows.get(oid);
    if (!row) return null;
    let d: PgTypeDescription | null;
    if (row.typtype === 'd' && row.typname === OBJECT_ID_DOMAIN) d = { name: OBJECT_ID_DOMAIN, kind: 'b' };
    else if (row.typtype === 'd') d = this.describeLoaded(row.typbasetype);
    else if (row.typcategory === 'A' && row.typelem !== 0) {
      const element = this.describeLoaded(row.typelem);
      d = element ? { name: row.typname, kind: row.typtype, element } : null;
    } else d = { name: row.typname, kind: row.typtype };
    if (d) this.cache.set(oid, d);
    return d;
  }

  private async load(oid: number, sql: Pick<Client, 'query'> | null): Promise<void> {
    let row = this.rows.get(oid);
    if (!row) {
      if (!sql) throw connectorError('CONNECTOR_SOURCE_FAILED', `type oid ${oid} is not loaded and the type catalog has no connection`);
      const r = await sql.query('SELECT typname, typtype, typbasetype::int8::text AS typbasetype, typelem::int8::text AS typelem, typcategory FROM pg_type WHERE oid = $1', [oid]);
      if (r.rows.length === 0) throw connectorError('CONNECTOR_MAPPING_INVALID', `type oid ${oid} not found`);
      row = toTypeRow(r.rows[0] as Record<string, string>);
      this.rows.set(oid, row);
    }
    if (row.typtype === 'd' && row.typname !== OBJECT_ID_DOMAIN) await this.load(row.typbasetype, sql);
    else if (row.typcategory === 'A' && row.typelem !== 0) await this.load(row.typelem, sql);
  }
}

function toTypeRow(r: Record<string, string>): PgTypeRow {
  return { typname: r.typname, typtype: r.typtype, typbasetype: Number(r.typbasetype), typelem: Number(r.typelem), typcategory: r.typcategory };
}

function mappingError(message: string): Error {
  return connectorError('CONNECTOR_MAPPING_INVALID', `postgres connector mapping: ${message}`);
}

function linkName(column: string): string {
  return column.endsWith('_id') && column.length > 3 ? column.slice(0, -3) : `${column}_link`;
}

/** Resolves and validates the mapping against the catalog of the connected database. */
export async function resolveMapping(sql: Client, config: PostgresConnectorConfig, options: ResolvedOptions): Promise<ResolvedMapping> {
  const schema = options.schema;
  const types = new TypeCatalog(sql);
  const existing = await sql.query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1", [schema]);
  const existingNames = existing.rows.map((r) => r.relname as string);
  const tables = new Map<string, ResolvedTable>();
  const byType = new Map<string, ResolvedTable>();
  const foreignKeys = new Map<string, { column: string; targetTable: string }[]>();
  const defaultPlacement: Placement = config.realm ?? '/{schema}';

  for (const [table, input] of Object.entries(config.tables)) {
    const rel = await sql.query(
      "SELECT c.oid, c.relkind, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
      [schema, table],
    );
    if (rel.rows.length === 0) {
      const near = nearestName(table, existingNames);
      throw mappingError(`table ${schema}.${table} does not exist${near ? ` — did you mean "${near}"?` : ''}; tables in ${schema}: ${existingNames.join(', ') || '(none)'} (table names are exact and case-sensitive)`);
    }
    const { oid, relkind, relreplident } = rel.rows[0] as { oid: number; relkind: string; relreplident: string };
    const cols = await sql.query("SELECT attname, attnotnull, atttypid, attgenerated <> '' AS generated FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [oid]);
    const catalogColumns: CatalogColumn[] = cols.rows.map((r) => ({ name: r.attname, notNull: r.attnotnull, typeOid: Number(r.atttypid), generated: r.generated }));
    const columnNames = catalogColumns.map((c) => c.name);
    const unknown = (col: string, where: string) => mappingError(`tables.${table}.${where} names column '${col}', which ${schema}.${table} does not have; its columns: ${columnNames.join(', ')}`);
    for (const col of Object.keys(input.columns ?? {})) if (!columnNames.includes(col)) throw unknown(col, 'columns');

    const pk = await sql.query(
      'SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)',
      [oid],
    );
    const pkColumns = pk.rows.map((r) => r.attname as string);
    if (pkColumns.length === 0 && relreplident !== 'f') {
      throw connectorError(
        'PG_REPLICA_IDENTITY',
        `table ${schema}.${table} has no primary key and REPLICA IDENTITY ${relreplident === 'n' ? 'NOTHING' : 'DEFAULT'}, so its updates and deletes cannot be identified; add a primary key or run ALTER TABLE ${schema}.${table} REPLICA IDENTITY FULL`,
      );
    }
    if (relreplident === 'n') throw connectorError('PG_REPLICA_IDENTITY', `table ${schema}.${table} has REPLICA IDENTITY NOTHING; run ALTER TABLE ${schema}.${table} REPLICA IDENTITY DEFAULT (or FULL)`);
    if (relkind === 'p') {
      const parts = await sql.query(
        "SELECT c.relname, c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS haspk FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = $1",
        [oid],
      );
      for (const p of parts.rows) {
        if (!p.haspk && p.relreplident !== 'f') throw connectorError('PG_REPLICA_IDENTITY', `partition ${schema}.${p.relname} of ${table} has no primary key; add one or run ALTER TABLE ${schema}.${p.relname} REPLICA IDENTITY FULL`);
      }
    }
    const keyColumns = input.primaryKey === undefined ? pkColumns : Array.isArray(input.primaryKey) ? input.primaryKey : [input.primaryKey];
    if (keyColumns.length === 0) throw mappingError(`tables.${table}: the table has no primary key (REPLICA IDENTITY FULL); declare primaryKey: the column(s) that identify a row`);
    for (const k of keyColumns) {
      if (!columnNames.includes(k)) throw unknown(k, 'primaryKey');
      if (pkColumns.length > 0 && !pkColumns.includes(k)) throw mappingError(`tables.${table}.primaryKey: '${k}' is not part of the table's primary key (${pkColumns.join(', ')}), so deletes would not carry it`);
      if (input.columns?.[k] === false) throw mappingError(`tables.${table}.columns.${k}: a key column cannot be left out`);
    }

    const allColumns: ResolvedTable['allColumns'] = [];
    const columns: ResolvedColumn[] = [];
    for (const c of catalogColumns) {
      const t = realmTypeFor(await types.describe(c.typeOid));
      allColumns.push(c.generated ? { name: c.name, type: t, generated: true } : { name: c.name, type: t });
      const m = input.columns?.[c.name];
      if (m === false) continue;
      const property = typeof m === 'string' ? m : (m?.property ?? c.name);
      columns.push({ column: c.name, property, type: t, optional: !c.notNull, toRealm: typeof m === 'object' ? m?.toRealm : undefined, fromRealm: typeof m === 'object' ? m?.fromRealm : undefined, counter: typeof m === 'object' && m?.counter === true, ...(c.generated ? { generated: true } : {}) });
      if (c.generated && keyColumns.includes(c.name)) throw mappingError(`tables.${table}: key column ${c.name} is a generated column; declare primaryKey with stored columns`);
      if (typeof m === 'object' && m?.counter) {
        if (t.realm !== 'int' || t.list) throw mappingError(`tables.${table}.columns.${c.name}.counter: ${c.name} is ${t.pgType}; a counter must be an integer column`);
        if (keyColumns.includes(c.name)) throw mappingError(`tables.${table}.columns.${c.name}.counter: a key column cannot be a counter`);
        if (relreplident !== 'f') throw connectorError('PG_REPLICA_IDENTITY', `tables.${table}.columns.${c.name} is a counter, which needs the old row in the change stream: run ALTER TABLE ${schema}.${table} REPLICA IDENTITY FULL`);
      }
    }
    const composite = keyColumns.length > 1 || !['int', 'string', 'uuid', 'objectId'].includes(columns.find((c) => c.column === keyColumns[0])!.type.realm) || columns.find((c) => c.column === keyColumns[0])!.type.list;
    const keyProperty = composite ? options.compositeKeyProperty : columns.find((c) => c.column === keyColumns[0])!.property;
    if (composite && columns.some((c) => c.property === keyProperty)) throw mappingError(`tables.${table}: the composite key property '${keyProperty}' collides with a column; set compositeKeyProperty`);

    // Foreign keys of the table and, for a partitioned table, of its partitions (Pagila declares payment's there).
    const fks = await sql.query(
      `SELECT DISTINCT a.attname AS column, t.relname AS target, array_length(k.conkey, 1) AS n
         FROM pg_constraint k
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         JOIN pg_class t ON t.oid = k.confrelid
        WHERE k.contype = 'f' AND (k.conrelid = $1 OR k.conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1))`,
      [oid],
    );
    foreignKeys.set(
      table,
      fks.rows.filter((r) => Number(r.n) === 1).map((r) => ({ column: r.column as string, targetTable: r.target as string })),
    );

    const placement = resolvePlacement(input.realm ?? defaultPlacement, {
      schema,
      table,
      columns: columnNames,
      followTarget: (col) => foreignKeys.get(table)!.find((f) => f.column === col)?.targetTable ?? null,
      unknownColumn: unknown,
      fail: (where, message) => mappingError(`tables.${table}.${where}: ${message}`),
    });
    const type = input.type ?? table;
    if (type === STATE_TYPE) throw mappingError(`tables.${table}.type: ${STATE_TYPE} is reserved for the connector's position`);
    const resolved: ResolvedTable = {
      table,
      qualified: `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`,
      type,
      allColumns,
      columns,
      byColumn: new Map(columns.map((c) => [c.column, c])),
      keyColumns,
      keyProperty,
      composite,
      links: [],
      placement,
      partitioned: relkind === 'p',
      family: placement.kind === 'fixed' ? placement.path : '*',
      generated: columns.filter((c) => c.generated),
    };
    if (byType.has(type)) throw mappingError(`tables.${table}.type: '${type}' is already the type of table ${byType.get(type)!.table}`);
    tables.set(table, resolved);
    byType.set(type, resolved);
  }

  for (const t of tables.values()) {
    if (t.placement.kind === 'follow' && !tables.has(t.placement.targetTable)) {
      throw mappingError(`tables.${t.table}.realm.follow: '${t.placement.column}' points at ${t.placement.targetTable}, which is not mapped`);
    }
    const input = config.tables[t.table];
    const explicit = input.links === false ? {} : (input.links ?? null);
    if (explicit) for (const col of Object.keys(explicit)) if (!foreignKeys.get(t.table)!.some((f) => f.column === col)) throw mappingError(`tables.${t.table}.links: '${col}' is not a single-column foreign key of ${t.table}`);
    for (const fk of foreignKeys.get(t.table)!) {
      const target = tables.get(fk.targetTable);
      if (!target || target.composite || !t.byColumn.has(fk.column)) continue;
      let property: string | false;
      if (input.links === false) property = false;
      else if (explicit && fk.column in explicit) property = explicit[fk.column];
      else property = target.family === t.family ? linkName(fk.column) : false; // links resolve inside one realm only
      if (property === false) continue;
      let p = property;
      while (t.columns.some((c) => c.property === p) || t.links.some((l) => l.property === p) || p === t.keyProperty) p += '_link';
      t.links.push({ column: fk.column, property: p, targetTable: target.table });
    }
  }

  const loadOrder: ResolvedTable[] = [];
  const visiting = new Set<string>();
  const visit = (t: ResolvedTable): void => {
    if (loadOrder.includes(t) || visiting.has(t.table)) return; // a cycle: its links may stay null until the target arrives
    visiting.add(t.table);
    for (const l of t.links) visit(tables.get(l.targetTable)!);
    if (t.placement.kind === 'follow') visit(tables.get(t.placement.targetTable)!);
    visiting.delete(t.table);
    loadOrder.push(t);
  };
  for (const t of tables.values()) visit(t);
  await resolveSideLists(sql, config, schema, tables, types);
  return { tables, byType, loadOrder, options };
}

/**
 * The name of `names` a mistyped `name` most likely meant: the same name in another case, else
 * the closest by edit distance (at most a third of its length, at least 2), or null.
 */
export function nearestName(name: string, names: string[]): string | null {
  const lower = name.toLowerCase();
  const sameCase = names.find((n) => n.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** realm-js schema objects for the types that can live in a realm of `family`. */
export function realmSchemaFor(mapping: ResolvedMapping, family: string): object[] {
  const out: object[] = [];
  for (const t of mapping.tables.values()) {
    if (t.family !== family) continue;
    const properties: Record<string, object | string> = {};
    if (t.composite) properties[t.keyProperty] = 'string';
    for (const c of t.columns) {
      properties[c.property] = c.type.list ? { type: 'list', objectType: c.type.realm, optional: true } : { type: c.type.realm, optional: c.optional && !(c.property === t.keyProperty) };
    }
    for (const l of t.links) properties[l.property] = { type: 'object', objectType: mapping.tables.get(l.targetTable)!.type };
    for (const l of t.lists ?? []) properties[l.property] = listPropertySchema(l);
    out.push({ name: t.type, primaryKey: t.keyProperty, properties });
  }
  out.push({ name: STATE_TYPE, primaryKey: 'connector', properties: { connector: 'string', resumeFrom: 'string', updatedAt: 'date' } });
  return out;
}

export { decodeCompositeKey, encodeCompositeKey, keyText } from '../kit/keys';

/** The realm key of a row from its key columns' text (null when a key column is missing). */
export function rowKey(t: ResolvedTable, row: RawRow): ObjectKey | null {
  const texts: string[] = [];
  for (const k of t.keyColumns) {
    const v = row[k];
    if (v === null || v === undefined) return null;
    texts.push(v);
  }
  if (t.composite) return encodeCompositeKey(texts);
  return t.byColumn.get(t.keyColumns[0])!.type.fromText(texts[0]) as ObjectKey;
}

/** A row's property values for the realm; unchanged-TOAST (absent) columns are left out. */
export function rowValues(t: ResolvedTable, row: RawRow, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) {
    const text = row[c.column];
    if (text === undefined) continue;
    let v: unknown;
    try {
      v = text === null ? (c.type.list ? [] : null) : c.type.fromText(text);
      if (c.toRealm) v = c.toRealm(v);
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `${where}: column ${t.table}.${c.column} (${c.type.pgType}): ${(e as Error).message}`, e);
    }
    out[c.property] = v;
  }
  if (t.composite) out[t.keyProperty] = rowKey(t, row);
  return out;
}

/** A row's values by column name for placement functions (converted, not renamed). */
export function rowForPlacement(t: ResolvedTable, row: RawRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.allColumns) {
    const text = row[c.name];
    out[c.name] = text === null || text === undefined ? text : (c.type.fromText(text) as Value);
  }
  return out;
}

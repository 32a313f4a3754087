import type { Client } from 'pg';
import type { PostgresConnectorConfig } from './config';
import { connectorError } from './errors';
import type { ResolvedSideList, ResolvedTable } from './mapping-types';

export type { ResolvedSideList } from './mapping-types';
import { realmTypeFor, type PgTypeDescription, type RealmColumnType } from './types';

/**
 * `tables.<owner>.lists` resolved against the catalog (side-lists.ts keeps them in step). Every
 * mistake is reported before anything is created, with a stable code and what exists instead.
 */

/** pg_type lookups (mapping.ts's TypeCatalog). */
export interface TypeDescriber {
  describe(oid: number): Promise<PgTypeDescription>;
}

const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';

function mappingError(message: string): Error {
  return connectorError('CONNECTOR_MAPPING_INVALID', `postgres connector mapping: ${message}`);
}

/** realm-js schema of a list property. */
export function listPropertySchema(l: ResolvedSideList): object {
  return l.target ? { type: 'list', objectType: l.target.type } : { type: 'list', objectType: l.valueType.realm, optional: l.valueOptional };
}

/** Qualified names of every side table (they join the publication). */
export function sideListTables(tables: Iterable<ResolvedTable>): string[] {
  return [...tables].flatMap((t) => (t.lists ?? []).map((l) => l.qualified));
}

/**
 * Resolves `tables.<owner>.lists` against the catalog and attaches them to the owner tables.
 * Called after tables and links are resolved, so property names and link targets are known.
 */
export async function resolveSideLists(sql: Pick<Client, 'query'>, config: PostgresConnectorConfig, schema: string, tables: Map<string, ResolvedTable>, types: TypeDescriber): Promise<void> {
  const used = new Map<string, string>();
  for (const [ownerName, input] of Object.entries(config.tables)) {
    if (!input.lists) continue;
    const owner = tables.get(ownerName)!;
    const lists: ResolvedSideList[] = [];
    owner.lists = lists;
    for (const [property, spec] of Object.entries(input.lists)) {
      const at = `tables.${ownerName}.lists.${property}`;
      if (owner.composite) throw mappingError(`${at}: ${ownerName} has a composite key (${owner.keyColumns.join(', ')}); a list's owner needs a single-column key`);
      if (property === owner.keyProperty || owner.columns.some((c) => c.property === property) || owner.links.some((l) => l.property === property) || lists.some((l) => l.property === property)) {
        throw mappingError(`${at}: property '${property}' is already a property of ${owner.type}; name the list differently`);
      }
      if (tables.has(spec.table)) throw mappingError(`${at}.table: ${spec.table} is already mapped as type ${tables.get(spec.table)!.type}; a side table cannot also be a type (remove tables.${spec.table} or the list)`);
      if (used.has(spec.table)) throw mappingError(`${at}.table: ${spec.table} already backs ${used.get(spec.table)}; a side table backs one list`);
      used.set(spec.table, at);
      lists.push(await resolveOne(sql, schema, tables, types, owner, property, spec, at));
    }
  }
}

async function resolveOne(
  sql: Pick<Client, 'query'>,
  schema: string,
  tables: Map<string, ResolvedTable>,
  types: TypeDescriber,
  owner: ResolvedTable,
  property: string,
  spec: { table: string; owner: string; value: string; position?: string },
  at: string,
): Promise<ResolvedSideList> {
  const table = spec.table;
  const rel = await sql.query("SELECT c.oid, c.relkind, c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')", [schema, table]);
  if (rel.rows.length === 0) {
    const existing = await sql.query("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1", [schema]);
    throw mappingError(`${at}.table: table ${schema}.${table} does not exist; tables in ${schema}: ${existing.rows.map((r) => r.relname).join(', ') || '(none)'}`);
  }
  const { oid, relkind, relreplident } = rel.rows[0] as { oid: number; relkind: string; relreplident: string };
  const cols = await sql.query(
    "SELECT attname, attnotnull, atttypid, atthasdef OR attidentity <> '' OR attgenerated <> '' AS filled FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    [oid],
  );
  const columns = cols.rows as { attname: string; attnotnull: boolean; atttypid: number; filled: boolean }[];
  const names = columns.map((c) => c.attname);
  const column = (name: string | undefined, field: string) => {
    const c = columns.find((x) => x.attname === name);
    if (!c) throw mappingError(`${at}.${field} names column '${name}', which ${schema}.${table} does not have; its columns: ${names.join(', ')}`);
    return c;
  };
  const ownerCol = column(spec.owner, 'owner');
  const valueCol = column(spec.value, 'value');
  const positionCol = spec.position === undefined ? null : column(spec.position, 'position');
  const picked = [ownerCol.attname, valueCol.attname, positionCol?.attname].filter((x): x is string => !!x);
  if (new Set(picked).size !== picked.length) throw mappingError(`${at}: owner, value and position must be three different columns (got ${picked.join(', ')})`);
  for (const c of columns) {
    if (c.attnotnull && !c.filled && !picked.includes(c.attname)) throw mappingError(`${at}: column ${table}.${c.attname} is NOT NULL without a default, so rows written from the realm could not be inserted; give it a default or map it`);
  }

  // Identity: what a delete's key tuple carries.
  const indexColumns = async (where: string) =>
    (await sql.query(`SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1 AND ${where} ORDER BY array_position(i.indkey, a.attnum)`, [oid])).rows.map((r) => r.attname as string);
  const pk = await indexColumns('i.indisprimary');
  let identityColumns: string[];
  if (relreplident === 'i') identityColumns = await indexColumns('i.indisreplident');
  else if (relreplident === 'f') identityColumns = pk.length > 0 ? pk : names;
  else if (relreplident === 'd' && pk.length > 0) identityColumns = pk;
  else {
    throw connectorError(
      'PG_REPLICA_IDENTITY',
      `side table ${schema}.${table} (${at}) has no primary key and REPLICA IDENTITY ${relreplident === 'n' ? 'NOTHING' : 'DEFAULT'}, so deleted rows cannot be identified; add a primary key or run ALTER TABLE ${schema}.${table} REPLICA IDENTITY FULL`,
    );
  }
  if (relkind === 'p') {
    const parts = await sql.query('SELECT c.relname, c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS haspk FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = $1', [oid]);
    for (const p of parts.rows) if (!p.haspk && p.relreplident !== 'f') throw connectorError('PG_REPLICA_IDENTITY', `partition ${schema}.${p.relname} of side table ${table} has no primary key; add one or run ALTER TABLE ${schema}.${p.relname} REPLICA IDENTITY FULL`);
  }

  const fks = (
    await sql.query(
      `SELECT DISTINCT a.attname AS column, t.relname AS target, tn.nspname AS target_schema, fa.attname AS target_column
         FROM pg_constraint k
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         JOIN pg_class t ON t.oid = k.confrelid
         JOIN pg_namespace tn ON tn.oid = t.relnamespace
         JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = k.confkey[1]
        WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 AND NOT t.relispartition
          AND (k.conrelid = $1 OR k.conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1))`,
      [oid],
    )
  ).rows as { column: string; target: string; target_schema: string; target_column: string }[];
  const fkOf = (col: string) => fks.filter((f) => f.column === col && f.target_schema === schema);

  const ownerFk = fkOf(ownerCol.attname);
  const toOwner = ownerFk.find((f) => f.target === owner.table);
  if (!toOwner) {
    const other = ownerFk.length > 0 ? `; it references ${ownerFk.map((f) => f.target).join(', ')}` : '';
    throw mappingError(`${at}.owner: ${table}.${ownerCol.attname} is not a foreign key to ${owner.table}${other}; add FOREIGN KEY (${ownerCol.attname}) REFERENCES ${owner.table} (${owner.keyColumns[0]})`);
  }
  if (toOwner.target_column !== owner.keyColumns[0]) throw mappingError(`${at}.owner: ${table}.${ownerCol.attname} references ${owner.table}(${toOwner.target_column}), not its key ${owner.keyColumns[0]}`);
  const ownerType = realmTypeFor(await types.describe(Number(ownerCol.atttypid)));
  const keyType = owner.byColumn.get(owner.keyColumns[0])!.type;
  if (ownerType.list || ownerType.realm !== keyType.realm) throw mappingError(`${at}.owner: ${table}.${ownerCol.attname} is ${ownerType.pgType} (${ownerType.realm}) but ${owner.table}.${owner.keyColumns[0]} is ${keyType.pgType} (${keyType.realm})`);

  const valueType = realmTypeFor(await types.describe(Number(valueCol.atttypid)));
  if (valueType.list) throw mappingError(`${at}.value: ${table}.${valueCol.attname} is an array (${valueType.pgType}); a list element is one value`);
  let target: ResolvedTable | null = null;
  for (const f of fkOf(valueCol.attname)) {
    const t = tables.get(f.target);
    // Links resolve inside one realm: the target must live in the owner's (fixed) realm.
    if (t && !t.composite && f.target_column === t.keyColumns[0] && owner.placement.kind === 'fixed' && t.family === owner.family) target = t;
  }
  if (positionCol) {
    const pt = realmTypeFor(await types.describe(Number(positionCol.atttypid)));
    if (pt.list || !['int2', 'int4', 'int8'].includes(pt.pgType)) throw mappingError(`${at}.position: ${table}.${positionCol.attname} is ${pt.pgType}; a position column must be smallint, integer or bigint`);
  }
  const positionUnique =
    !!positionCol &&
    (
      await sql.query(
        'SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indisunique AND a.attname = $2 AND (i.indrelid = $1 OR i.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1))',
        [oid, positionCol.attname],
      )
    ).rows.length > 0;
  return {
    owner,
    property,
    table,
    qualified: `${quote(schema)}.${quote(table)}`,
    ownerColumn: ownerCol.attname,
    valueColumn: valueCol.attname,
    positionColumn: positionCol?.attname ?? null,
    identityColumns,
    valueType,
    valueOptional: !valueCol.attnotnull,
    target,
    positionUnique,
  };
}

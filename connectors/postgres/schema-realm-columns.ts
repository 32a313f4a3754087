import type { Client } from 'pg';
import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { Logger } from '../../src/shared/logger';
import type { SchemaChangesOptions, TableMappingInput } from './config';
import { OBJECT_ID_DOMAIN, type ResolvedColumn, type ResolvedMapping, type ResolvedTable, type TypeCatalog } from './mapping';
import type { PropertyShape } from './realm-sink';
import type { Backfills } from './schema-backfill';
import type { DetachedColumns } from './schema-detached';
import { columnShape, columnTypeFor, compatible, descShape, objectTypeOf, quote, shapeText, sideList } from './schema-shapes';
import { realmTypeFor } from './types';

/** What schema evolution needs of a PostgreSQL connection (a node-postgres Client or PoolClient). */
export type SqlClient = Pick<Client, 'query'>;

/** What the realm → database direction uses of schema evolution (schema-evolution.ts). */
export interface RealmColumnsHost {
  mapping: ResolvedMapping;
  /** The config's table mappings (renames and exclusions of columns). */
  tables: Record<string, TableMappingInput>;
  options: SchemaChangesOptions;
  log: Logger;
  catalog: TypeCatalog;
  status: { columnsAdded: number };
  backfills: Pick<Backfills, 'schedule' | 'kick'>;
  detached: Pick<DetachedColumns, 'has'>;
  /** Why `property` cannot be added to `t` with `shape`, or null. */
  propertyConflict(t: ResolvedTable, property: string, shape: PropertyShape): string | null;
  /** Reopens the open realms holding `t`'s type with its larger schema. */
  reopenRealms(t: ResolvedTable): void;
  /** Reports once that a property gets no column. */
  propertyNotApplied(id: string, message: string): void;
}

interface RealmColumnPlan {
  column: string;
  /** Statements that create it (run again if a rolled-back apply transaction took them away). */
  ddl: string[];
  link: { property: string; targetTable: string } | null;
  /** The plain property of the column (the property itself, or `<link>_id` next to a link). */
  property: string;
}

/**
 * The realm → database direction of schema evolution: properties a realm adds to a mapped type
 * become columns (`schemaChanges.addColumns`), planned against the mapping and the catalog, or
 * are reported once and keep their values in the realm. Apart from the database → realm
 * direction because it runs on apply's connection, inside apply's transaction, and owns the
 * columns it created there.
 */
export class RealmColumns {
  /** Columns this process added for realm properties, by `table\0property`. */
  private readonly realmAdded = new Map<string, RealmColumnPlan>();

  constructor(private readonly h: RealmColumnsHost) {}

  /** True when this process added `column` of `t` for a realm property. */
  added(t: ResolvedTable, column: string): boolean {
    return [...this.realmAdded].some(([k, p]) => k.startsWith(`${t.table}\u0000`) && p.column === column);
  }

  /**
   * Called (through SchemaEvolution.onRealmProperties) by apply inside its PostgreSQL transaction,
   * before any row of that realm transaction is written, for every ADD_TYPE / ADD_PROPERTIES of a
   * mapped type. Properties without a column get one (`ALTER TABLE … ADD COLUMN IF NOT EXISTS`)
   * when `schemaChanges.addColumns` is on, and the mapping writes them from then on; otherwise each
   * is reported once and its values stay in the realm. The DDL is part of apply's transaction: if
   * that rolls back, the next attempt adds the column again.
   */
  async onRealmProperties(sql: SqlClient, t: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void> {
    for (const [property, desc] of Object.entries(properties)) {
      if (property === t.keyProperty) continue;
      if (sideList(t, property)) continue; // a list mapped to a side table (side-lists.ts)
      if (t.columns.some((c) => c.property === property) || t.links.some((l) => l.property === property)) {
        const ours = this.realmAdded.get(`${t.table}\u0000${property}`);
        if (ours && !(await this.columnExists(sql, t, ours.column))) for (const s of ours.ddl) await sql.query(s);
        continue;
      }
      const id = `${t.type}.${property}`;
      if (!this.h.options.addColumns) {
        this.h.propertyNotApplied(id, `property ${id} (${shapeText(descShape(desc))}) has no column in ${t.table}, and schemaChanges.addColumns is off: its values stay in the realm`);
        continue;
      }
      const plan = await this.planColumn(sql, t, property, desc);
      if (typeof plan === 'string') {
        this.h.propertyNotApplied(id, `property ${id} (${shapeText(descShape(desc))}) gets no column in ${t.table}: ${plan}; its values stay in the realm`);
        continue;
      }
      const existed = await this.columnExists(sql, t, plan.column);
      if (!existed) for (const s of plan.ddl) await sql.query(s);
      const r = await sql.query('SELECT atttypid::int8::text AS oid, attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped', [t.qualified, plan.column]);
      const type = realmTypeFor(await this.h.catalog.describe(Number(r.rows[0].oid), sql));
      const optional = !r.rows[0].attnotnull;
      const want = plan.link ? null : descShape(desc);
      if (want && !compatible(columnShape(type, optional), want)) {
        this.h.propertyNotApplied(id, `property ${id} (${shapeText(want)}) gets no column: ${t.table}.${plan.column} exists as ${type.pgType}`);
        continue;
      }
      const column: ResolvedColumn = { column: plan.column, property: plan.property, type, optional };
      if (!t.allColumns.some((c) => c.name === plan.column)) t.allColumns.push({ name: plan.column, type });
      t.columns.push(column);
      t.byColumn.set(plan.column, column);
      if (plan.link) t.links.push({ column: plan.column, property: plan.link.property, targetTable: plan.link.targetTable });
      if (existed) this.h.backfills.schedule(t, [plan.column], false, true); // the column came from the database side, maybe with a default
      else this.realmAdded.set(`${t.table}\u0000${property}`, plan);
      this.h.reopenRealms(t);
      this.h.status.columnsAdded++;
      this.h.log.info(`postgres connector: new property ${id} → column ${t.table}.${plan.column} (${type.pgType}${optional ? '' : ' NOT NULL'})`, { table: t.table, property });
      this.h.backfills.kick();
    }
  }

  /** The column for a new realm property, with the statements that create it, or why there is none. */
  private async planColumn(sql: SqlClient, t: ResolvedTable, property: string, desc: AdapterPropertyDescription): Promise<RealmColumnPlan | string> {
    const schema = this.h.mapping.options.schema;
    const input = this.h.tables[t.table];
    if (desc.type === 'object') {
      const target = this.h.mapping.byType.get(objectTypeOf(desc));
      if (!target) return `the link target ${objectTypeOf(desc)} is not mapped to a table`;
      if (target.composite) return `the link target ${target.table} has a composite key`;
      if (target.family !== t.family) return `${target.table} is placed in other realms (a link resolves inside one realm)`;
      if (input?.links === false) return `links are off for ${t.table} (links: false)`;
      const column = `${property}_id`;
      const taken = this.columnTaken(t, column);
      if (taken) return taken;
      if (this.h.propertyConflict(t, column, { type: target.byColumn.get(target.keyColumns[0])!.type.realm, optional: true })) return `property ${t.type}.${column} (for the key) is taken`;
      const kt = await sql.query('SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2', [target.qualified, target.keyColumns[0]]);
      const ddl = `ALTER TABLE ${t.qualified} ADD COLUMN IF NOT EXISTS ${quote(column)} ${kt.rows[0].t} REFERENCES ${target.qualified} (${quote(target.keyColumns[0])}) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED`;
      return { column, ddl: [ddl], link: { property, targetTable: target.table }, property: column };
    }
    const c = columnTypeFor(desc);
    if (typeof c === 'string') return c;
    const taken = this.columnTaken(t, property);
    if (taken) return taken;
    const conflict = this.h.propertyConflict(t, property, descShape(desc));
    if (conflict) return conflict;
    const ddl: string[] = [];
    let sqlType = c.sql;
    if (c.objectId) {
      const domain = `${quote(schema)}.${quote(OBJECT_ID_DOMAIN)}`;
      sqlType = sqlType.replace(OBJECT_ID_DOMAIN, domain);
      ddl.push(
        `DO $$ BEGIN CREATE DOMAIN ${domain} AS text CHECK (VALUE ~ '^[0-9a-fA-F]{24}$'); EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
    }
    ddl.push(`ALTER TABLE ${t.qualified} ADD COLUMN IF NOT EXISTS ${quote(property)} ${sqlType}${c.notNull ? ` NOT NULL DEFAULT ${c.zero}` : ''}`);
    return { column: property, ddl, link: null, property };
  }

  /** Why `column` cannot be created for a new property (it exists but belongs elsewhere), or null. */
  private columnTaken(t: ResolvedTable, column: string): string | null {
    if (Buffer.byteLength(column) > 63) return `column name ${column} is longer than PostgreSQL's 63 bytes`;
    if (!t.allColumns.some((c) => c.name === column)) return null;
    if (this.h.tables[t.table]?.columns?.[column] === false) return `column ${t.table}.${column} exists and is left out by the mapping (columns: { ${column}: false })`;
    const mapped = t.byColumn.get(column);
    if (mapped) return `column ${t.table}.${column} exists and is mapped to property ${mapped.property}`;
    if (this.h.detached.has(t, column)) return `column ${t.table}.${column} exists with a type its property cannot hold`;
    return `column ${t.table}.${column} exists`;
  }

  private async columnExists(sql: SqlClient, t: ResolvedTable, column: string): Promise<boolean> {
    const r = await sql.query('SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped', [t.qualified, column]);
    return r.rows.length > 0;
  }
}

import { Client, type ClientConfig } from 'pg';
import type { Adapter } from '../../src/adapter';
import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import { isPrimitiveType, type PrimitiveType } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import type { SchemaChangesOptions, TableMappingInput } from './config';
import { OBJECT_ID_DOMAIN, TypeCatalog, type ResolvedColumn, type ResolvedLink, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { RelationMessage } from './pgoutput';
import type { PropertyShape, RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import { Backfills } from './schema-backfill';
import { realmTypeFor, type RealmColumnType } from './types';

/** What schema evolution needs of a PostgreSQL connection (a node-postgres Client or PoolClient). */
export type SqlClient = Pick<Client, 'query'>;

export interface SchemaEvolutionStatus {
  /** Columns added to mapped tables that became realm properties. */
  propertiesAdded: number;
  /** Realm properties that became columns (`schemaChanges.addColumns`). */
  columnsAdded: number;
  /** Realm properties left without a column (addColumns off, or no column form): their values stay in the realm. Once per property. */
  propertiesNotApplied: number;
  /** New columns that did not become properties (addProperties off, or the property is taken). Once per column. */
  columnsNotApplied: number;
  /** Dropped columns reported: their properties keep their data and are no longer written. */
  columnsDropped: number;
  /** Columns whose type changed to one their property cannot hold: reported, no longer written. */
  columnsRetyped: number;
  /** Values of existing rows written into realms for new columns (see `backfill`). */
  rowsBackfilled: number;
  /** Columns whose backfill is queued or running. */
  backfillsPending: number;
}

const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';

/** Realm type → column type, and the value existing rows get for a required property (the realm's own default). */
const COLUMN_TYPES: Partial<Record<PrimitiveType, { sql: string; zero: string }>> = {
  int: { sql: 'bigint', zero: '0' },
  double: { sql: 'double precision', zero: '0' },
  float: { sql: 'real', zero: '0' },
  string: { sql: 'text', zero: "''" },
  bool: { sql: 'boolean', zero: 'false' },
  date: { sql: 'timestamptz', zero: "'1970-01-01 00:00:00+00'" },
  data: { sql: 'bytea', zero: "'\\x'" },
  decimal128: { sql: 'numeric', zero: '0' },
  uuid: { sql: 'uuid', zero: "'00000000-0000-0000-0000-000000000000'" },
  objectId: { sql: OBJECT_ID_DOMAIN, zero: "'000000000000000000000000'" },
};

/**
 * The column a realm property becomes, or why it cannot: `sql` is the column type (`objectId`
 * becomes the connector's domain, qualified by the caller), `notNull` with `zero` for a required
 * property. Links and lists of links are planned by the caller (they need the mapping).
 */
export function columnTypeFor(p: AdapterPropertyDescription): { sql: string; notNull: boolean; zero: string; objectId: boolean } | string {
  if (p.type === 'list') {
    const el = objectTypeOf(p);
    if (!isPrimitiveType(el)) return `a list of links (${el}) needs a side table, which the connector does not create`;
    const t = COLUMN_TYPES[el];
    if (!t) return `a list of ${el} has no column type that keeps its values`;
    return { sql: `${t.sql}[]`, notNull: false, zero: '', objectId: el === 'objectId' };
  }
  if (p.type === 'object') return 'a link is planned from the mapping';
  const t = isPrimitiveType(p.type) ? COLUMN_TYPES[p.type] : undefined;
  if (!t) return `a ${p.type} property has no column type that keeps its values`;
  return { sql: t.sql, notNull: !p.nullable, zero: t.zero, objectId: p.type === 'objectId' };
}

/** True when `property` is a list the mapping keeps in a side table (`tables.<t>.lists`, side-lists.ts). */
function sideList(t: ResolvedTable, property: string): boolean {
  return !!(t as { lists?: { property: string }[] }).lists?.some((l) => l.property === property);
}

/** The link target or list element type of a property description ('' for a plain property). */
function objectTypeOf(p: AdapterPropertyDescription): string {
  return (p as { object_type?: string }).object_type ?? '';
}

function descShape(p: AdapterPropertyDescription): PropertyShape {
  if (p.type === 'object') return { type: 'object', objectType: objectTypeOf(p), optional: true };
  if (p.type === 'list') return { type: 'list', objectType: objectTypeOf(p), optional: !!p.nullable };
  return { type: p.type, optional: !!p.nullable };
}

function columnShape(type: RealmColumnType, optional: boolean): PropertyShape {
  return type.list ? { type: 'list', objectType: type.realm, optional: true } : { type: type.realm, optional };
}

/** Same type and target; `optional` may differ (the sink keeps the realm's). */
function compatible(a: PropertyShape, b: PropertyShape): boolean {
  return a.type === b.type && (a.objectType ?? null) === (b.objectType ?? null);
}

function shapeText(s: PropertyShape): string {
  const t = s.type === 'list' ? `${s.objectType}[]` : s.type === 'object' ? `link to ${s.objectType}` : s.type;
  return s.optional && s.type !== 'object' ? `${t}?` : t;
}

interface RealmColumnPlan {
  column: string;
  /** Statements that create it (run again if a rolled-back apply transaction took them away). */
  ddl: string[];
  link: { property: string; targetTable: string } | null;
  /** The plain property of the column (the property itself, or `<link>_id` next to a link). */
  property: string;
}

export interface SchemaEvolutionArgs {
  mapping: ResolvedMapping;
  /** The config's table mappings (renames and exclusions of columns that appear later). */
  tables: Record<string, TableMappingInput>;
  options: SchemaChangesOptions;
  sink: RealmSink;
  router: RealmRouter;
  adapter: Adapter;
  /** The connector's control realm, where pending backfills are recorded. */
  controlPath: string;
  /** For the connection backfills and catalog checks use (never the apply or capture connection). */
  clientConfig: ClientConfig;
  log: Logger;
}

/**
 * Additive schema changes in both directions (CONNECTORS.md §1 "Schema"; docs/connectors/postgres.md,
 * "Schema changes"):
 *
 * - database → realm: `onRelation` sees pgoutput's Relation message (sent before the first change
 *   of a table after a DDL) and maps a new column to a new property synchronously, so the rows of
 *   that very transaction carry it; the open realms are reopened with the larger schema (an
 *   AddProperties each). Rows that hold a value the WAL never carried (a column added with a
 *   DEFAULT, or while the connector was stopped) are backfilled.
 * - realm → database: `onRealmProperties`, called by apply inside its transaction for every
 *   ADD_TYPE / ADD_PROPERTIES of a mapped type, adds a column per new property when
 *   `schemaChanges.addColumns` allows it, and reports the property otherwise.
 * - A dropped column, or one whose type changed to something its property cannot hold, is
 *   reported and no longer written; its property and the realm data stay.
 *
 * The mapping (`ResolvedTable`) is shared with capture, apply, the sink and the router and changed
 * in place, always between realm write transactions.
 */
export class SchemaEvolution {
  readonly status: SchemaEvolutionStatus = { propertiesAdded: 0, columnsAdded: 0, propertiesNotApplied: 0, columnsNotApplied: 0, columnsDropped: 0, columnsRetyped: 0, rowsBackfilled: 0, backfillsPending: 0 };
  private readonly catalog: TypeCatalog;
  private readonly reported = new Set<string>();
  /** Columns capture never receives though they exist (generated columns): not "dropped". */
  private readonly unpublished = new Set<string>();
  /**
   * Columns taken off the mapping because their type changed (kept to map them again if a replay
   * misled us), or because a realm holds their property with another type (`conflict`: for good).
   */
  private readonly detached = new Map<string, { column: ResolvedColumn | null; links: ResolvedLink[]; conflict?: boolean }>();
  /** Columns this process added for realm properties, by `table\0property`. */
  private readonly realmAdded = new Map<string, RealmColumnPlan>();
  private readonly backfills: Backfills;
  private work: Promise<void> = Promise.resolve();
  private db_: Client | null = null;
  private closed = false;

  constructor(private readonly a: SchemaEvolutionArgs) {
    this.catalog = new TypeCatalog();
    this.backfills = new Backfills({
      mapping: a.mapping,
      sink: a.sink,
      router: a.router,
      adapter: a.adapter,
      controlPath: a.controlPath,
      log: a.log,
      status: this.status,
      db: () => this.db(),
      dropConnection: () => this.dropConnection(),
      enqueue: (fn) => this.enqueue(fn),
    });
    a.sink.observer = {
      missingProperties: (path, t, properties) => this.missingProperties(path, t, properties),
      upserted: (t, row) => this.backfills.upserted(t, row),
      shapeConflict: (path, t, property, stored, wanted) => this.shapeConflict(path, t, property, stored, wanted),
    };
  }

  private get mapping(): ResolvedMapping {
    return this.a.mapping;
  }

  /** Reads pg_type once, so type OIDs in Relation messages resolve synchronously. */
  async preload(sql: SqlClient): Promise<void> {
    await this.catalog.preload(sql);
  }

  /**
   * Call once the realms are loaded or resumed, before streaming: starts the backfills found so far
   * and the ones recorded in the control realm by an earlier run. After an initial load (`loaded`)
   * every row was copied with every column, so nothing needs a backfill.
   */
  ready(loaded: boolean): void {
    this.backfills.ready(loaded);
  }

  /** Resolves when the schema work queued so far is done and no backfill is queued or running (tests, tools). */
  async settled(): Promise<void> {
    for (;;) {
      await this.work;
      if (this.closed || this.backfills.idle || !this.backfills.isReady) return;
      if (this.backfills.waiting) await new Promise((r) => setTimeout(r, 50));
      else this.backfills.kick();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.backfills.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.work, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    await this.db_?.end().catch(() => undefined);
    this.db_ = null;
  }

  // ── database → realm ──────────────────────────────────────────────────────────────────────────

  /**
   * A Relation message for a mapped table: the table's columns as of the decoded WAL position.
   * Synchronous (capture handles frames synchronously); what needs the catalog runs afterwards.
   */
  onRelation(t: ResolvedTable, m: RelationMessage): void {
    const known = new Map(t.allColumns.map((c) => [c.name, c]));
    const seen = new Set(m.columns.map((c) => c.name));
    const added: RelationMessage['columns'] = [];
    let verify = false;
    for (const c of m.columns) {
      const k = known.get(c.name);
      if (!k) {
        added.push(c);
        continue;
      }
      const d = this.catalog.describeLoaded(c.typeOid);
      const now = d ? realmTypeFor(d) : null;
      if (now && now.pgType === k.type.pgType) continue;
      verify = true;
      if (now && now.realm === k.type.realm && now.list === k.type.list) this.retype(t, c.name, now);
      // A value of the new type may not convert to the property's: stop writing until the catalog says more.
      else this.detach(t, c.name);
    }
    for (const k of t.allColumns) if (!seen.has(k.name) && !this.unpublished.has(`${t.table}.${k.name}`)) verify = true;
    if (added.length > 0) this.addFromRelation(t, added);
    if (verify) {
      const missing = t.allColumns.filter((k) => !seen.has(k.name)).map((k) => k.name);
      const renamedTo = added.map((c) => c.name);
      this.enqueue(() => this.verify(t, missing, renamedTo));
    }
  }

  private addFromRelation(t: ResolvedTable, added: RelationMessage['columns'], alwaysBackfill = false): void {
    const input = this.a.tables[t.table]?.columns ?? {};
    const fresh: ResolvedColumn[] = [];
    const unknownTypes: RelationMessage['columns'] = [];
    for (const c of added) {
      if (t.allColumns.some((k) => k.name === c.name)) continue;
      const d = this.catalog.describeLoaded(c.typeOid);
      if (!d) {
        unknownTypes.push(c);
        continue;
      }
      const type = realmTypeFor(d);
      const m = input[c.name];
      t.allColumns.push({ name: c.name, type }); // known from now on, mapped or not
      if (m === false) continue;
      if (!this.a.options.addProperties) {
        this.columnNotApplied(t, c.name, 'schemaChanges.addProperties is off; it becomes a property at the next start (exclude it with columns: { <column>: false })');
        continue;
      }
      const property = typeof m === 'string' ? m : (m?.property ?? c.name);
      const conflict = this.propertyConflict(t, property, columnShape(type, true));
      if (conflict) {
        this.columnNotApplied(t, c.name, `${conflict}; rename it with columns: { ${c.name}: '<property>' } and restart`);
        continue;
      }
      // Optional whatever the column's NOT NULL (the Relation message does not carry it): a realm
      // property that may be null holds every value such a column can have.
      fresh.push({ column: c.name, property, type, optional: true, toRealm: typeof m === 'object' ? m?.toRealm : undefined });
    }
    if (fresh.length > 0) {
      for (const col of fresh) {
        t.columns.push(col);
        t.byColumn.set(col.column, col);
      }
      const columns = fresh.map((c) => c.column);
      this.backfills.schedule(t, columns, alwaysBackfill, true);
      this.reopenRealms(t);
      this.status.propertiesAdded += fresh.length;
      for (const c of fresh) this.a.log.info(`postgres connector: new column ${t.table}.${c.column} (${c.type.pgType}) → property ${t.type}.${c.property} (${shapeText(columnShape(c.type, true))})`, { table: t.table, column: c.column });
      this.backfills.kick();
    }
    if (unknownTypes.length > 0) {
      // A type created after the start (a new enum or domain): read it, then map the column; the
      // backfill (always, for these) fills in the values of rows written meanwhile.
      this.enqueue(async () => {
        const db = await this.db();
        for (const c of unknownTypes) await this.catalog.describe(c.typeOid, db);
        this.addFromRelation(t, unknownTypes, true);
      });
    }
  }

  /** Why `property` cannot be added to `t` with `shape`, or null. */
  private propertyConflict(t: ResolvedTable, property: string, shape: PropertyShape): string | null {
    if (property === t.keyProperty) return `property ${t.type}.${property} is the key`;
    const col = t.columns.find((c) => c.property === property);
    if (col) return `property ${t.type}.${property} already holds column ${col.column}`;
    if (t.links.some((l) => l.property === property)) return `property ${t.type}.${property} is a link`;
    if (sideList(t, property)) return `property ${t.type}.${property} is a list kept in a side table`;
    for (const path of this.familyPaths(t)) {
      const have = this.a.sink.storedProperty(path, t.type, property);
      if (have && !compatible(have, shape)) return `the realm ${path} already has ${t.type}.${property} as ${shapeText(have)}, not ${shapeText(shape)}`;
    }
    return null;
  }

  /** Open realm paths that hold `t`'s type (its fixed path, or the partitioned ones). */
  private familyPaths(t: ResolvedTable): string[] {
    const fixed = new Set([...this.mapping.tables.values()].filter((x) => x.placement.kind === 'fixed').map((x) => x.family));
    return this.a.sink.openPaths.filter((p) => (fixed.has(p) ? p : '*') === t.family);
  }

  private reopenRealms(t: ResolvedTable): void {
    for (const f of this.a.sink.reopen(this.familyPaths(t))) {
      this.a.log.error(`postgres connector: realm ${f.path} could not take the new schema of ${t.type}; its rows of ${t.table} may fail to write`, { error: String(f.error) });
    }
  }

  private retype(t: ResolvedTable, column: string, type: RealmColumnType): void {
    const k = t.allColumns.find((c) => c.name === column);
    if (k) k.type = type;
    const c = t.byColumn.get(column);
    if (c) c.type = type;
  }

  private detach(t: ResolvedTable, column: string): void {
    const id = `${t.table}.${column}`;
    if (this.detached.has(id) || t.keyColumns.includes(column)) return;
    const c = t.byColumn.get(column) ?? null;
    const links = t.links.filter((l) => l.column === column);
    if (!c && links.length === 0) return;
    this.detached.set(id, { column: c, links });
    if (c) {
      t.columns.splice(t.columns.indexOf(c), 1);
      t.byColumn.delete(column);
    }
    for (const l of links) t.links.splice(t.links.indexOf(l), 1);
  }

  private reattach(t: ResolvedTable, column: string): void {
    const d = this.detached.get(`${t.table}.${column}`);
    if (!d) return;
    this.detached.delete(`${t.table}.${column}`);
    if (d.column) {
      t.columns.push(d.column);
      t.byColumn.set(column, d.column);
    }
    t.links.push(...d.links);
  }

  /**
   * Compares the mapping with the catalog after a Relation message that lacked mapped columns or
   * showed other types. The Relation message describes the table as of the decoded position (a
   * replay after a restart shows older shapes), so only what the catalog confirms is acted on.
   */
  private async verify(t: ResolvedTable, missing: string[], addedNow: string[]): Promise<void> {
    const db = await this.db();
    const r = await db.query("SELECT attname, atttypid::int8::text AS oid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", [t.qualified]);
    const live = new Map<string, RealmColumnType>();
    for (const row of r.rows as { attname: string; oid: string }[]) live.set(row.attname, realmTypeFor(await this.catalog.describe(Number(row.oid), db)));
    for (const name of missing) if (live.has(name)) this.unpublished.add(`${t.table}.${name}`);
    for (const k of [...t.allColumns]) {
      const now = live.get(k.name);
      const id = `${t.table}.${k.name}`;
      const d = this.detached.get(id);
      const property = d?.column?.property ?? t.byColumn.get(k.name)?.property ?? d?.links[0]?.property ?? t.links.find((l) => l.column === k.name)?.property;
      if (!now) {
        this.dropped(t, k.name, property, addedNow.filter((n) => live.get(n)?.pgType === k.type.pgType));
        continue;
      }
      if (d?.conflict) continue;
      const mappedType = d?.column?.type ?? t.byColumn.get(k.name)?.type ?? k.type;
      if (now.realm === mappedType.realm && now.list === mappedType.list) {
        this.retype(t, k.name, now);
        if (d) {
          if (d.column) d.column.type = now;
          this.reattach(t, k.name);
        }
        continue;
      }
      k.type = now;
      if (property === undefined) continue;
      this.detach(t, k.name);
      if (this.reportOnce(`retyped:${id}`)) {
        this.status.columnsRetyped++;
        this.a.log.warn(
          `postgres connector: column ${t.table}.${k.name} changed type from ${mappedType.pgType} to ${now.pgType}, which property ${t.type}.${property} (${mappedType.realm}${mappedType.list ? '[]' : ''}) cannot hold: the property keeps its data and is no longer written. To map the column again, rename its property (columns: { ${k.name}: '<new property>' }) and restart.`,
          { table: t.table, column: k.name, property },
        );
      }
    }
  }

  /** At open: a realm holds a mapped property with another type (the column changed type while the connector was stopped). */
  private shapeConflict(path: string, t: ResolvedTable, property: string, stored: PropertyShape, wanted: PropertyShape): boolean {
    if (property === t.keyProperty) return false;
    const column = t.columns.find((c) => c.property === property)?.column ?? t.links.find((l) => l.property === property)?.column;
    if (column === undefined || t.keyColumns.includes(column)) return false;
    this.detach(t, column);
    const d = this.detached.get(`${t.table}.${column}`);
    if (d) d.conflict = true;
    if (this.reportOnce(`retyped:${t.table}.${column}`)) {
      this.status.columnsRetyped++;
      this.a.log.warn(
        `postgres connector: realm ${path} holds property ${t.type}.${property} as ${shapeText(stored)}, but column ${t.table}.${column} now maps to ${shapeText(wanted)} (its type changed): the property keeps its data and the column is not written. To map it, give it another property name (columns: { ${column}: '<new property>' }).`,
        { table: t.table, column, property, path },
      );
    }
    return true;
  }

  private dropped(t: ResolvedTable, column: string, property: string | undefined, renamedTo: string[]): void {
    const id = `${t.table}.${column}`;
    if (t.keyColumns.includes(column)) {
      if (this.reportOnce(`dropped:${id}`)) {
        this.status.columnsDropped++;
        this.a.log.error(`postgres connector: key column ${t.table}.${column} was dropped; rows of ${t.table} can no longer be identified — fix the table or the mapping and restart`, { table: t.table, column });
      }
      return;
    }
    this.detach(t, column);
    this.detached.delete(id);
    const at = t.allColumns.findIndex((c) => c.name === column);
    if (at >= 0) t.allColumns.splice(at, 1);
    const ours = [...this.realmAdded].some(([k, p]) => k.startsWith(`${t.table}\u0000`) && p.column === column);
    if (ours) return; // a column added for a realm property whose transaction rolled back: added again on retry
    if (property === undefined || !this.reportOnce(`dropped:${id}`)) return;
    this.status.columnsDropped++;
    const rename = renamedTo.length > 0 ? ` It may have been renamed to ${renamedTo.join(' or ')} (a rename looks like a drop and an add), which becomes a new property.` : '';
    this.a.log.warn(`postgres connector: column ${t.table}.${column} was dropped: property ${t.type}.${property} keeps its data in the realms and is no longer written.${rename}`, { table: t.table, column, property });
  }

  // ── backfill ──────────────────────────────────────────────────────────────────────────────────

  /** The sink opened a realm whose stored type lacks mapped properties (added while the connector was stopped). */
  private missingProperties(path: string, t: ResolvedTable, properties: string[]): void {
    const columns = new Set<string>();
    for (const p of properties) {
      const c = t.columns.find((x) => x.property === p);
      if (c && !t.keyColumns.includes(c.column)) columns.add(c.column);
      for (const l of t.links) if (l.property === p) columns.add(l.column);
    }
    if (columns.size === 0) return;
    this.a.log.info(`postgres connector: realm ${path} lacks ${t.type}.${properties.join(', ')}; backfilling those columns of ${t.table}`, { path });
    this.backfills.schedule(t, [...columns], true, true);
    this.backfills.kick();
  }

  private enqueue(fn: () => Promise<void>): void {
    if (this.closed) return;
    this.work = this.work.then(fn).catch((e) => {
      if (!this.closed) this.a.log.warn('postgres connector: schema check failed', { error: String(e) });
    });
  }

  // ── realm → database ──────────────────────────────────────────────────────────────────────────

  /**
   * Called by apply inside its PostgreSQL transaction, before any row of that realm transaction is
   * written, for every ADD_TYPE / ADD_PROPERTIES of a mapped type. Properties without a column get
   * one (`ALTER TABLE … ADD COLUMN IF NOT EXISTS`) when `schemaChanges.addColumns` is on, and the
   * mapping writes them from then on; otherwise each is reported once and its values stay in the
   * realm. The DDL is part of apply's transaction: if that rolls back, the next attempt adds the
   * column again.
   *
   * @example
   * // in apply, per instruction:
   * case 'ADD_TYPE': case 'ADD_PROPERTIES': await evolution.onRealmProperties(sql, table, i.properties);
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
      if (!this.a.options.addColumns) {
        this.propertyNotApplied(id, `property ${id} (${shapeText(descShape(desc))}) has no column in ${t.table}, and schemaChanges.addColumns is off: its values stay in the realm`);
        continue;
      }
      const plan = await this.planColumn(sql, t, property, desc);
      if (typeof plan === 'string') {
        this.propertyNotApplied(id, `property ${id} (${shapeText(descShape(desc))}) gets no column in ${t.table}: ${plan}; its values stay in the realm`);
        continue;
      }
      const existed = await this.columnExists(sql, t, plan.column);
      if (!existed) for (const s of plan.ddl) await sql.query(s);
      const r = await sql.query('SELECT atttypid::int8::text AS oid, attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped', [t.qualified, plan.column]);
      const type = realmTypeFor(await this.catalog.describe(Number(r.rows[0].oid), sql));
      const optional = !r.rows[0].attnotnull;
      const want = plan.link ? null : descShape(desc);
      if (want && !compatible(columnShape(type, optional), want)) {
        this.propertyNotApplied(id, `property ${id} (${shapeText(want)}) gets no column: ${t.table}.${plan.column} exists as ${type.pgType}`);
        continue;
      }
      const column: ResolvedColumn = { column: plan.column, property: plan.property, type, optional };
      if (!t.allColumns.some((c) => c.name === plan.column)) t.allColumns.push({ name: plan.column, type });
      t.columns.push(column);
      t.byColumn.set(plan.column, column);
      if (plan.link) t.links.push({ column: plan.column, property: plan.link.property, targetTable: plan.link.targetTable });
      if (existed) this.backfills.schedule(t, [plan.column], false, true); // the column came from the database side, maybe with a default
      else this.realmAdded.set(`${t.table}\u0000${property}`, plan);
      this.reopenRealms(t);
      this.status.columnsAdded++;
      this.a.log.info(`postgres connector: new property ${id} → column ${t.table}.${plan.column} (${type.pgType}${optional ? '' : ' NOT NULL'})`, { table: t.table, property });
      this.backfills.kick();
    }
  }

  /** The column for a new realm property, with the statements that create it, or why there is none. */
  private async planColumn(sql: SqlClient, t: ResolvedTable, property: string, desc: AdapterPropertyDescription): Promise<RealmColumnPlan | string> {
    const schema = this.mapping.options.schema;
    const input = this.a.tables[t.table];
    if (desc.type === 'object') {
      const target = this.mapping.byType.get(objectTypeOf(desc));
      if (!target) return `the link target ${objectTypeOf(desc)} is not mapped to a table`;
      if (target.composite) return `the link target ${target.table} has a composite key`;
      if (target.family !== t.family) return `${target.table} is placed in other realms (a link resolves inside one realm)`;
      if (input?.links === false) return `links are off for ${t.table} (links: false)`;
      const column = `${property}_id`;
      const taken = this.columnTaken(t, column);
      if (taken) return taken;
      if (this.propertyConflict(t, column, { type: target.byColumn.get(target.keyColumns[0])!.type.realm, optional: true })) return `property ${t.type}.${column} (for the key) is taken`;
      const kt = await sql.query('SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2', [target.qualified, target.keyColumns[0]]);
      const ddl = `ALTER TABLE ${t.qualified} ADD COLUMN IF NOT EXISTS ${quote(column)} ${kt.rows[0].t} REFERENCES ${target.qualified} (${quote(target.keyColumns[0])}) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED`;
      return { column, ddl: [ddl], link: { property, targetTable: target.table }, property: column };
    }
    const c = columnTypeFor(desc);
    if (typeof c === 'string') return c;
    const taken = this.columnTaken(t, property);
    if (taken) return taken;
    const conflict = this.propertyConflict(t, property, descShape(desc));
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
    if (this.a.tables[t.table]?.columns?.[column] === false) return `column ${t.table}.${column} exists and is left out by the mapping (columns: { ${column}: false })`;
    const mapped = t.byColumn.get(column);
    if (mapped) return `column ${t.table}.${column} exists and is mapped to property ${mapped.property}`;
    if (this.detached.has(`${t.table}.${column}`)) return `column ${t.table}.${column} exists with a type its property cannot hold`;
    return `column ${t.table}.${column} exists`;
  }

  private async columnExists(sql: SqlClient, t: ResolvedTable, column: string): Promise<boolean> {
    const r = await sql.query('SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped', [t.qualified, column]);
    return r.rows.length > 0;
  }

  // ── reporting and plumbing ────────────────────────────────────────────────────────────────────

  private reportOnce(id: string): boolean {
    if (this.reported.has(id)) return false;
    this.reported.add(id);
    return true;
  }

  private propertyNotApplied(id: string, message: string): void {
    if (!this.reportOnce(`property:${id}`)) return;
    this.status.propertiesNotApplied++;
    this.a.log.warn(`postgres connector: ${message}`, { property: id });
  }

  private columnNotApplied(t: ResolvedTable, column: string, why: string): void {
    if (!this.reportOnce(`column:${t.table}.${column}`)) return;
    this.status.columnsNotApplied++;
    this.a.log.warn(`postgres connector: new column ${t.table}.${column} is not mapped to a property: ${why}`, { table: t.table, column });
  }

  private async db(): Promise<Client> {
    if (this.db_) return this.db_;
    const c = new Client(this.a.clientConfig);
    c.on('error', (e) => {
      this.a.log.warn('postgres connector: schema connection error', { error: String(e) });
      if (this.db_ === c) this.db_ = null;
    });
    await c.connect();
    this.db_ = c;
    return c;
  }

  private dropConnection(): void {
    const c = this.db_;
    this.db_ = null;
    void c?.end().catch(() => undefined);
  }
}

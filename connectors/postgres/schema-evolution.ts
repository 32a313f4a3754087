import { Client, type ClientConfig } from 'pg';
import type { Adapter } from '../../src/adapter';
import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { Logger } from '../../src/shared/logger';
import type { SchemaChangesOptions, TableMappingInput } from './config';
import { TypeCatalog, type ResolvedColumn, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { RelationMessage } from './pgoutput';
import type { PropertyShape, RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import { Backfills } from './schema-backfill';
import { DetachedColumns, retype } from './schema-detached';
import { RealmColumns, type SqlClient } from './schema-realm-columns';
import { columnShape, compatible, shapeText, sideList } from './schema-shapes';
import { realmTypeFor, type RealmColumnType } from './types';

export type { SqlClient } from './schema-realm-columns';

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
 *   `schemaChanges.addColumns` allows it, and reports the property otherwise
 *   (schema-realm-columns.ts).
 * - A dropped column, or one whose type changed to something its property cannot hold, is
 *   reported and no longer written; its property and the realm data stay.
 *
 * The mapping (`ResolvedTable`) is shared with capture, apply, the sink and the router and changed
 * in place, always between realm write transactions (schema-detached.ts takes columns off it).
 * How properties and columns compare is in schema-shapes.ts.
 */
export class SchemaEvolution {
  readonly status: SchemaEvolutionStatus = { propertiesAdded: 0, columnsAdded: 0, propertiesNotApplied: 0, columnsNotApplied: 0, columnsDropped: 0, columnsRetyped: 0, rowsBackfilled: 0, backfillsPending: 0 };
  private readonly catalog: TypeCatalog;
  private readonly reported = new Set<string>();
  /** Columns capture never receives though they exist (generated columns): not "dropped". */
  private readonly unpublished = new Set<string>();
  private readonly detached = new DetachedColumns();
  private readonly backfills: Backfills;
  private readonly realmColumns: RealmColumns;
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
    this.realmColumns = new RealmColumns({
      mapping: a.mapping,
      tables: a.tables,
      options: a.options,
      log: a.log,
      catalog: this.catalog,
      status: this.status,
      backfills: this.backfills,
      detached: this.detached,
      propertyConflict: (t, property, shape) => this.propertyConflict(t, property, shape),
      reopenRealms: (t) => this.reopenRealms(t),
      propertyNotApplied: (id, message) => this.propertyNotApplied(id, message),
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
      if (now && now.realm === k.type.realm && now.list === k.type.list) retype(t, c.name, now);
      // A value of the new type may not convert to the property's: stop writing until the catalog says more.
      else this.detached.detach(t, c.name);
    }
    for (const k of t.allColumns) if (!seen.has(k.name) && !k.generated && !this.unpublished.has(`${t.table}.${k.name}`)) verify = true; // generated columns are never sent
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
      const d = this.detached.get(t, k.name);
      const property = d?.column?.property ?? t.byColumn.get(k.name)?.property ?? d?.links[0]?.property ?? t.links.find((l) => l.column === k.name)?.property;
      if (!now) {
        this.dropped(t, k.name, property, addedNow.filter((n) => live.get(n)?.pgType === k.type.pgType));
        continue;
      }
      if (d?.conflict) continue;
      const mappedType = d?.column?.type ?? t.byColumn.get(k.name)?.type ?? k.type;
      if (now.realm === mappedType.realm && now.list === mappedType.list) {
        retype(t, k.name, now);
        if (d) {
          if (d.column) d.column.type = now;
          this.detached.reattach(t, k.name);
        }
        continue;
      }
      k.type = now;
      if (property === undefined) continue;
      this.detached.detach(t, k.name);
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
    this.detached.detach(t, column);
    const d = this.detached.get(t, column);
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
    this.detached.detach(t, column);
    this.detached.forget(t, column);
    const at = t.allColumns.findIndex((c) => c.name === column);
    if (at >= 0) t.allColumns.splice(at, 1);
    if (this.realmColumns.added(t, column)) return; // a column added for a realm property whose transaction rolled back: added again on retry
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
   * written, for every ADD_TYPE / ADD_PROPERTIES of a mapped type (see {@link RealmColumns}).
   *
   * @example
   * // in apply, per instruction:
   * case 'ADD_TYPE': case 'ADD_PROPERTIES': await evolution.onRealmProperties(sql, table, i.properties);
   */
  onRealmProperties(sql: SqlClient, t: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void> {
    return this.realmColumns.onRealmProperties(sql, t, properties);
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

import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { Logger } from '../../src/shared/logger';
import type { SchemaChangesOptions } from '../kit/config';
import { catalogColumns, rowKey, rowValues, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { Row, Sql } from './db';
import { scanTable } from './load';
import type { RealmRouter, RealmSink } from './sink';
import { nstring, q } from './tsql';
import { sqlTypeForRealm } from './types';

/**
 * Additive schema changes (docs/connectors/sqlserver.md, "Schema changes"): a column added to a
 * mapped table becomes a property (`addProperties`, checked before each poll by the highest
 * column_id), a property a client adds to a mapped type becomes a nullable column (`addColumns`,
 * `ALTER TABLE … ADD`). Dropped columns and changed types are reported, never applied.
 */
export class SchemaChanges {
  readonly status = { propertiesAdded: 0, columnsAdded: 0, backfilled: 0 };
  /** Set once the connector's router exists (backfills find each row's realm through it). */
  router: RealmRouter | null = null;
  /** Runs a read in one snapshot transaction (the backfill's scan). */
  snapshot: (<R>(fn: (db: Sql) => Promise<R>) => Promise<R>) | null = null;

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly options: SchemaChangesOptions,
    private readonly sink: () => RealmSink | null,
    private readonly log: Logger,
  ) {}

  /** Before a poll: tables with a column_id above the mapping's get their new columns mapped. */
  async check(db: Sql): Promise<void> {
    if (!this.options.addProperties) return;
    const tables = [...this.mapping.tables.values()];
    const r = await db.query(`SELECT object_id, MAX(column_id) AS m FROM sys.columns WHERE object_id IN (${tables.map((t) => `OBJECT_ID(${nstring(`${t.schema}.${t.table}`)})`).join(', ')}) GROUP BY object_id`);
    const ids = await db.query(`SELECT ${tables.map((t, i) => `OBJECT_ID(${nstring(`${t.schema}.${t.table}`)}) AS [o${i}]`).join(', ')}`);
    const max = new Map(r.rows.map((x) => [Number(x.object_id), Number(x.m)]));
    const added = new Map<ResolvedTable, string[]>();
    for (const [i, t] of tables.entries()) {
      const m = max.get(Number(ids.rows[0]?.[`o${i}`]));
      if (m === undefined || m <= t.maxColumnId) continue;
      const columns = await this.refresh(db, t);
      if (columns.length > 0) added.set(t, columns);
    }
    if (added.size === 0) return;
    this.sink()?.reopen();
    for (const [t, columns] of added) await (this.snapshot ? this.snapshot((d) => this.backfill(d, t, columns)) : this.backfill(db, t, columns));
  }

  /**
   * The new columns' values of the rows already in the realms (rows changed from now on carry them
   * anyway): read now, before the poll that follows, so every later change is written after them.
   */
  private async backfill(db: Sql, t: ResolvedTable, columns: string[]): Promise<void> {
    const sink = this.sink();
    if (!sink || !this.router) return;
    const router = this.router;
    const props = t.columns.filter((c) => columns.includes(c.column));
    let filled = 0;
    await scanTable(db, t, this.mapping.options.batchSize, (rows) => {
      const byPath = new Map<string, Row[]>();
      for (const row of rows) {
        const key = rowKey(t, row);
        const p = key === null ? null : router.pathOf(t, key);
        if (p === null || props.every((c) => row[c.column] === null)) continue;
        if (!byPath.has(p)) byPath.set(p, []);
        byPath.get(p)!.push(row);
      }
      for (const [p, list] of byPath) {
        const realm = sink.realm(p);
        realm.write(() => {
          for (const row of list) {
            const values = rowValues(t, row, `${t.table} backfill`);
            if (sink.fill(realm, t, rowKey(t, row)!, Object.fromEntries(props.map((c) => [c.property, values[c.property]])))) filled++;
          }
        });
      }
    });
    this.status.backfilled += filled;
    if (filled > 0) this.log.info('sqlserver connector: new columns backfilled into the objects', { table: t.table, columns, objects: filled });
  }

  /** Maps the table's columns the mapping does not have yet (by name, nullable); returns them. */
  private async refresh(db: Sql, t: ResolvedTable): Promise<string[]> {
    const { columns } = await catalogColumns(db, t.schema, t.table);
    const added: string[] = [];
    for (const c of columns) {
      t.maxColumnId = Math.max(t.maxColumnId, c.id);
      if (t.allColumns.some((x) => x.name === c.name)) continue;
      if (!c.type) {
        this.log.warn('sqlserver connector: a new column has a type the connector does not map; it stays in the table', { table: t.table, column: c.name, type: c.sqlType });
        continue;
      }
      t.allColumns.push(c);
      const r = { column: c.name, property: c.name, type: c.type, optional: true, counter: false, readOnly: c.computed || !!c.type.readOnly, identity: c.identity };
      t.columns.push(r);
      t.byColumn.set(c.name, r);
      this.status.propertiesAdded++;
      added.push(c.name);
      this.log.info('sqlserver connector: a new column became a property', { table: t.table, column: c.name, type: c.sqlType });
    }
    return added;
  }

  /** Inside the apply transaction: realm properties a mapped type gained become columns (addColumns). */
  async onRealmProperties(db: Sql, t: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void> {
    const known = new Set([t.keyProperty, ...t.columns.map((c) => c.property), ...t.links.map((l) => l.property)]);
    for (const [name, p] of Object.entries(properties)) {
      if (known.has(name) || p.type === 'object' || p.type === 'list') continue;
      const sqlType = sqlTypeForRealm(p.type);
      if (!this.options.addColumns || !sqlType || t.allColumns.some((c) => c.name === name)) {
        if (!this.options.addColumns) this.log.warn('sqlserver connector: a realm property has no column (schemaChanges.addColumns is off)', { table: t.table, property: name });
        continue;
      }
      await db.query(`ALTER TABLE ${t.qualified} ADD ${q(name)} ${sqlType} NULL`);
      this.status.columnsAdded++;
      this.log.info('sqlserver connector: a new realm property became a column', { table: t.table, column: name, type: sqlType });
      if ((await this.refresh(db, t)).length > 0) this.sink()?.reopen();
    }
  }
}

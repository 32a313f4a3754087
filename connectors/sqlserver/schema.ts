import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { Logger } from '../../src/shared/logger';
import type { SchemaChangesOptions } from '../kit/config';
import type { Sql } from './db';
import { catalogColumns, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { RealmSink } from './sink';
import { nstring, q } from './tsql';
import { sqlTypeForRealm } from './types';

/**
 * Additive schema changes (docs/connectors/sqlserver.md, "Schema changes"): a column added to a
 * mapped table becomes a property (`addProperties`, checked before each poll by the highest
 * column_id), a property a client adds to a mapped type becomes a nullable column (`addColumns`,
 * `ALTER TABLE … ADD`). Dropped columns and changed types are reported, never applied.
 */
export class SchemaChanges {
  readonly status = { propertiesAdded: 0, columnsAdded: 0 };

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
    let changed = false;
    for (const [i, t] of tables.entries()) {
      const m = max.get(Number(ids.rows[0]?.[`o${i}`]));
      if (m !== undefined && m > t.maxColumnId) changed = (await this.refresh(db, t)) || changed;
    }
    if (changed) this.sink()?.reopen();
  }

  /** Maps the table's columns the mapping does not have yet (by name, nullable). */
  private async refresh(db: Sql, t: ResolvedTable): Promise<boolean> {
    const { columns } = await catalogColumns(db, t.schema, t.table);
    let added = false;
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
      added = true;
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
      if (await this.refresh(db, t)) this.sink()?.reopen();
    }
  }
}

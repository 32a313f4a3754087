/**
 * Row-level writes with SQL Server's checks and side effects, shared by INSERT, UPDATE, DELETE
 * and MERGE: identity values (IDENTITY_INSERT honoured), defaults, computed columns, rowversion,
 * conversion to the column type (2628 on truncation), NOT NULL (515), primary key and unique
 * constraints (2627/2601), foreign keys both ways (547) with ON DELETE CASCADE / SET NULL, and
 * the Change Tracking event of each change, tagged with the statement's CHANGE_TRACKING_CONTEXT.
 */
import { Row } from './database';
import { convert, formatValue, keyPart } from './convert';
import { SqlError, errors } from './errors';
import { evaluate } from './evaluate';
import { ColumnSchema, ForeignKeySchema, KeyDefinition, TableSchema, qualifiedName } from './schema';
import { Scope, SessionContext } from './scope';
import { SqlValue, TypedValue } from './sql-types';
import { tableColumns } from './execute-select';

export interface WriteContext extends SessionContext {
  /** The table key IDENTITY_INSERT is ON for in this session. */
  identityInsert: string | null;
  /** The CHANGE_TRACKING_CONTEXT of the running statement. */
  changeContext: Buffer | null;
  setScopeIdentity(value: bigint): void;
}

export type Verb = 'INSERT' | 'UPDATE' | 'DELETE' | 'MERGE';

let heapCounter = 0;

export function rowKey(t: TableSchema, row: SqlValue[]): string {
  if (!t.primaryKey) return `#${++heapCounter}`;
  return t.primaryKey.columns.map((c) => keyPart({ type: t.columns[c]!.type, value: row[c]! })).join('\u0001');
}

function keyText(t: TableSchema, columns: number[], row: SqlValue[]): string {
  return columns.map((c) => formatValue({ type: t.columns[c]!.type, value: row[c]! })).join(', ');
}

function sameKey(t: TableSchema, columns: number[], a: SqlValue[], b: SqlValue[]): boolean {
  return columns.every((c) => keyPart({ type: t.columns[c]!.type, value: a[c]! }) === keyPart({ type: t.columns[c]!.type, value: b[c]! }));
}

function rowScope(ctx: WriteContext, t: TableSchema): Scope {
  return { session: ctx, shapes: [{ names: [t.name.toLowerCase()], columns: tableColumns(t) }] };
}

function computeColumns(ctx: WriteContext, t: TableSchema, row: SqlValue[]): void {
  const scope = rowScope(ctx, t);
  t.columns.forEach((c, i) => {
    if (!c.computed) return;
    const v = evaluate(c.computed.expr, scope, [row]);
    row[i] = v.value === null ? null : convert(v, c.type);
  });
}

function assign(database: string, t: TableSchema, c: ColumnSchema, v: TypedValue): SqlValue {
  return convert(v, c.type, { table: `${database}.${qualifiedName(t)}`, column: c.name });
}

export class RowWriter {
  constructor(private readonly ctx: WriteContext, readonly table: TableSchema, private readonly verb: Verb) {}

  private get db() { return this.ctx.db; }
  private get tx() { return this.ctx.transaction(); }

  private checkNotNull(row: SqlValue[]): void {
    this.table.columns.forEach((c, i) => {
      if (!c.nullable && row[i] === null) throw errors.notNull(c.name, `${this.db.name}.${qualifiedName(this.table)}`, this.verb === 'DELETE' ? 'UPDATE' : this.verb);
    });
  }

  private checkUnique(row: SqlValue[], exceptKey: string | null): string {
    const t = this.table;
    const key = rowKey(t, row);
    const rows = this.db.rows(this.tx, t.key);
    if (t.primaryKey && key !== exceptKey) {
      if (rows.has(key)) throw errors.duplicateKey(t.primaryKey.name, qualifiedName(t), keyText(t, t.primaryKey.columns, row));
      // Another open transaction inserted or deleted this key: SQL Server would wait for it.
      if (this.db.lockedByOther(this.tx, t.key, key)) throw errors.lockTimeout();
    }
    for (const index of t.indexes) {
      if (index.kind === 'index') continue;
      if (index.columns.some((c) => row[c] === null) && index.kind === 'uniqueConstraint') continue;
      for (const [otherKey, other] of rows) {
        if (otherKey === exceptKey || otherKey === key) continue;
        if (sameKey(t, index.columns, row, other)) this.uniqueViolation(index, row);
      }
    }
    return key;
  }

  private uniqueViolation(index: KeyDefinition, row: SqlValue[]): never {
    const t = this.table;
    const text = keyText(t, index.columns, row);
    if (index.kind === 'uniqueConstraint') throw errors.duplicateUniqueConstraint(index.name, qualifiedName(t), text);
    throw errors.duplicateIndexKey(index.name, qualifiedName(t), text);
  }

  /** The referenced parent row must exist for each foreign key whose columns are all non-null. */
  private checkParents(row: SqlValue[], changedColumns?: Set<number>): void {
    for (const fk of this.table.foreignKeys) {
      if (changedColumns && !fk.columns.some((c) => changedColumns.has(c))) continue;
      if (fk.columns.some((c) => row[c] === null)) continue;
      const parent = this.db.tables.get(fk.referencedTable)!;
      const found = [...this.db.rows(this.tx, parent.key).values()].some((p) =>
        fk.columns.every((c, i) => keyPart({ type: parent.columns[fk.referencedColumns[i]!]!.type, value: p[fk.referencedColumns[i]!]! }) === keyPart({ type: this.table.columns[c]!.type, value: row[c]! })));
      if (!found) {
        throw errors.foreignKeyInsert(this.verb === 'DELETE' ? 'UPDATE' : this.verb, fk.name, this.db.name, qualifiedName(parent), parent.columns[fk.referencedColumns[0]!]!.name);
      }
    }
  }

  /** Foreign keys of other tables that point at this one. */
  private referencing(): Array<{ child: TableSchema; fk: ForeignKeySchema }> {
    const out: Array<{ child: TableSchema; fk: ForeignKeySchema }> = [];
    for (const child of this.db.tables.values()) for (const fk of child.foreignKeys) if (fk.referencedTable === this.table.key) out.push({ child, fk });
    return out;
  }

  private children(child: TableSchema, fk: ForeignKeySchema, parentRow: SqlValue[]): Array<[string, Row]> {
    return [...this.db.rows(this.tx, child.key)].filter(([, r]) => fk.columns.every((c, i) => r[c] !== null &&
      keyPart({ type: child.columns[c]!.type, value: r[c]! }) === keyPart({ type: this.table.columns[fk.referencedColumns[i]!]!.type, value: parentRow[fk.referencedColumns[i]!]! })));
  }

  private recordChange(key: string, row: SqlValue[], operation: 'I' | 'U' | 'D', columns?: number[]): void {
    const pk = this.table.primaryKey;
    if (!pk) return;
    this.db.recordChange(this.tx, { table: this.table.key, keyText: key, key: pk.columns.map((c) => row[c]!), operation, columns, context: this.ctx.changeContext });
  }

  /** Inserts one row from explicitly given values (by column position); returns the stored row. */
  insert(values: Map<number, TypedValue>): Row {
    const t = this.table;
    const row: SqlValue[] = t.columns.map(() => null);
    const scope = rowScope(this.ctx, t);
    let identity: bigint | null = null;
    t.columns.forEach((c, i) => {
      const given = values.get(i);
      if (c.computed) {
        if (given) throw errors.computedColumn(c.name);
        return;
      }
      if (c.type.name === 'rowversion') {
        if (given && given.value !== null && given.type.name !== 'rowversion') throw errors.rowversionColumn();
        row[i] = this.db.nextRowversion();
        return;
      }
      if (c.identity) {
        if (given && this.ctx.identityInsert !== t.key) throw errors.identityInsertOff(t.name);
        if (given) {
          row[i] = assign(this.db.name, t, c, given);
          const v = BigInt(row[i] as number | bigint);
          if (t.identityCurrent === null || v > t.identityCurrent) t.identityCurrent = v;
        } else {
          const next = t.identityCurrent === null ? BigInt(c.identity.seed) : t.identityCurrent + BigInt(c.identity.increment);
          // Identity values are used up even when the statement fails, as in SQL Server.
          t.identityCurrent = next;
          row[i] = assign(this.db.name, t, c, { type: { name: 'bigint' }, value: next });
          identity = next;
        }
        return;
      }
      if (given) row[i] = assign(this.db.name, t, c, given);
      else if (c.default) row[i] = assign(this.db.name, t, c, evaluate(c.default, scope, []));
    });
    computeColumns(this.ctx, t, row);
    this.checkNotNull(row);
    const key = this.checkUnique(row, null);
    this.checkParents(row);
    this.db.write(this.tx, t.key, key, row);
    this.recordChange(key, row, 'I');
    if (identity !== null) this.ctx.setScopeIdentity(identity);
    return row;
  }

  /** Updates a row; returns the new row. */
  update(key: string, old: Row, values: Map<number, TypedValue>): Row {
    const t = this.table;
    const row = [...old];
    for (const [i, v] of values) {
      const c = t.columns[i]!;
      if (c.computed) throw errors.computedColumn(c.name);
      if (c.identity) throw errors.identityUpdate(c.name);
      if (c.type.name === 'rowversion') throw new SqlError(272, 'Cannot update a timestamp column.', { abortsBatch: true });
      row[i] = assign(this.db.name, t, c, v);
    }
    t.columns.forEach((c, i) => { if (c.type.name === 'rowversion') row[i] = this.db.nextRowversion(); });
    computeColumns(this.ctx, t, row);
    this.checkNotNull(row);
    const newKey = t.primaryKey ? rowKey(t, row) : key;
    const keyChanged = newKey !== key;
    if (keyChanged) {
      for (const { child, fk } of this.referencing()) {
        if (this.children(child, fk, old).length > 0) {
          throw errors.foreignKeyDelete('UPDATE', fk.name, this.db.name, qualifiedName(child), child.columns[fk.columns[0]!]!.name);
        }
      }
    }
    this.checkUnique(row, key);
    this.checkParents(row, new Set(values.keys()));
    if (keyChanged) {
      // Change Tracking records a primary key update as a delete and an insert.
      this.db.write(this.tx, t.key, key, null);
      this.recordChange(key, old, 'D');
      this.db.write(this.tx, t.key, newKey, row);
      this.recordChange(newKey, row, 'I');
    } else {
      this.db.write(this.tx, t.key, key, row);
      this.recordChange(key, row, 'U', [...values.keys()].map((i) => t.columns[i]!.columnId));
    }
    return row;
  }

  /** Deletes a row, applying ON DELETE actions of the foreign keys that reference it. */
  delete(key: string, old: Row): void {
    for (const { child, fk } of this.referencing()) {
      const rows = this.children(child, fk, old);
      if (rows.length === 0) continue;
      const writer = new RowWriter(this.ctx, child, this.verb);
      switch (fk.onDelete) {
        case 'CASCADE':
          for (const [k, r] of rows) if (this.db.rows(this.tx, child.key).has(k)) writer.delete(k, r);
          break;
        case 'SET NULL':
          for (const [k, r] of rows) writer.update(k, r, new Map(fk.columns.map((c) => [c, { type: child.columns[c]!.type, value: null }])));
          break;
        default:
          throw errors.foreignKeyDelete(this.verb === 'MERGE' ? 'MERGE' : 'DELETE', fk.name, this.db.name, qualifiedName(child), child.columns[fk.columns[0]!]!.name);
      }
    }
    this.db.write(this.tx, this.table.key, key, null);
    this.recordChange(key, old, 'D');
  }
}

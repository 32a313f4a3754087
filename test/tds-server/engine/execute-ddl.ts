/**
 * DDL against the in-memory schema. DDL takes effect at once and is not undone by ROLLBACK (SQL
 * Server's DDL is transactional; tests set up outside transactions, so the difference is
 * documented rather than modelled). TRUNCATE TABLE is not change-tracked, as in SQL Server.
 */
import { ColumnDefinition, ForeignKeyDefinition, ObjectName, Statement, TableConstraint } from '../sql/ast';
import { Database } from './database';
import { SqlError, errors } from './errors';
import { evaluate, typeOf } from './evaluate';
import { tableColumns } from './execute-select';
import { ColumnSchema, KeyDefinition, TableSchema, findColumn, qualifiedName, tableKey } from './schema';
import { Scope, SessionContext } from './scope';
import { SqlType } from './sql-types';

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(16, '0');
}

function keyOf(name: ObjectName): string {
  return tableKey(name.schema || 'dbo', name.name);
}

function columnPositions(t: TableSchema, names: Array<{ name: string }>): number[] {
  return names.map(({ name }) => {
    const i = findColumn(t, name);
    if (i < 0) throw new SqlError(1911, `Column name '${name}' does not exist in the target table or view.`, { abortsBatch: true });
    return i;
  });
}

function addColumns(ctx: SessionContext, t: TableSchema, defs: ColumnDefinition[], pkColumns: Set<string>): void {
  for (const d of defs) {
    if (findColumn(t, d.name) >= 0) throw new SqlError(2705, `Column names in each table must be unique. Column name '${d.name}' in table '${qualifiedName(t)}' is specified more than once.`, { abortsBatch: true });
    const primary = d.primaryKey !== undefined || pkColumns.has(d.name.toLowerCase());
    let type: SqlType;
    if (d.computed) {
      const scope: Scope = { session: ctx, shapes: [{ names: [t.name.toLowerCase()], columns: tableColumns(t) }] };
      type = typeOf(d.computed.expr, scope).type;
    } else type = d.type!;
    const column: ColumnSchema = {
      name: d.name,
      columnId: t.columns.length + 1,
      type,
      nullable: d.computed ? true : d.nullable ?? !(primary || d.identity || type.name === 'rowversion'),
      identity: d.identity,
      computed: d.computed,
      default: d.default,
    };
    if (primary && column.nullable && d.nullable === true) throw new SqlError(8111, `Cannot define PRIMARY KEY constraint on nullable column in table '${t.name}'.`, { abortsBatch: true });
    if (primary) column.nullable = false;
    t.columns.push(column);
  }
}

function addConstraints(db: Database, t: TableSchema, defs: ColumnDefinition[], constraints: TableConstraint[]): void {
  const all: TableConstraint[] = [...constraints];
  for (const d of defs) {
    if (d.primaryKey) all.push({ kind: 'primaryKey', name: d.primaryKey.name, columns: [{ name: d.name, descending: false }] });
    if (d.unique) all.push({ kind: 'unique', name: d.unique.name, columns: [{ name: d.name, descending: false }] });
    if (d.references) all.push({ kind: 'foreignKey', definition: d.references });
  }
  for (const k of all) {
    if (k.kind === 'primaryKey') {
      if (t.primaryKey) throw new SqlError(1779, `Table '${t.name}' already has a primary key defined on it.`, { abortsBatch: true });
      const objectId = db.allocateObjectId();
      t.primaryKey = { name: k.name ?? `PK__${t.name.slice(0, 8)}__${hex(objectId)}`, objectId, indexId: 1, columns: columnPositions(t, k.columns), descending: k.columns.map((c) => c.descending), kind: 'primaryKey' };
    } else if (k.kind === 'unique') {
      const objectId = db.allocateObjectId();
      t.indexes.push({ name: k.name ?? `UQ__${t.name.slice(0, 8)}__${hex(objectId)}`, objectId, indexId: t.indexes.length + 2, columns: columnPositions(t, k.columns), descending: k.columns.map((c) => c.descending), kind: 'uniqueConstraint' });
    } else {
      addForeignKey(db, t, k.definition);
    }
  }
}

function addForeignKey(db: Database, t: TableSchema, fk: ForeignKeyDefinition): void {
  const parentKey = keyOf(fk.referencedTable);
  const parent = parentKey === t.key ? t : db.tables.get(parentKey);
  const name = fk.name ?? `FK__${t.name.slice(0, 8)}__${fk.columns[0]!.slice(0, 8)}__${hex(db.allocateObjectId())}`;
  if (!parent) throw new SqlError(1767, `Foreign key '${name}' references invalid table '${fk.referencedTable.schema ? fk.referencedTable.schema + '.' : ''}${fk.referencedTable.name}'.`, { abortsBatch: true });
  const referenced = fk.referencedColumns.length ? columnPositions(parent, fk.referencedColumns.map((n) => ({ name: n }))) : parent.primaryKey?.columns ?? [];
  if (referenced.length !== fk.columns.length) {
    throw new SqlError(1776, `There are no primary or candidate keys in the referenced table '${qualifiedName(parent)}' that match the referencing column list in the foreign key '${name}'.`, { abortsBatch: true });
  }
  t.foreignKeys.push({
    name, objectId: db.allocateObjectId(), table: t.key, columns: columnPositions(t, fk.columns.map((n) => ({ name: n }))),
    referencedTable: parent.key, referencedColumns: referenced, onDelete: fk.onDelete, onUpdate: fk.onUpdate,
  });
}

function referencedBy(db: Database, t: TableSchema): { table: TableSchema; name: string } | undefined {
  for (const other of db.tables.values()) {
    if (other.key === t.key) continue;
    const fk = other.foreignKeys.find((f) => f.referencedTable === t.key);
    if (fk) return { table: other, name: fk.name };
  }
  return undefined;
}

function checkDatabase(db: Database, name: string): void {
  if (name !== 'CURRENT' && name.toLowerCase() !== db.name.toLowerCase()) {
    throw new SqlError(5011, `User does not have permission to alter database '${name}', the database does not exist, or the database is not in a state that allows access checks.`, { class: 14, state: 9 });
  }
}

/** Runs a DDL statement; returns false when the statement is not DDL. */
export function runDdl(ctx: SessionContext, s: Statement): boolean {
  const db = ctx.db;
  switch (s.kind) {
    case 'createTable': {
      const key = keyOf(s.table);
      if (db.tables.has(key)) throw errors.objectExists(s.table.name);
      const t: TableSchema = { key, objectId: db.allocateObjectId(), schema: s.table.schema || 'dbo', name: s.table.name, columns: [], indexes: [], foreignKeys: [], identityCurrent: null, createDate: new Date() };
      const pkColumns = new Set(s.constraints.flatMap((k) => (k.kind === 'primaryKey' ? k.columns.map((c) => c.name.toLowerCase()) : [])));
      addColumns(ctx, t, s.columns, pkColumns);
      addConstraints(db, t, s.columns, s.constraints);
      db.tables.set(key, t);
      db.setTableState(key, { rows: new Map(), changes: new Map() });
      return true;
    }
    case 'alterTableAdd': {
      const t = db.tables.get(keyOf(s.table));
      if (!t) throw errors.invalidObject(s.table.name);
      const before = t.columns.length;
      addColumns(ctx, t, s.columns, new Set());
      addConstraints(db, t, s.columns, s.constraints);
      const added = t.columns.slice(before);
      if (added.length > 0) {
        const state = db.state.tables.get(t.key)!;
        const scope: Scope = { session: ctx, shapes: [] };
        const values = added.map((c) => (c.default ? evaluate(c.default, scope, []).value : null));
        if (state.rows.size > 0 && added.some((c, i) => !c.nullable && values[i] === null)) throw errors.tableNeedsColumns();
        db.setTableState(t.key, { rows: new Map([...state.rows].map(([k, r]) => [k, [...r, ...values]])), changes: state.changes });
      }
      return true;
    }
    case 'dropTable': {
      for (const name of s.tables) {
        const t = db.tables.get(keyOf(name));
        if (!t) {
          if (s.ifExists) continue;
          throw errors.cannotDropTable(name.name);
        }
        const ref = referencedBy(db, t);
        if (ref) throw errors.cannotDropReferenced(t.name, ref.name);
        db.tables.delete(t.key);
        db.tracking.delete(t.key);
        db.setTableState(t.key, undefined);
      }
      return true;
    }
    case 'truncate': {
      const t = db.tables.get(keyOf(s.table));
      if (!t) throw errors.invalidObject(s.table.name);
      const ref = referencedBy(db, t);
      if (ref) throw new SqlError(4712, `Cannot truncate table '${qualifiedName(t)}' because it is being referenced by a FOREIGN KEY constraint.`);
      db.setTableState(t.key, { rows: new Map(), changes: db.state.tables.get(t.key)?.changes ?? new Map() });
      return true;
    }
    case 'createIndex': {
      const t = db.tables.get(keyOf(s.table));
      if (!t) throw errors.invalidObject(s.table.name);
      if (t.indexes.some((i) => i.name.toLowerCase() === s.name.toLowerCase())) {
        throw new SqlError(1913, `The operation failed because an index or statistics with name '${s.name}' already exists on table '${qualifiedName(t)}'.`);
      }
      const index: KeyDefinition = { name: s.name, objectId: 0, indexId: t.indexes.length + 2, columns: columnPositions(t, s.columns), descending: s.columns.map((c) => c.descending), kind: s.unique ? 'uniqueIndex' : 'index' };
      t.indexes.push(index);
      return true;
    }
    case 'alterTableChangeTracking': {
      const t = db.tables.get(keyOf(s.table));
      if (!t) throw errors.invalidObject(s.table.name);
      if (s.enable) {
        if (!db.changeTracking.enabled) throw errors.changeTrackingNeedsDatabase(db.name, t.name);
        if (db.tracking.has(t.key)) throw errors.changeTrackingAlreadyEnabled(t.name);
        if (!t.primaryKey) throw errors.changeTrackingNeedsPrimaryKey(t.name);
        const v = db.state.changeVersion;
        db.tracking.set(t.key, { trackColumnsUpdated: s.trackColumnsUpdated ?? false, beginVersion: v, minValidVersion: v, cleanupVersion: 0 });
      } else {
        if (!db.tracking.has(t.key)) throw errors.changeTrackingNotEnabledOnTable(t.name);
        db.tracking.delete(t.key);
        const state = db.state.tables.get(t.key)!;
        db.setTableState(t.key, { rows: state.rows, changes: new Map() });
      }
      return true;
    }
    case 'alterDatabase': {
      checkDatabase(db, s.database);
      if (s.option === 'CHANGE_TRACKING') {
        if (s.on) {
          if (db.changeTracking.enabled && s.retentionDays === undefined && s.autoCleanup === undefined) {
            throw new SqlError(5088, `Change tracking is already enabled for database '${db.name}'.`);
          }
          db.changeTracking.enabled = true;
          if (s.retentionDays !== undefined) db.changeTracking.retentionDays = s.retentionDays;
          if (s.autoCleanup !== undefined) db.changeTracking.autoCleanup = s.autoCleanup;
        } else {
          if (db.tracking.size > 0) {
            throw new SqlError(22115, `Change tracking is enabled for one or more tables in database '${db.name}'. Disable change tracking on each table before disabling it for the database.`);
          }
          db.changeTracking.enabled = false;
        }
      } else if (s.option === 'ALLOW_SNAPSHOT_ISOLATION') db.allowSnapshotIsolation = s.on;
      else db.readCommittedSnapshot = s.on;
      return true;
    }
    default:
      return false;
  }
}

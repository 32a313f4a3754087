/**
 * The catalog views a connector checks its set-up with, computed from the schema on each read:
 * sys.databases, sys.change_tracking_databases, sys.change_tracking_tables, sys.schemas,
 * sys.tables, sys.objects, sys.columns, sys.types, sys.key_constraints, sys.indexes,
 * sys.index_columns, sys.foreign_keys, sys.foreign_key_columns, sys.computed_columns,
 * sys.identity_columns, INFORMATION_SCHEMA.TABLES and INFORMATION_SCHEMA.COLUMNS. Only the
 * columns listed here exist; a query naming another gets error 207 like any unknown column.
 */
import { SYSTEM_TYPES, systemTypeId } from './catalog-names';
import { Database } from './database';
import { KeyDefinition, TableSchema } from './schema';
import { SourceColumn } from './scope';
import { SqlType, SqlValue, maxLength, typeToSql } from './sql-types';
import { DAYS_TO_1970, convertTemporal } from './temporal';

interface View {
  columns: SourceColumn[];
  rows: SqlValue[][];
}

const nvarchar = (length: number | 'max' = 128): SqlType => ({ name: 'nvarchar', length });
const col = (name: string, type: SqlType, nullable = false): SourceColumn => ({ name, type, nullable, readOnly: true });
const INT: SqlType = { name: 'int' };
const TINYINT: SqlType = { name: 'tinyint' };
const SMALLINT: SqlType = { name: 'smallint' };
const BIT: SqlType = { name: 'bit' };
const BIGINT: SqlType = { name: 'bigint' };
const CHAR2: SqlType = { name: 'char', length: 2 };

function dateValue(d: Date): SqlValue {
  const ms = d.getTime();
  return convertTemporal({ kind: 'temporal', days: DAYS_TO_1970 + Math.floor(ms / 86_400_000), ticks: (ms % 86_400_000) * 10_000, offsetMinutes: null }, 'datetime', 3);
}

const REFERENTIAL: Record<string, number> = { 'NO ACTION': 0, CASCADE: 1, 'SET NULL': 2, 'SET DEFAULT': 3 };

function keys(t: TableSchema): KeyDefinition[] {
  return [...(t.primaryKey ? [t.primaryKey] : []), ...t.indexes];
}

function tablesSorted(db: Database): TableSchema[] {
  return [...db.tables.values()].sort((a, b) => a.objectId - b.objectId);
}

const VIEWS: Record<string, (db: Database) => View> = {
  'sys.databases': (db) => ({
    columns: [col('name', nvarchar()), col('database_id', INT), col('compatibility_level', TINYINT), col('collation_name', nvarchar(), true),
      col('state_desc', nvarchar(60)), col('snapshot_isolation_state', TINYINT), col('snapshot_isolation_state_desc', nvarchar(60)),
      col('is_read_committed_snapshot_on', BIT), col('recovery_model_desc', nvarchar(60))],
    rows: [['master', 1], ['tempdb', 2], ['model', 3], ['msdb', 4], [db.name, db.databaseId]].map(([name, id]) => {
      const own = id === db.databaseId;
      const snapshot = own && db.allowSnapshotIsolation ? 1 : 0;
      return [name as string, id as number, 160, 'SQL_Latin1_General_CP1_CI_AS', 'ONLINE', snapshot, snapshot ? 'ON' : 'OFF', own && db.readCommittedSnapshot, 'FULL'];
    }),
  }),
  'sys.change_tracking_databases': (db) => ({
    columns: [col('database_id', INT), col('is_auto_cleanup_on', BIT), col('retention_period', INT), col('retention_period_units', TINYINT),
      col('retention_period_units_desc', nvarchar(60)), col('max_cleanup_version', BIGINT, true)],
    rows: db.changeTracking.enabled ? [[db.databaseId, db.changeTracking.autoCleanup, Math.round(db.changeTracking.retentionDays), 3, 'DAYS', null]] : [],
  }),
  'sys.change_tracking_tables': (db) => ({
    columns: [col('object_id', INT), col('is_track_columns_updated_on', BIT), col('min_valid_version', BIGINT, true), col('begin_version', BIGINT, true), col('cleanup_version', BIGINT, true)],
    rows: [...db.tracking].map(([key, t]) => [db.tables.get(key)!.objectId, t.trackColumnsUpdated, BigInt(t.minValidVersion), BigInt(t.beginVersion), BigInt(t.cleanupVersion)]),
  }),
  'sys.schemas': () => ({
    columns: [col('name', nvarchar()), col('schema_id', INT), col('principal_id', INT, true)],
    rows: [['dbo', 1, 1], ['guest', 2, 2], ['INFORMATION_SCHEMA', 3, 3], ['sys', 4, 4]],
  }),
  'sys.tables': (db) => ({
    columns: [col('name', nvarchar()), col('object_id', INT), col('schema_id', INT), col('principal_id', INT, true), col('type', CHAR2),
      col('type_desc', nvarchar(60)), col('create_date', { name: 'datetime' }), col('modify_date', { name: 'datetime' }), col('is_ms_shipped', BIT),
      col('temporal_type', TINYINT), col('is_memory_optimized', BIT)],
    rows: tablesSorted(db).map((t) => [t.name, t.objectId, 1, null, 'U ', 'USER_TABLE', dateValue(t.createDate), dateValue(t.createDate), false, 0, false]),
  }),
  'sys.objects': (db) => {
    const rows: SqlValue[][] = [];
    for (const t of tablesSorted(db)) {
      rows.push([t.name, t.objectId, 1, 0, 'U ', 'USER_TABLE', dateValue(t.createDate), false]);
      for (const k of keys(t)) if (k.kind === 'primaryKey' || k.kind === 'uniqueConstraint') {
        rows.push([k.name, k.objectId, 1, t.objectId, k.kind === 'primaryKey' ? 'PK' : 'UQ', k.kind === 'primaryKey' ? 'PRIMARY_KEY_CONSTRAINT' : 'UNIQUE_CONSTRAINT', dateValue(t.createDate), false]);
      }
      for (const f of t.foreignKeys) rows.push([f.name, f.objectId, 1, t.objectId, 'F ', 'FOREIGN_KEY_CONSTRAINT', dateValue(t.createDate), false]);
    }
    return {
      columns: [col('name', nvarchar()), col('object_id', INT), col('schema_id', INT), col('parent_object_id', INT), col('type', CHAR2), col('type_desc', nvarchar(60)),
        col('create_date', { name: 'datetime' }), col('is_ms_shipped', BIT)],
      rows,
    };
  },
  'sys.columns': (db) => ({
    columns: [col('object_id', INT), col('name', nvarchar()), col('column_id', INT), col('system_type_id', TINYINT), col('user_type_id', INT),
      col('max_length', SMALLINT), col('precision', TINYINT), col('scale', TINYINT), col('collation_name', nvarchar(), true), col('is_nullable', BIT),
      col('is_identity', BIT), col('is_computed', BIT), col('is_rowguidcol', BIT), col('is_sparse', BIT), col('default_object_id', INT)],
    rows: tablesSorted(db).flatMap((t) => t.columns.map((c) => {
      const typeId = systemTypeId(c.type);
      const text = c.type.name === 'char' || c.type.name === 'varchar' || c.type.name === 'nchar' || c.type.name === 'nvarchar' || c.type.name === 'text' || c.type.name === 'ntext';
      const precision = c.type.name === 'decimal' || c.type.name === 'numeric' ? (c.type.precision ?? 18) : SYSTEM_TYPES.find((s) => s.id === typeId)!.precision;
      const scale = c.type.name === 'decimal' || c.type.name === 'numeric' || c.type.name === 'time' || c.type.name === 'datetime2' || c.type.name === 'datetimeoffset' ? (c.type.scale ?? (c.type.name.startsWith('d') && c.type.name !== 'decimal' ? 7 : 0)) : SYSTEM_TYPES.find((s) => s.id === typeId)!.scale;
      return [t.objectId, c.name, c.columnId, typeId, typeId, maxLength(c.type), precision, scale, text ? 'SQL_Latin1_General_CP1_CI_AS' : null,
        c.nullable, c.identity !== undefined, c.computed !== undefined, false, false, 0];
    })),
  }),
  'sys.types': () => ({
    columns: [col('name', nvarchar()), col('system_type_id', TINYINT), col('user_type_id', INT), col('schema_id', INT), col('max_length', SMALLINT),
      col('precision', TINYINT), col('scale', TINYINT), col('collation_name', nvarchar(), true), col('is_nullable', BIT), col('is_user_defined', BIT), col('is_assembly_type', BIT)],
    rows: [...SYSTEM_TYPES.map((s) => [s.name, s.id, s.id, 4, s.maxLength, s.precision, s.scale,
      ['text', 'ntext', 'varchar', 'char', 'nvarchar', 'nchar'].includes(s.name) ? 'SQL_Latin1_General_CP1_CI_AS' : null, true, false, false]),
      ['sysname', 231, 256, 4, 256, 0, 0, 'SQL_Latin1_General_CP1_CI_AS', false, false, false]],
  }),
  'sys.key_constraints': (db) => ({
    columns: [col('name', nvarchar()), col('object_id', INT), col('schema_id', INT), col('parent_object_id', INT), col('type', CHAR2), col('type_desc', nvarchar(60)),
      col('unique_index_id', INT), col('is_system_named', BIT)],
    rows: tablesSorted(db).flatMap((t) => keys(t).filter((k) => k.kind === 'primaryKey' || k.kind === 'uniqueConstraint').map((k) =>
      [k.name, k.objectId, 1, t.objectId, k.kind === 'primaryKey' ? 'PK' : 'UQ', k.kind === 'primaryKey' ? 'PRIMARY_KEY_CONSTRAINT' : 'UNIQUE_CONSTRAINT', k.indexId, k.name.startsWith('PK__') || k.name.startsWith('UQ__')])),
  }),
  'sys.indexes': (db) => ({
    columns: [col('object_id', INT), col('name', nvarchar(), true), col('index_id', INT), col('type', TINYINT), col('type_desc', nvarchar(60)),
      col('is_unique', BIT), col('is_primary_key', BIT), col('is_unique_constraint', BIT)],
    rows: tablesSorted(db).flatMap((t) => [
      ...(t.primaryKey ? [] : [[t.objectId, null, 0, 0, 'HEAP', false, false, false]]),
      ...keys(t).map((k) => [t.objectId, k.name, k.indexId, k.indexId === 1 ? 1 : 2, k.indexId === 1 ? 'CLUSTERED' : 'NONCLUSTERED', k.kind !== 'index', k.kind === 'primaryKey', k.kind === 'uniqueConstraint']),
    ]),
  }),
  'sys.index_columns': (db) => ({
    columns: [col('object_id', INT), col('index_id', INT), col('index_column_id', INT), col('column_id', INT), col('key_ordinal', TINYINT),
      col('is_descending_key', BIT), col('is_included_column', BIT)],
    rows: tablesSorted(db).flatMap((t) => keys(t).flatMap((k) => k.columns.map((c, i) => [t.objectId, k.indexId, i + 1, t.columns[c]!.columnId, i + 1, k.descending[i] ?? false, false]))),
  }),
  'sys.foreign_keys': (db) => ({
    columns: [col('name', nvarchar()), col('object_id', INT), col('schema_id', INT), col('parent_object_id', INT), col('referenced_object_id', INT), col('type', CHAR2),
      col('type_desc', nvarchar(60)), col('delete_referential_action', TINYINT), col('delete_referential_action_desc', nvarchar(60)),
      col('update_referential_action', TINYINT), col('update_referential_action_desc', nvarchar(60)), col('is_disabled', BIT)],
    rows: tablesSorted(db).flatMap((t) => t.foreignKeys.map((f) => [f.name, f.objectId, 1, t.objectId, db.tables.get(f.referencedTable)!.objectId, 'F ', 'FOREIGN_KEY_CONSTRAINT',
      REFERENTIAL[f.onDelete]!, f.onDelete.replace(' ', '_'), REFERENTIAL[f.onUpdate]!, f.onUpdate.replace(' ', '_'), false])),
  }),
  'sys.foreign_key_columns': (db) => ({
    columns: [col('constraint_object_id', INT), col('constraint_column_id', INT), col('parent_object_id', INT), col('parent_column_id', INT),
      col('referenced_object_id', INT), col('referenced_column_id', INT)],
    rows: tablesSorted(db).flatMap((t) => t.foreignKeys.flatMap((f) => {
      const parent = db.tables.get(f.referencedTable)!;
      return f.columns.map((c, i) => [f.objectId, i + 1, t.objectId, t.columns[c]!.columnId, parent.objectId, parent.columns[f.referencedColumns[i]!]!.columnId]);
    })),
  }),
  'sys.computed_columns': (db) => ({
    columns: [col('object_id', INT), col('name', nvarchar()), col('column_id', INT), col('system_type_id', TINYINT), col('user_type_id', INT),
      col('definition', nvarchar('max'), true), col('is_persisted', BIT), col('is_nullable', BIT)],
    rows: tablesSorted(db).flatMap((t) => t.columns.filter((c) => c.computed).map((c) => [t.objectId, c.name, c.columnId, systemTypeId(c.type), systemTypeId(c.type), c.computed!.text, c.computed!.persisted, c.nullable])),
  }),
  'sys.identity_columns': (db) => ({
    columns: [col('object_id', INT), col('name', nvarchar()), col('column_id', INT), col('seed_value', { name: 'numeric', precision: 38, scale: 0 }, true),
      col('increment_value', { name: 'numeric', precision: 38, scale: 0 }, true), col('last_value', { name: 'numeric', precision: 38, scale: 0 }, true)],
    rows: tablesSorted(db).flatMap((t) => t.columns.filter((c) => c.identity).map((c) => [t.objectId, c.name, c.columnId,
      { kind: 'decimal', unscaled: BigInt(c.identity!.seed), scale: 0 }, { kind: 'decimal', unscaled: BigInt(c.identity!.increment), scale: 0 },
      t.identityCurrent === null ? null : { kind: 'decimal', unscaled: t.identityCurrent, scale: 0 }] as SqlValue[])),
  }),
  'information_schema.tables': (db) => ({
    columns: [col('TABLE_CATALOG', nvarchar(), true), col('TABLE_SCHEMA', nvarchar(), true), col('TABLE_NAME', nvarchar()), col('TABLE_TYPE', { name: 'varchar', length: 10 }, true)],
    rows: tablesSorted(db).map((t) => [db.name, t.schema, t.name, 'BASE TABLE']),
  }),
  'information_schema.columns': (db) => ({
    columns: [col('TABLE_CATALOG', nvarchar(), true), col('TABLE_SCHEMA', nvarchar(), true), col('TABLE_NAME', nvarchar()), col('COLUMN_NAME', nvarchar(), true),
      col('ORDINAL_POSITION', INT, true), col('IS_NULLABLE', { name: 'varchar', length: 3 }, true), col('DATA_TYPE', nvarchar(), true),
      col('CHARACTER_MAXIMUM_LENGTH', INT, true), col('NUMERIC_PRECISION', TINYINT, true), col('NUMERIC_SCALE', INT, true), col('DATETIME_PRECISION', SMALLINT, true)],
    rows: tablesSorted(db).flatMap((t) => t.columns.map((c) => {
      const length = c.type.length === 'max' ? -1 : typeof c.type.length === 'number' ? c.type.length : null;
      const numeric = c.type.name === 'decimal' || c.type.name === 'numeric';
      return [db.name, t.schema, t.name, c.name, c.columnId, c.nullable ? 'YES' : 'NO', typeToSql({ name: c.type.name === 'rowversion' ? 'rowversion' : c.type.name }).replace('rowversion', 'timestamp'),
        length, numeric ? (c.type.precision ?? 18) : null, numeric ? (c.type.scale ?? 0) : null, ['time', 'datetime2', 'datetimeoffset'].includes(c.type.name) ? (c.type.scale ?? 7) : null];
    })),
  }),
};

/** The view a name refers to ('sys.tables', '[sys].[columns]', 'db.sys.tables'), if it is one. */
export function catalogView(db: Database, schema: string | undefined, name: string): View | undefined {
  const s = (schema ?? '').toLowerCase();
  const make = VIEWS[`${s}.${name.toLowerCase()}`];
  return make ? make(db) : undefined;
}

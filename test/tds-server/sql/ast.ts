/**
 * The statement shapes the scripted engine understands: the regular T-SQL a connector generates
 * (SELECT with joins, CHANGETABLE, INSERT/UPDATE/DELETE/MERGE with OUTPUT, transactions, SET
 * options, Change Tracking context, catalog queries) and the DDL its tests set up with. Anything
 * else parses to `unrecognised`, which the engine answers with error 102 naming the statement.
 */
import { SqlType, TypedValue } from '../engine/sql-types';

export interface ObjectName {
  database?: string;
  schema?: string;
  name: string;
}

export type Expr =
  | { kind: 'literal'; value: TypedValue }
  | { kind: 'variable'; name: string }
  | { kind: 'column'; qualifier?: string; name: string }
  | { kind: 'unary'; op: '-' | '+' | '~' | 'NOT'; operand: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'isNull'; operand: Expr; negated: boolean }
  | { kind: 'in'; operand: Expr; list: Expr[]; negated: boolean }
  | { kind: 'between'; operand: Expr; low: Expr; high: Expr; negated: boolean }
  | { kind: 'like'; operand: Expr; pattern: Expr; negated: boolean }
  | { kind: 'function'; name: string; args: Expr[]; star?: boolean; distinct?: boolean }
  | { kind: 'cast'; operand: Expr; type: SqlType }
  | { kind: 'case'; operand?: Expr; whens: Array<{ when: Expr; then: Expr }>; otherwise?: Expr }
  | { kind: 'exists'; query: SelectStatement; negated: boolean }
  | { kind: 'subquery'; query: SelectStatement }
  | { kind: 'default' }
  | { kind: 'action' };

export type SelectItem = { kind: 'expr'; expr: Expr; alias?: string } | { kind: 'star'; qualifier?: string };

export type TableSource =
  | { kind: 'table'; name: ObjectName; alias?: string }
  | { kind: 'changes'; table: ObjectName; version: Expr; alias?: string }
  | { kind: 'values'; rows: Expr[][]; alias: string; columns: string[] }
  | { kind: 'subquery'; query: SelectStatement; alias: string; columns?: string[] };

export interface Join {
  type: 'inner' | 'left' | 'right' | 'cross';
  source: TableSource;
  on?: Expr;
}

export interface FromClause {
  source: TableSource;
  joins: Join[];
}

export interface OrderItem {
  expr: Expr;
  descending: boolean;
}

export interface SelectStatement {
  kind: 'select';
  text: string;
  distinct: boolean;
  top?: Expr;
  columns: SelectItem[];
  from?: FromClause;
  where?: Expr;
  groupBy?: Expr[];
  having?: Expr;
  orderBy?: OrderItem[];
  offset?: Expr;
  fetch?: Expr;
}

export interface OutputClause {
  items: SelectItem[];
}

export interface Assignment {
  column: string;
  expr: Expr;
}

export interface InsertStatement {
  kind: 'insert';
  text: string;
  table: ObjectName;
  columns?: string[];
  output?: OutputClause;
  source: { kind: 'values'; rows: Expr[][] } | { kind: 'select'; query: SelectStatement } | { kind: 'defaultValues' };
}

export interface UpdateStatement {
  kind: 'update';
  text: string;
  table: ObjectName;
  alias?: string;
  top?: Expr;
  set: Assignment[];
  output?: OutputClause;
  where?: Expr;
}

export interface DeleteStatement {
  kind: 'delete';
  text: string;
  table: ObjectName;
  alias?: string;
  top?: Expr;
  output?: OutputClause;
  where?: Expr;
}

export type MergeAction =
  | { kind: 'update'; set: Assignment[] }
  | { kind: 'delete' }
  | { kind: 'insert'; columns?: string[]; values: Expr[] | 'default' };

export interface MergeClause {
  when: 'matched' | 'notMatchedByTarget' | 'notMatchedBySource';
  condition?: Expr;
  action: MergeAction;
}

export interface MergeStatement {
  kind: 'merge';
  text: string;
  target: ObjectName;
  targetAlias?: string;
  source: TableSource;
  on: Expr;
  clauses: MergeClause[];
  output?: OutputClause;
}

export interface ColumnDefinition {
  name: string;
  type?: SqlType;
  nullable?: boolean;
  identity?: { seed: number; increment: number };
  computed?: { expr: Expr; text: string; persisted: boolean };
  default?: Expr;
  primaryKey?: { name?: string };
  unique?: { name?: string };
  references?: ForeignKeyDefinition;
}

export interface ForeignKeyDefinition {
  name?: string;
  columns: string[];
  referencedTable: ObjectName;
  referencedColumns: string[];
  onDelete: 'NO ACTION' | 'CASCADE' | 'SET NULL' | 'SET DEFAULT';
  onUpdate: 'NO ACTION' | 'CASCADE' | 'SET NULL' | 'SET DEFAULT';
}

export type TableConstraint =
  | { kind: 'primaryKey'; name?: string; columns: Array<{ name: string; descending: boolean }> }
  | { kind: 'unique'; name?: string; columns: Array<{ name: string; descending: boolean }> }
  | { kind: 'foreignKey'; definition: ForeignKeyDefinition };

export type Statement =
  | SelectStatement
  | InsertStatement
  | UpdateStatement
  | DeleteStatement
  | MergeStatement
  | { kind: 'begin'; text: string; name?: string }
  | { kind: 'commit'; text: string }
  | { kind: 'rollback'; text: string; savepoint?: string }
  | { kind: 'save'; text: string; name: string }
  | { kind: 'set'; text: string; option: string; value: string }
  | { kind: 'setIsolation'; text: string; level: string }
  | { kind: 'setIdentityInsert'; text: string; table: ObjectName; on: boolean }
  | { kind: 'withContext'; text: string; context: Expr; statement: Statement }
  | { kind: 'createTable'; text: string; table: ObjectName; columns: ColumnDefinition[]; constraints: TableConstraint[] }
  | { kind: 'dropTable'; text: string; tables: ObjectName[]; ifExists: boolean }
  | { kind: 'truncate'; text: string; table: ObjectName }
  | { kind: 'alterTableChangeTracking'; text: string; table: ObjectName; enable: boolean; trackColumnsUpdated?: boolean }
  | { kind: 'alterTableAdd'; text: string; table: ObjectName; columns: ColumnDefinition[]; constraints: TableConstraint[] }
  | { kind: 'alterDatabase'; text: string; database: string; option: 'CHANGE_TRACKING'; on: boolean; retentionDays?: number; autoCleanup?: boolean }
  | { kind: 'alterDatabase'; text: string; database: string; option: 'ALLOW_SNAPSHOT_ISOLATION' | 'READ_COMMITTED_SNAPSHOT'; on: boolean }
  | { kind: 'createIndex'; text: string; unique: boolean; name: string; table: ObjectName; columns: Array<{ name: string; descending: boolean }> }
  | { kind: 'if'; text: string; condition: Expr; then: Statement; otherwise?: Statement }
  | { kind: 'use'; text: string; database: string }
  | { kind: 'print'; text: string; expr: Expr }
  | { kind: 'unrecognised'; text: string; near: string };

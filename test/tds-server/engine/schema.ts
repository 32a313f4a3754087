/**
 * Table definitions of the in-memory database: columns (type, nullability, identity, computed,
 * rowversion, default), the primary key, unique constraints and indexes, and foreign keys with
 * their referential actions. Object ids are allocated like SQL Server's: one per table and one
 * per constraint, so OBJECT_ID and the sys.* views agree.
 */
import { Expr } from '../sql/ast';
import { SqlType } from './sql-types';

export interface ColumnSchema {
  name: string;
  /** 1-based, as sys.columns.column_id. */
  columnId: number;
  type: SqlType;
  nullable: boolean;
  identity?: { seed: number; increment: number };
  computed?: { expr: Expr; text: string; persisted: boolean };
  default?: Expr;
  defaultName?: string;
}

export interface KeyDefinition {
  name: string;
  objectId: number;
  /** sys.indexes.index_id: 1 for a clustered primary key, 2.. for the rest. */
  indexId: number;
  /** Column positions (0-based) in key order. */
  columns: number[];
  descending: boolean[];
  kind: 'primaryKey' | 'uniqueConstraint' | 'uniqueIndex' | 'index';
}

export type ReferentialAction = 'NO ACTION' | 'CASCADE' | 'SET NULL' | 'SET DEFAULT';

export interface ForeignKeySchema {
  name: string;
  objectId: number;
  /** The referencing (child) table's key. */
  table: string;
  columns: number[];
  /** The referenced (parent) table's key. */
  referencedTable: string;
  referencedColumns: number[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export interface TableSchema {
  /** `schema.name`, lower-cased: the engine's key for the table. */
  key: string;
  objectId: number;
  schema: string;
  name: string;
  columns: ColumnSchema[];
  primaryKey?: KeyDefinition;
  /** Unique constraints and indexes, unique or not. */
  indexes: KeyDefinition[];
  foreignKeys: ForeignKeySchema[];
  /** The last identity value handed out (IDENT_CURRENT), null before the first. */
  identityCurrent: bigint | null;
  createDate: Date;
}

export function tableKey(schema: string, name: string): string {
  return `${schema}.${name}`.toLowerCase();
}

export function qualifiedName(t: TableSchema): string {
  return `${t.schema}.${t.name}`;
}

export function findColumn(t: TableSchema, name: string): number {
  const lower = name.toLowerCase();
  return t.columns.findIndex((c) => c.name.toLowerCase() === lower);
}

export function identityColumn(t: TableSchema): number {
  return t.columns.findIndex((c) => c.identity !== undefined);
}

/**
 * What an expression can see: the sources of the current FROM (each with the names it can be
 * qualified by and its columns), the request's parameters, and the session. Column references
 * resolve against these as SQL Server resolves them (207 unknown, 209 ambiguous).
 */
import { SelectStatement } from '../sql/ast';
import { Database, Transaction } from './database';
import { errors } from './errors';
import { SqlType, SqlValue, TypedValue } from './sql-types';

export interface SourceColumn {
  name: string;
  type: SqlType;
  nullable: boolean;
  identity?: boolean;
  computed?: boolean;
  readOnly?: boolean;
  tableName?: string[];
}

export interface SourceShape {
  /** Lower-cased names a column of this source may be qualified with (alias, or table and schema.table). */
  names: string[];
  columns: SourceColumn[];
}

/** One row of the joined sources: the values of each source, or null when an outer join found none. */
export type BoundRow = Array<SqlValue[] | null>;

export interface ResultColumn extends SourceColumn {}

export interface QueryResult {
  columns: ResultColumn[];
  rows: SqlValue[][];
}

/** The session-level facts expressions read (functions, @@variables, parameters). */
export interface SessionContext {
  db: Database;
  transaction(): Transaction;
  parameters: Map<string, TypedValue>;
  spid: number;
  scopeIdentity: bigint | null;
  lastRowCount: number;
  tranCount(): number;
  runSubquery(query: SelectStatement, outer: Scope, row: BoundRow): QueryResult;
}

export interface Scope {
  session: SessionContext;
  shapes: SourceShape[];
  outer?: { scope: Scope; row: BoundRow };
  /** MERGE's $action for the row being output. */
  action?: string;
}

export interface ColumnRef {
  /** How many scopes out (0 = this one). */
  depth: number;
  source: number;
  column: number;
}

export function resolveColumn(scope: Scope, qualifier: string | undefined, name: string): ColumnRef {
  const lowerName = name.toLowerCase();
  const lowerQualifier = qualifier?.toLowerCase();
  let current: Scope | undefined = scope;
  let depth = 0;
  while (current) {
    const found: ColumnRef[] = [];
    current.shapes.forEach((shape, s) => {
      if (lowerQualifier !== undefined && !shape.names.includes(lowerQualifier)) return;
      const c = shape.columns.findIndex((col) => col.name.toLowerCase() === lowerName);
      if (c >= 0) found.push({ depth, source: s, column: c });
    });
    if (found.length > 1) throw errors.ambiguousColumn(name);
    if (found.length === 1) return found[0]!;
    current = current.outer?.scope;
    depth += 1;
  }
  throw errors.invalidColumn(qualifier ? `${qualifier}.${name}` : name);
}

export function columnOf(scope: Scope, ref: ColumnRef): SourceColumn {
  let s = scope;
  for (let i = 0; i < ref.depth; i++) s = s.outer!.scope;
  return s.shapes[ref.source]!.columns[ref.column]!;
}

export function valueOf(scope: Scope, row: BoundRow, ref: ColumnRef): SqlValue {
  let r = row;
  let s = scope;
  for (let i = 0; i < ref.depth; i++) {
    r = s.outer!.row;
    s = s.outer!.scope;
  }
  return r[ref.source]?.[ref.column] ?? null;
}

/**
 * The test's hook into the server: a handler sees every statement before the engine does and
 * may answer it instead (scripted result sets, a row count, INFO messages, an error with a real
 * SQL Server number) or drop the connection. Answers use plain JavaScript values, converted to
 * the declared column types here.
 */
import { convert } from '../engine/convert';
import { SqlError } from '../engine/errors';
import { Command, EngineEvent } from '../engine/session';
import { SqlType, SqlValue, TypedValue } from '../engine/sql-types';
import { DAYS_TO_1970 } from '../engine/temporal';
import { Cursor } from '../sql/cursor';
import { tokenize } from '../sql/lexer';

export interface TdsStatementInfo {
  /** The statement's text (one statement of a batch). */
  sql: string;
  /** What the recogniser made of it; 'unrecognised' when the engine would answer error 102. */
  kind: string;
  /** Decoded parameter values by name (without '@'): sp_executesql/sp_execute parameters. */
  parameters: Record<string, SqlValue>;
  parameterTypes: Record<string, SqlType>;
  session: { spid: number; user: string; inTransaction: boolean };
  /** Aborted when the client cancels (an ATTENTION packet). */
  signal: AbortSignal;
}

export interface ScriptedColumn {
  name: string;
  /** A T-SQL type ('int', 'nvarchar(50)', 'decimal(38,10)', 'datetimeoffset(7)') or a SqlType. */
  type: string | SqlType;
  nullable?: boolean;
}

export interface ScriptedResultSet {
  columns: ScriptedColumn[];
  /** Plain values: numbers, bigints, strings, booleans, Buffers, Dates, null. */
  rows: unknown[][];
}

export interface ScriptedError {
  number: number;
  message: string;
  state?: number;
  class?: number;
  /** Stop the rest of the batch (default true, as most scripted failures are meant to end it). */
  abortsBatch?: boolean;
  rollsBackTransaction?: boolean;
}

export interface TdsAnswer {
  resultSets?: ScriptedResultSet[];
  rowsAffected?: number;
  info?: Array<{ number: number; message: string; state?: number; class?: number }>;
  error?: ScriptedError;
  /** Destroy the socket without answering, as a failed-over server or a cut network would. */
  drop?: boolean;
}

export type TdsHandler = (statement: TdsStatementInfo) => TdsAnswer | undefined | void | Promise<TdsAnswer | undefined | void>;

export function parseType(text: string): SqlType {
  const c = new Cursor(tokenize(text), text);
  return c.dataType();
}

/** A plain value as the engine represents a value of `type`. */
export function plainToSql(value: unknown, type: SqlType): SqlValue {
  if (value === null || value === undefined) return null;
  let typed: TypedValue;
  if (value instanceof Date) {
    const ms = value.getTime();
    typed = { type: { name: 'datetime2', scale: 7 }, value: { kind: 'temporal', days: DAYS_TO_1970 + Math.floor(ms / 86_400_000), ticks: (((ms % 86_400_000) + 86_400_000) % 86_400_000) * 10_000, offsetMinutes: null } };
  } else if (typeof value === 'number') typed = { type: Number.isInteger(value) ? { name: 'bigint' } : { name: 'float' }, value: Number.isInteger(value) ? BigInt(value) : value };
  else if (typeof value === 'bigint') typed = { type: { name: 'bigint' }, value };
  else if (typeof value === 'boolean') typed = { type: { name: 'bit' }, value };
  else if (Buffer.isBuffer(value)) typed = { type: { name: 'varbinary', length: 'max' }, value };
  else typed = { type: { name: 'nvarchar', length: 'max' }, value: String(value) };
  return convert(typed, type);
}

export function sqlErrorOf(e: ScriptedError): SqlError {
  return new SqlError(e.number, e.message, { state: e.state, class: e.class, abortsBatch: e.abortsBatch ?? true, rollsBackTransaction: e.rollsBackTransaction ?? e.number === 1205 });
}

/** The engine events a scripted answer stands for. */
export function answerEvents(answer: TdsAnswer): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (const m of answer.info ?? []) events.push({ kind: 'info', number: m.number, message: m.message, state: m.state ?? 1, class: m.class ?? 0 });
  for (const rs of answer.resultSets ?? []) {
    const columns = rs.columns.map((c) => ({ name: c.name, type: typeof c.type === 'string' ? parseType(c.type) : c.type, nullable: c.nullable ?? true }));
    events.push({ kind: 'resultSet', columns, rows: rs.rows.map((r) => r.map((v, i) => plainToSql(v, columns[i]!.type))) });
    events.push({ kind: 'done', command: Command.SELECT, rowCount: rs.rows.length });
  }
  if (answer.error) {
    events.push({ kind: 'error', error: sqlErrorOf(answer.error) }, { kind: 'done', command: Command.NONE, rowCount: null, error: true });
  } else if (answer.rowsAffected !== undefined || (answer.resultSets ?? []).length === 0) {
    events.push({ kind: 'done', command: Command.NONE, rowCount: answer.rowsAffected ?? null });
  }
  return events;
}

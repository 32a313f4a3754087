/**
 * One connection's view of the engine: its transaction (explicit, or one per statement in
 * autocommit), isolation level, SET options (NOCOUNT, XACT_ABORT, IDENTITY_INSERT), SCOPE_IDENTITY
 * and prepared statements. It runs parsed statements and reports what happened as events the
 * TDS layer turns into tokens.
 *
 * Error handling follows SQL Server: a failed statement is undone as a whole; a deadlock (1205)
 * or update conflict (3960) rolls back the whole transaction; so does any error under
 * SET XACT_ABORT ON; errors SQL Server treats as batch-aborting (compile errors, conversions,
 * deadlocks) stop the batch, while constraint violations (2627, 547, 515, …) let it go on.
 */
import { SelectStatement, Statement } from '../sql/ast';
import { ParsedStatement } from '../sql/parser';
import { Database, IsolationLevel, Savepoint, Transaction } from './database';
import { SqlError, errors } from './errors';
import { evaluate, truth } from './evaluate';
import { runDdl } from './execute-ddl';
import { runDelete, runInsert, runMerge, runUpdate } from './execute-dml';
import { resolveTable, runSelect } from './execute-select';
import { WriteContext } from './row-writer';
import { convert } from './convert';
import { QueryResult, ResultColumn, Scope } from './scope';
import { SqlType, SqlValue, TypedValue } from './sql-types';

/** DONE's CurCmd values for the statements (the numbers SQL Server sends). */
export const Command = { SELECT: 0xc1, INSERT: 0xc3, DELETE: 0xc4, UPDATE: 0xc5, MERGE: 0x117, DDL: 0xc6, BEGIN_TRAN: 0xd4, COMMIT: 0xd5, ROLLBACK: 0xd6, SET: 0xb9, NONE: 0 } as const;

export type EngineEvent =
  | { kind: 'resultSet'; columns: ResultColumn[]; rows: SqlValue[][] }
  | { kind: 'done'; command: number; rowCount: number | null; error?: boolean }
  | { kind: 'error'; error: SqlError }
  | { kind: 'info'; number: number; message: string; state: number; class: number }
  | { kind: 'beginTransaction'; descriptor: Buffer }
  | { kind: 'commitTransaction'; descriptor: Buffer }
  | { kind: 'rollbackTransaction'; descriptor: Buffer }
  | { kind: 'returnValue'; name: string; type: SqlType; value: SqlValue };

/** What a statement hook may answer instead of the engine. */
export interface HookResult {
  events: EngineEvent[];
  /** Stop the batch after these events. */
  stop?: boolean;
}

export type StatementHook = (statement: { text: string; kind: Statement['kind']; parameters: Map<string, TypedValue> }) => Promise<HookResult | undefined> | HookResult | undefined;

export interface PreparedStatement {
  sql: string;
  /** Parameter names in declaration order, lower-case, without '@'. */
  parameterNames: string[];
}

const TRANSACTION_ISOLATIONS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE', 'SNAPSHOT']);

export class EngineSession implements WriteContext {
  parameters = new Map<string, TypedValue>();
  scopeIdentity: bigint | null = null;
  lastRowCount = 0;
  identityInsert: string | null = null;
  changeContext: Buffer | null = null;
  isolation: IsolationLevel = 'READ COMMITTED';
  xactAbort = false;
  nocount = false;
  /** The explicit transaction, if one is open. */
  explicit: Transaction | null = null;
  private statementTransaction: Transaction | null = null;
  private readonly savepoints = new Map<string, Savepoint>();
  readonly prepared = new Map<number, PreparedStatement>();
  private nextHandle = 1;

  constructor(readonly db: Database, readonly spid: number) {}

  transaction(): Transaction {
    const tx = this.explicit ?? this.statementTransaction;
    if (!tx) throw new Error('no transaction for the statement');
    return tx;
  }

  tranCount(): number {
    return this.explicit ? this.explicit.nesting : 0;
  }

  setScopeIdentity(value: bigint): void {
    this.scopeIdentity = value;
  }

  runSubquery(query: SelectStatement, outer: Scope, row: SqlValue[][] | Array<SqlValue[] | null>): QueryResult {
    return runSelect(this, query, { scope: outer, row });
  }

  prepare(sql: string, declarations: string): number {
    const handle = this.nextHandle++;
    this.prepared.set(handle, { sql, parameterNames: parameterNames(declarations) });
    return handle;
  }

  /** Begins an explicit transaction (BEGIN TRAN or a transaction manager request). */
  begin(isolation?: string): EngineEvent[] {
    if (isolation && TRANSACTION_ISOLATIONS.has(isolation)) this.isolation = isolation as IsolationLevel;
    if (this.explicit) {
      this.explicit.nesting += 1;
      return [];
    }
    this.explicit = this.db.begin(this.isolation, true);
    return [{ kind: 'beginTransaction', descriptor: this.explicit.descriptor }];
  }

  commit(): EngineEvent[] {
    const tx = this.explicit;
    if (!tx) throw errors.commitWithoutBegin();
    if (tx.nesting > 1) {
      tx.nesting -= 1;
      return [];
    }
    this.db.commit(tx);
    this.explicit = null;
    this.savepoints.clear();
    return [{ kind: 'commitTransaction', descriptor: tx.descriptor }];
  }

  rollback(savepoint?: string): EngineEvent[] {
    const tx = this.explicit;
    if (!tx) throw errors.rollbackWithoutBegin();
    if (savepoint !== undefined && this.savepoints.has(savepoint.toLowerCase())) {
      this.db.restore(tx, this.savepoints.get(savepoint.toLowerCase())!);
      return [];
    }
    this.db.rollback(tx);
    this.explicit = null;
    this.savepoints.clear();
    return [{ kind: 'rollbackTransaction', descriptor: tx.descriptor }];
  }

  /** Ends whatever is open when the connection goes away. */
  close(): void {
    if (this.explicit) this.db.rollback(this.explicit);
    this.explicit = null;
  }

  /** Runs parsed statements; the hook may answer any of them instead. */
  async run(statements: ParsedStatement[], parameters: Map<string, TypedValue>, hook?: StatementHook, signal?: AbortSignal): Promise<EngineEvent[]> {
    this.parameters = parameters;
    const events: EngineEvent[] = [];
    for (const { statement, reason } of statements) {
      if (signal?.aborted) break;
      if (hook) {
        const answer = await hook({ text: statement.text, kind: statement.kind, parameters });
        if (signal?.aborted) break;
        if (answer) {
          events.push(...answer.events);
          const error = answer.events.find((e): e is Extract<EngineEvent, { kind: 'error' }> => e.kind === 'error');
          if (error && this.explicit && (error.error.rollsBackTransaction || this.xactAbort)) events.push(...this.rollback());
          if (answer.stop || (error && (error.error.abortsBatch || this.xactAbort))) break;
          continue;
        }
      }
      if (statement.kind === 'unrecognised') {
        events.push({ kind: 'error', error: errors.syntax(statement.near, statement.text + (reason && !reason.startsWith('Incorrect syntax') ? ` (${reason})` : '')) }, { kind: 'done', command: Command.NONE, rowCount: null, error: true });
        break;
      }
      const ok = this.runOne(statement, events);
      if (!ok) break;
    }
    return events;
  }

  /** Runs one statement into `events`; false when the batch must stop. */
  private runOne(statement: Statement, events: EngineEvent[]): boolean {
    const autocommit = !this.explicit && needsTransaction(statement);
    if (autocommit) this.statementTransaction = this.db.begin(this.isolation, false);
    const savepoint = this.explicit ? this.db.savepoint(this.explicit) : null;
    const mark = events.length;
    try {
      this.execute(statement, events);
      if (autocommit) this.db.commit(this.statementTransaction!);
      return true;
    } catch (e) {
      if (!(e instanceof SqlError)) throw e;
      events.length = mark;
      if (autocommit) this.db.rollback(this.statementTransaction!);
      else if (this.explicit && (e.rollsBackTransaction || this.xactAbort)) {
        events.push({ kind: 'error', error: e });
        events.push(...this.rollback());
        events.push({ kind: 'done', command: Command.NONE, rowCount: null, error: true });
        return false;
      } else if (this.explicit && savepoint) this.db.restore(this.explicit, savepoint);
      events.push({ kind: 'error', error: e }, { kind: 'done', command: Command.NONE, rowCount: null, error: true });
      return !(e.abortsBatch || this.xactAbort);
    } finally {
      this.statementTransaction = null;
      this.changeContext = null;
    }
  }

  private done(events: EngineEvent[], command: number, rowCount: number | null): void {
    if (rowCount !== null) this.lastRowCount = rowCount;
    events.push({ kind: 'done', command, rowCount: this.nocount ? null : rowCount });
  }

  private execute(s: Statement, events: EngineEvent[]): void {
    switch (s.kind) {
      case 'select': {
        const result = runSelect(this, s);
        events.push({ kind: 'resultSet', columns: result.columns, rows: result.rows });
        this.done(events, Command.SELECT, result.rows.length);
        return;
      }
      case 'insert': case 'update': case 'delete': case 'merge': {
        const result = s.kind === 'insert' ? runInsert(this, s) : s.kind === 'update' ? runUpdate(this, s) : s.kind === 'delete' ? runDelete(this, s) : runMerge(this, s);
        if (result.output) events.push({ kind: 'resultSet', columns: result.output.columns, rows: result.output.rows });
        const command = s.kind === 'insert' ? Command.INSERT : s.kind === 'update' ? Command.UPDATE : s.kind === 'delete' ? Command.DELETE : Command.MERGE;
        this.done(events, command, result.rowCount);
        return;
      }
      case 'withContext': {
        const v = evaluate(s.context, { session: this, shapes: [] }, []);
        this.changeContext = v.value === null ? null : (convert(v, { name: 'varbinary', length: 128 }, { table: 'CHANGE_TRACKING_CONTEXT', column: 'context' }) as Buffer);
        this.execute(s.statement, events);
        return;
      }
      case 'begin': events.push(...this.begin()); this.done(events, Command.BEGIN_TRAN, null); return;
      case 'commit': events.push(...this.commit()); this.done(events, Command.COMMIT, null); return;
      case 'rollback': events.push(...this.rollback(s.savepoint)); this.done(events, Command.ROLLBACK, null); return;
      case 'save': {
        if (!this.explicit) throw new SqlError(628, 'Cannot issue SAVE TRANSACTION when there is no active transaction.');
        this.savepoints.set(s.name.toLowerCase(), this.db.savepoint(this.explicit));
        this.done(events, Command.NONE, null);
        return;
      }
      case 'set': {
        if (s.option === 'NOCOUNT') this.nocount = s.value === 'ON';
        if (s.option === 'XACT_ABORT') this.xactAbort = s.value === 'ON';
        this.done(events, Command.SET, null);
        return;
      }
      case 'setIsolation': this.isolation = s.level as IsolationLevel; this.done(events, Command.SET, null); return;
      case 'setIdentityInsert': {
        const t = resolveTable(this, s.table);
        if (!t.columns.some((c) => c.identity)) throw new SqlError(8106, `Table '${t.schema}.${t.name}' does not have the identity property. Cannot perform SET operation.`);
        this.identityInsert = s.on ? t.key : this.identityInsert === t.key ? null : this.identityInsert;
        this.done(events, Command.SET, null);
        return;
      }
      case 'if': {
        const scope: Scope = { session: this, shapes: [] };
        if (truth(s.condition, scope, []) === true) this.execute(s.then, events);
        else if (s.otherwise) this.execute(s.otherwise, events);
        return;
      }
      case 'use': {
        if (s.database.toLowerCase() !== this.db.name.toLowerCase() && s.database.toLowerCase() !== 'master') throw errors.databaseNotFound(s.database);
        this.done(events, Command.NONE, null);
        return;
      }
      case 'print': {
        const v = evaluate(s.expr, { session: this, shapes: [] }, []);
        events.push({ kind: 'info', number: 0, message: v.value === null ? '' : String(v.value), state: 1, class: 0 });
        this.done(events, Command.NONE, null);
        return;
      }
      case 'unrecognised': throw errors.syntax(s.near, s.text);
      default:
        if (runDdl(this, s)) { this.done(events, Command.DDL, null); return; }
        throw errors.syntax(s.kind, s.text);
    }
  }
}

function needsTransaction(s: Statement): boolean {
  return s.kind === 'select' || s.kind === 'insert' || s.kind === 'update' || s.kind === 'delete' || s.kind === 'merge' || s.kind === 'withContext' || s.kind === 'if';
}

/** '@a int, @b nvarchar(10) OUTPUT' → ['a', 'b'] */
export function parameterNames(declarations: string): string[] {
  const names: string[] = [];
  for (const m of declarations.matchAll(/@([A-Za-z0-9_#$@]+)/g)) names.push(m[1]!.toLowerCase());
  return names;
}

/** The declared type of each parameter of an sp_executesql @params list, by lower-case name. */
export function declaredOutputs(declarations: string): Set<string> {
  const out = new Set<string>();
  let depth = 0;
  let current = '';
  for (const ch of declarations + ',') {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      const m = /^\s*@([^\s]+)\s.*\b(out|output)\s*$/i.exec(current);
      if (m) out.add(m[1]!.toLowerCase());
      current = '';
    } else current += ch;
  }
  return out;
}

export type { TypedValue };

/**
 * Splits a batch into statements and recognises each by its leading keywords. Statements may be
 * separated by semicolons or by nothing (tedious's initial `set … on` lines are one per line).
 * A statement that does not parse becomes `unrecognised`, running to the next top-level
 * semicolon, so one unknown shape never hides the rest of the batch from a test's handler.
 */
import { Statement } from './ast';
import { Cursor, ParseError } from './cursor';
import { LexError, SqlToken, tokenize } from './lexer';
import { parseAlter, parseCreate, parseDrop } from './parse-ddl';
import { parseDelete, parseInsert, parseMerge, parseUpdate } from './parse-dml';
import { parseExpression } from './parse-expression';
import { parseSelect } from './parse-select';

export interface ParsedStatement {
  statement: Statement;
  /** Why it was not recognised, for `unrecognised` statements. */
  reason?: string;
}

export function parseBatch(sql: string): ParsedStatement[] {
  let tokens: SqlToken[];
  try {
    tokens = tokenize(sql);
  } catch (e) {
    const near = e instanceof LexError ? sql.slice(e.position, e.position + 10) : sql.slice(0, 10);
    return [{ statement: { kind: 'unrecognised', text: sql.trim(), near }, reason: (e as Error).message }];
  }
  const c = new Cursor(tokens, sql);
  const out: ParsedStatement[] = [];
  while (!c.atEnd()) {
    if (c.acceptOp(';')) continue;
    const start = c.index;
    try {
      const statement = parseStatement(c);
      if (!c.atEnd() && !c.isOp(';') && !startsStatement(c)) c.fail();
      out.push({ statement });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      c.index = start;
      skipToSemicolon(c);
      out.push({ statement: { kind: 'unrecognised', text: c.textFrom(start), near: e.token.kind === 'eof' ? c.textFrom(start).slice(-10) : e.token.value }, reason: e.message });
    }
  }
  return out;
}

function skipToSemicolon(c: Cursor): void {
  let depth = 0;
  while (!c.atEnd()) {
    const t = c.peek();
    if (t.kind === 'op' && t.value === ';' && depth === 0) return;
    if (t.kind === 'op' && t.value === '(') depth++;
    if (t.kind === 'op' && t.value === ')') depth = Math.max(0, depth - 1);
    c.next();
  }
}

const STATEMENT_WORDS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'WITH', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVE', 'SET', 'CREATE', 'DROP', 'ALTER', 'TRUNCATE', 'IF', 'USE', 'PRINT', 'DECLARE', 'EXEC', 'EXECUTE', 'ELSE']);

function startsStatement(c: Cursor): boolean {
  const t = c.peek();
  return t.kind === 'ident' && !t.quoted && STATEMENT_WORDS.has(t.value.toUpperCase());
}

function transactionWord(c: Cursor): void {
  if (!c.acceptKeyword('TRANSACTION') && !c.acceptKeyword('TRAN')) c.acceptKeyword('WORK');
}

function optionalName(c: Cursor): string | undefined {
  if (c.peek().kind === 'ident' && !startsStatement(c)) return c.identifier();
  if (c.peek().kind === 'variable') return c.next().value;
  return undefined;
}

export function parseStatement(c: Cursor): Statement {
  const from = c.index;
  const t = c.peek();
  if (t.kind !== 'ident' || t.quoted) return c.fail();
  switch (t.value.toUpperCase()) {
    case 'SELECT': return parseSelect(c);
    case 'INSERT': return parseInsert(c);
    case 'UPDATE': return parseUpdate(c);
    case 'DELETE': return parseDelete(c);
    case 'MERGE': return parseMerge(c);
    case 'WITH': {
      c.next();
      c.expectKeyword('CHANGE_TRACKING_CONTEXT');
      c.expectOp('(');
      const context = parseExpression(c);
      c.expectOp(')');
      const statement = parseStatement(c);
      if (!['insert', 'update', 'delete', 'merge'].includes(statement.kind)) c.fail('WITH CHANGE_TRACKING_CONTEXT must precede INSERT, UPDATE, DELETE or MERGE.');
      return { kind: 'withContext', text: c.textFrom(from), context, statement };
    }
    case 'BEGIN': {
      c.next();
      if (!c.isKeyword('TRAN') && !c.isKeyword('TRANSACTION')) c.fail();
      transactionWord(c);
      return { kind: 'begin', text: c.textFrom(from), name: optionalName(c) };
    }
    case 'COMMIT': {
      c.next();
      transactionWord(c);
      optionalName(c);
      return { kind: 'commit', text: c.textFrom(from) };
    }
    case 'ROLLBACK': {
      c.next();
      transactionWord(c);
      return { kind: 'rollback', text: c.textFrom(from), savepoint: optionalName(c) };
    }
    case 'SAVE': {
      c.next();
      transactionWord(c);
      return { kind: 'save', text: c.textFrom(from), name: c.identifier() };
    }
    case 'SET': return parseSet(c, from);
    case 'CREATE': return parseCreate(c, from);
    case 'DROP': return parseDrop(c, from);
    case 'ALTER': return parseAlter(c, from);
    case 'TRUNCATE': {
      c.next();
      c.expectKeyword('TABLE');
      return { kind: 'truncate', text: c.textFrom(from), table: c.objectName() };
    }
    case 'IF': {
      c.next();
      const condition = parseExpression(c);
      const then = parseStatement(c);
      c.acceptOp(';');
      const otherwise = c.acceptKeyword('ELSE') ? parseStatement(c) : undefined;
      return { kind: 'if', text: c.textFrom(from), condition, then, otherwise };
    }
    case 'USE': {
      c.next();
      return { kind: 'use', text: c.textFrom(from), database: c.identifier() };
    }
    case 'PRINT': {
      c.next();
      return { kind: 'print', text: c.textFrom(from), expr: parseExpression(c) };
    }
    default:
      return c.fail();
  }
}

function parseSet(c: Cursor, from: number): Statement {
  c.expectKeyword('SET');
  if (c.acceptKeyword('TRANSACTION', 'ISOLATION', 'LEVEL')) {
    const words: string[] = [];
    const first = c.identifier().toUpperCase();
    words.push(first);
    if (first === 'READ' || first === 'REPEATABLE') words.push(c.identifier().toUpperCase());
    const level = words.join(' ');
    if (!['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE', 'SNAPSHOT'].includes(level)) c.fail();
    return { kind: 'setIsolation', text: c.textFrom(from), level };
  }
  if (c.acceptKeyword('IDENTITY_INSERT')) {
    const table = c.objectName();
    const on = c.acceptKeyword('ON') ? true : (c.expectKeyword('OFF'), false);
    return { kind: 'setIdentityInsert', text: c.textFrom(from), table, on };
  }
  if (c.peek().kind !== 'ident') c.fail();
  const option = c.identifier().toUpperCase();
  const v = c.next();
  if (v.kind === 'eof') c.fail();
  const value = v.kind === 'op' && v.value === '-' ? '-' + c.next().value : v.value;
  return { kind: 'set', text: c.textFrom(from), option, value: value.toUpperCase() };
}

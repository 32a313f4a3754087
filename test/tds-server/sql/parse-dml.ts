/**
 * INSERT (VALUES rows, SELECT, DEFAULT VALUES), UPDATE … SET … WHERE, DELETE … WHERE and MERGE
 * … USING … ON … WHEN [NOT] MATCHED …, each with an optional OUTPUT clause (INSERTED.*,
 * DELETED.*, $action). OUTPUT … INTO is not supported.
 */
import { Assignment, DeleteStatement, InsertStatement, MergeClause, MergeStatement, OutputClause, UpdateStatement } from './ast';
import { Cursor } from './cursor';
import { parseExpression } from './parse-expression';
import { parseSelect, parseSelectItems, parseTableSource, parseTop, parseValuesRows, skipTableHints } from './parse-select';

function parseOutput(c: Cursor): OutputClause | undefined {
  if (!c.acceptKeyword('OUTPUT')) return undefined;
  const items = parseSelectItems(c);
  if (c.isKeyword('INTO')) c.fail('OUTPUT … INTO is not supported by the scripted TDS test server.');
  return { items };
}

function parseAssignments(c: Cursor): Assignment[] {
  const set: Assignment[] = [];
  do {
    const parts = [c.identifier()];
    while (c.acceptOp('.')) parts.push(c.identifier());
    const column = parts[parts.length - 1]!;
    const op = c.next();
    if (op.kind !== 'op' || !['=', '+=', '-=', '*=', '/='].includes(op.value)) c.fail();
    let expr = parseExpression(c);
    if (op.value !== '=') expr = { kind: 'binary', op: op.value[0]!, left: { kind: 'column', name: column }, right: expr };
    set.push({ column, expr });
  } while (c.acceptOp(','));
  return set;
}

export function parseInsert(c: Cursor): InsertStatement {
  const from = c.index;
  c.expectKeyword('INSERT');
  c.acceptKeyword('INTO');
  const table = c.objectName();
  skipTableHints(c);
  const columns = c.isOp('(') ? c.identifierList() : undefined;
  const output = parseOutput(c);
  let source: InsertStatement['source'];
  if (c.acceptKeyword('VALUES')) source = { kind: 'values', rows: parseValuesRows(c) };
  else if (c.acceptKeyword('DEFAULT', 'VALUES')) source = { kind: 'defaultValues' };
  else if (c.isKeyword('SELECT')) source = { kind: 'select', query: parseSelect(c) };
  else return c.fail();
  return { kind: 'insert', text: c.textFrom(from), table, columns, output, source };
}

export function parseUpdate(c: Cursor): UpdateStatement {
  const from = c.index;
  c.expectKeyword('UPDATE');
  const top = parseTop(c);
  const table = c.objectName();
  skipTableHints(c);
  c.expectKeyword('SET');
  const set = parseAssignments(c);
  const output = parseOutput(c);
  if (c.isKeyword('FROM')) c.fail('UPDATE … FROM is not supported by the scripted TDS test server.');
  const where = c.acceptKeyword('WHERE') ? parseExpression(c) : undefined;
  return { kind: 'update', text: c.textFrom(from), table, top, set, output, where };
}

export function parseDelete(c: Cursor): DeleteStatement {
  const from = c.index;
  c.expectKeyword('DELETE');
  const top = parseTop(c);
  c.acceptKeyword('FROM');
  const table = c.objectName();
  skipTableHints(c);
  const output = parseOutput(c);
  if (c.isKeyword('FROM')) c.fail('DELETE … FROM … JOIN is not supported by the scripted TDS test server.');
  const where = c.acceptKeyword('WHERE') ? parseExpression(c) : undefined;
  return { kind: 'delete', text: c.textFrom(from), table, top, output, where };
}

export function parseMerge(c: Cursor): MergeStatement {
  const from = c.index;
  c.expectKeyword('MERGE');
  parseTop(c);
  c.acceptKeyword('INTO');
  const target = c.objectName();
  skipTableHints(c);
  const targetAlias = c.isKeyword('USING') ? undefined : c.optionalAlias();
  skipTableHints(c);
  c.expectKeyword('USING');
  const source = parseTableSource(c);
  c.expectKeyword('ON');
  const on = parseExpression(c);
  const clauses: MergeClause[] = [];
  while (c.acceptKeyword('WHEN')) {
    let when: MergeClause['when'];
    if (c.acceptKeyword('MATCHED')) when = 'matched';
    else {
      c.expectKeyword('NOT', 'MATCHED');
      if (c.acceptKeyword('BY', 'SOURCE')) when = 'notMatchedBySource';
      else {
        c.acceptKeyword('BY', 'TARGET');
        when = 'notMatchedByTarget';
      }
    }
    const condition = c.acceptKeyword('AND') ? parseExpression(c) : undefined;
    c.expectKeyword('THEN');
    let action: MergeClause['action'];
    if (c.acceptKeyword('UPDATE', 'SET')) action = { kind: 'update', set: parseAssignments(c) };
    else if (c.acceptKeyword('DELETE')) action = { kind: 'delete' };
    else {
      c.expectKeyword('INSERT');
      const columns = c.isOp('(') ? c.identifierList() : undefined;
      if (c.acceptKeyword('DEFAULT', 'VALUES')) action = { kind: 'insert', columns, values: 'default' };
      else {
        c.expectKeyword('VALUES');
        action = { kind: 'insert', columns, values: parseValuesRows(c)[0]! };
      }
    }
    clauses.push({ when, condition, action });
  }
  const output = parseOutput(c);
  if (c.acceptKeyword('OPTION')) {
    c.expectOp('(');
    while (!c.acceptOp(')') && !c.atEnd()) c.next();
  }
  // MERGE must be terminated by a semicolon in T-SQL.
  if (!c.isOp(';')) c.fail("A MERGE statement must be terminated by a semi-colon (;).");
  return { kind: 'merge', text: c.textFrom(from), target, targetAlias, source, on, clauses, output };
}

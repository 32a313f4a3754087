/**
 * SELECT and table sources: tables (with ignored table hints), CHANGETABLE(CHANGES t, @v),
 * (VALUES …) and subqueries with aliases, INNER/LEFT/RIGHT/CROSS joins, WHERE, GROUP BY, HAVING,
 * ORDER BY, TOP and OFFSET/FETCH.
 */
import { Expr, FromClause, Join, OrderItem, SelectItem, SelectStatement, TableSource } from './ast';
import { Cursor } from './cursor';
import { parseExpression } from './parse-expression';

export function parseSelect(c: Cursor): SelectStatement {
  const from = c.index;
  c.expectKeyword('SELECT');
  c.acceptKeyword('ALL');
  const distinct = c.acceptKeyword('DISTINCT');
  const top = parseTop(c);
  const columns = parseSelectItems(c);
  const statement: SelectStatement = { kind: 'select', text: '', distinct, top, columns };
  if (c.acceptKeyword('FROM')) statement.from = parseFrom(c);
  if (c.acceptKeyword('WHERE')) statement.where = parseExpression(c);
  if (c.acceptKeyword('GROUP', 'BY')) {
    statement.groupBy = [parseExpression(c)];
    while (c.acceptOp(',')) statement.groupBy.push(parseExpression(c));
  }
  if (c.acceptKeyword('HAVING')) statement.having = parseExpression(c);
  if (c.acceptKeyword('ORDER', 'BY')) {
    statement.orderBy = parseOrderBy(c);
    if (c.acceptKeyword('OFFSET')) {
      statement.offset = parseExpression(c);
      if (!c.acceptKeyword('ROWS')) c.expectKeyword('ROW');
      if (c.acceptKeyword('FETCH')) {
        if (!c.acceptKeyword('NEXT')) c.expectKeyword('FIRST');
        statement.fetch = parseExpression(c);
        if (!c.acceptKeyword('ROWS')) c.expectKeyword('ROW');
        c.expectKeyword('ONLY');
      }
    }
  }
  if (c.acceptKeyword('OPTION')) skipParenthesised(c);
  statement.text = c.textFrom(from);
  return statement;
}

export function parseTop(c: Cursor): Expr | undefined {
  if (!c.acceptKeyword('TOP')) return undefined;
  let top: Expr;
  if (c.acceptOp('(')) {
    top = parseExpression(c);
    c.expectOp(')');
  } else {
    const t = c.next();
    if (t.kind === 'number') top = { kind: 'literal', value: { type: { name: 'bigint' }, value: BigInt(t.value) } };
    else if (t.kind === 'variable') top = { kind: 'variable', name: t.value.slice(1) };
    else c.fail();
  }
  if (c.acceptKeyword('PERCENT')) c.fail('TOP … PERCENT is not supported by the scripted TDS test server.');
  return top;
}

export function parseSelectItems(c: Cursor): SelectItem[] {
  const items = [parseSelectItem(c)];
  while (c.acceptOp(',')) items.push(parseSelectItem(c));
  return items;
}

function parseSelectItem(c: Cursor): SelectItem {
  if (c.acceptOp('*')) return { kind: 'star' };
  const t = c.peek();
  if (t.kind === 'ident' && c.isOp('.', 1) && c.isOp('*', 2)) {
    c.next();
    c.next();
    c.next();
    return { kind: 'star', qualifier: t.value };
  }
  // `alias = expression`
  if (t.kind === 'ident' && c.isOp('=', 1) && !c.isOp('.', 1)) {
    const alias = c.identifier();
    c.expectOp('=');
    return { kind: 'expr', expr: parseExpression(c), alias };
  }
  const expr = parseExpression(c);
  let alias: string | undefined;
  if (c.acceptKeyword('AS')) {
    const a = c.next();
    if (a.kind !== 'ident' && a.kind !== 'string') c.fail();
    alias = a.value;
  } else if (c.peek().kind === 'string') {
    alias = c.next().value;
  } else if (c.isIdentifier()) {
    alias = c.identifier();
  }
  return { kind: 'expr', expr, alias };
}

export function parseOrderBy(c: Cursor): OrderItem[] {
  const items: OrderItem[] = [];
  do {
    const expr = parseExpression(c);
    let descending = false;
    if (c.acceptKeyword('DESC')) descending = true;
    else c.acceptKeyword('ASC');
    items.push({ expr, descending });
  } while (c.acceptOp(','));
  return items;
}

function skipParenthesised(c: Cursor): void {
  c.expectOp('(');
  let depth = 1;
  while (depth > 0 && !c.atEnd()) {
    const t = c.next();
    if (t.kind === 'op' && t.value === '(') depth++;
    if (t.kind === 'op' && t.value === ')') depth--;
  }
}

/** `WITH (NOLOCK, …)` after a table: locking hints do not change what the engine does. */
export function skipTableHints(c: Cursor): void {
  if (c.isKeyword('WITH') && c.isOp('(', 1)) {
    c.next();
    skipParenthesised(c);
  }
}

export function parseTableSource(c: Cursor): TableSource {
  if (c.isOp('(')) {
    c.next();
    if (c.acceptKeyword('VALUES')) {
      const rows = parseValuesRows(c);
      c.expectOp(')');
      c.acceptKeyword('AS');
      const alias = c.identifier();
      const columns = c.identifierList();
      return { kind: 'values', rows, alias, columns };
    }
    const query = parseSelect(c);
    c.expectOp(')');
    c.acceptKeyword('AS');
    const alias = c.identifier();
    const columns = c.isOp('(') ? c.identifierList() : undefined;
    return { kind: 'subquery', query, alias, columns };
  }
  if (c.isKeyword('CHANGETABLE')) {
    c.next();
    c.expectOp('(');
    c.expectKeyword('CHANGES');
    const table = c.objectName();
    c.expectOp(',');
    const version = parseExpression(c);
    c.expectOp(')');
    return { kind: 'changes', table, version, alias: c.optionalAlias() };
  }
  const name = c.objectName();
  skipTableHints(c);
  const alias = c.optionalAlias();
  skipTableHints(c);
  return { kind: 'table', name, alias };
}

export function parseValuesRows(c: Cursor): Expr[][] {
  const rows: Expr[][] = [];
  do {
    c.expectOp('(');
    const row = [parseExpression(c)];
    while (c.acceptOp(',')) row.push(parseExpression(c));
    c.expectOp(')');
    rows.push(row);
  } while (c.acceptOp(','));
  return rows;
}

export function parseFrom(c: Cursor): FromClause {
  const source = parseTableSource(c);
  const joins: Join[] = [];
  for (;;) {
    if (c.acceptOp(',')) {
      joins.push({ type: 'cross', source: parseTableSource(c) });
      continue;
    }
    let type: Join['type'] | undefined;
    if (c.acceptKeyword('INNER', 'JOIN') || c.acceptKeyword('JOIN')) type = 'inner';
    else if (c.acceptKeyword('LEFT', 'OUTER', 'JOIN') || c.acceptKeyword('LEFT', 'JOIN')) type = 'left';
    else if (c.acceptKeyword('RIGHT', 'OUTER', 'JOIN') || c.acceptKeyword('RIGHT', 'JOIN')) type = 'right';
    else if (c.acceptKeyword('CROSS', 'JOIN')) type = 'cross';
    if (!type) return { source, joins };
    const joined = parseTableSource(c);
    if (type === 'cross') {
      joins.push({ type, source: joined });
      continue;
    }
    c.expectKeyword('ON');
    joins.push({ type, source: joined, on: parseExpression(c) });
  }
}

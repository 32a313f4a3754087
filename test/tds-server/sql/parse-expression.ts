/**
 * Expressions with T-SQL precedence: OR < AND < NOT < predicates (comparison, IS NULL, IN,
 * BETWEEN, LIKE) < + - < * / % < unary. Primaries are literals, @variables, @@functions,
 * column references, function calls, CAST/CONVERT, CASE, EXISTS and scalar subqueries.
 */
import { parseDecimal } from '../engine/convert';
import { SqlType, TypedValue } from '../engine/sql-types';
import { Expr } from './ast';
import { Cursor } from './cursor';
import { parseSelect } from './parse-select';

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '!<', '!>']);

export function parseExpression(c: Cursor): Expr {
  let left = parseAnd(c);
  while (c.acceptKeyword('OR')) left = { kind: 'binary', op: 'OR', left, right: parseAnd(c) };
  return left;
}

function parseAnd(c: Cursor): Expr {
  let left = parseNot(c);
  while (c.acceptKeyword('AND')) left = { kind: 'binary', op: 'AND', left, right: parseNot(c) };
  return left;
}

function parseNot(c: Cursor): Expr {
  if (c.acceptKeyword('NOT')) return { kind: 'unary', op: 'NOT', operand: parseNot(c) };
  return parsePredicate(c);
}

function parsePredicate(c: Cursor): Expr {
  if (c.isKeyword('EXISTS')) {
    c.next();
    c.expectOp('(');
    const query = parseSelect(c);
    c.expectOp(')');
    return { kind: 'exists', query, negated: false };
  }
  const left = parseAdditive(c);
  if (c.acceptKeyword('IS')) {
    const negated = c.acceptKeyword('NOT');
    c.expectKeyword('NULL');
    return { kind: 'isNull', operand: left, negated };
  }
  const negated = c.isKeyword('NOT') && (c.isKeyword('IN', 1) || c.isKeyword('BETWEEN', 1) || c.isKeyword('LIKE', 1));
  if (negated) c.next();
  if (c.acceptKeyword('IN')) {
    c.expectOp('(');
    const list = [parseExpression(c)];
    while (c.acceptOp(',')) list.push(parseExpression(c));
    c.expectOp(')');
    return { kind: 'in', operand: left, list, negated };
  }
  if (c.acceptKeyword('BETWEEN')) {
    const low = parseAdditive(c);
    c.expectKeyword('AND');
    return { kind: 'between', operand: left, low, high: parseAdditive(c), negated };
  }
  if (c.acceptKeyword('LIKE')) return { kind: 'like', operand: left, pattern: parseAdditive(c), negated };
  if (negated) c.fail();
  const t = c.peek();
  if (t.kind === 'op' && COMPARISONS.has(t.value)) {
    c.next();
    const op = t.value === '!=' ? '<>' : t.value === '!<' ? '>=' : t.value === '!>' ? '<=' : t.value;
    return { kind: 'binary', op, left, right: parseAdditive(c) };
  }
  return left;
}

function parseAdditive(c: Cursor): Expr {
  let left = parseMultiplicative(c);
  for (;;) {
    const t = c.peek();
    if (t.kind === 'op' && (t.value === '+' || t.value === '-' || t.value === '&' || t.value === '|' || t.value === '^')) {
      c.next();
      left = { kind: 'binary', op: t.value, left, right: parseMultiplicative(c) };
    } else return left;
  }
}

function parseMultiplicative(c: Cursor): Expr {
  let left = parseUnary(c);
  for (;;) {
    const t = c.peek();
    if (t.kind === 'op' && (t.value === '*' || t.value === '/' || t.value === '%')) {
      c.next();
      left = { kind: 'binary', op: t.value, left, right: parseUnary(c) };
    } else return left;
  }
}

function parseUnary(c: Cursor): Expr {
  const t = c.peek();
  if (t.kind === 'op' && (t.value === '-' || t.value === '+' || t.value === '~')) {
    c.next();
    const operand = parseUnary(c);
    // A negative literal stays a literal, so -2147483648 is an int as in SQL Server.
    if (t.value === '-' && operand.kind === 'literal' && typeof operand.value.value === 'number') {
      return literal({ name: operand.value.type.name }, -operand.value.value);
    }
    return { kind: 'unary', op: t.value, operand };
  }
  return parsePrimary(c);
}

function literal(type: SqlType, value: TypedValue['value']): Expr {
  return { kind: 'literal', value: { type, value } };
}

/** A number literal typed as SQL Server types it: int, bigint beyond int, numeric(p,s) with a point, float with an exponent. */
export function numberLiteral(text: string): Expr {
  if (/[eE]/.test(text)) return literal({ name: 'float' }, Number(text));
  if (!text.includes('.')) {
    const n = BigInt(text);
    if (n <= 2147483647n) return literal({ name: 'int' }, Number(n));
    if (n <= 2n ** 63n - 1n) return literal({ name: 'bigint' }, n);
  }
  const d = parseDecimal(text)!;
  const digits = d.unscaled.toString().replace('-', '').length;
  return literal({ name: 'numeric', precision: Math.max(digits, d.scale, 1), scale: d.scale }, d);
}

function parsePrimary(c: Cursor): Expr {
  const t = c.peek();
  switch (t.kind) {
    case 'number':
      c.next();
      return numberLiteral(t.value);
    case 'string':
      c.next();
      return literal({ name: t.unicode ? 'nvarchar' : 'varchar', length: Math.max(t.value.length, 1) }, t.value);
    case 'binary':
      c.next();
      return literal({ name: 'varbinary', length: Math.max(t.value.length / 2, 1) }, Buffer.from(t.value.length % 2 ? '0' + t.value : t.value, 'hex'));
    case 'variable':
      c.next();
      if (t.value.startsWith('@@')) return { kind: 'function', name: t.value.toUpperCase(), args: [] };
      return { kind: 'variable', name: t.value.slice(1) };
    case 'op':
      if (t.value === '(') {
        c.next();
        if (c.isKeyword('SELECT')) {
          const query = parseSelect(c);
          c.expectOp(')');
          return { kind: 'subquery', query };
        }
        const e = parseExpression(c);
        c.expectOp(')');
        return e;
      }
      return c.fail();
    case 'ident':
      return parseWord(c);
    default:
      return c.fail();
  }
}

function parseWord(c: Cursor): Expr {
  const t = c.peek();
  const upper = t.quoted ? '' : t.value.toUpperCase();
  if (upper === 'NULL') { c.next(); return literal({ name: 'int' }, null); }
  if (upper === 'DEFAULT') { c.next(); return { kind: 'default' }; }
  if (upper === '$ACTION') { c.next(); return { kind: 'action' }; }
  if (upper === 'CASE') return parseCase(c);
  if (upper === 'CAST' || upper === 'TRY_CAST') {
    c.next();
    c.expectOp('(');
    const operand = parseExpression(c);
    c.expectKeyword('AS');
    const type = c.dataType();
    c.expectOp(')');
    return { kind: 'cast', operand, type };
  }
  if (upper === 'CONVERT' || upper === 'TRY_CONVERT') {
    c.next();
    c.expectOp('(');
    const type = c.dataType();
    c.expectOp(',');
    const operand = parseExpression(c);
    // A style argument only changes formatting, which the engine does not model.
    if (c.acceptOp(',')) parseExpression(c);
    c.expectOp(')');
    return { kind: 'cast', operand, type };
  }
  if (c.isOp('(', 1) && !t.quoted) {
    c.next();
    c.next();
    if (c.acceptOp(')')) return { kind: 'function', name: upper, args: [] };
    if (c.isOp('*')) {
      c.next();
      c.expectOp(')');
      return { kind: 'function', name: upper, args: [], star: true };
    }
    const distinct = c.acceptKeyword('DISTINCT');
    const args = [parseExpression(c)];
    while (c.acceptOp(',')) args.push(parseExpression(c));
    c.expectOp(')');
    return { kind: 'function', name: upper, args, distinct };
  }
  // A column: name, qualifier.name, or schema.table.name (the last two parts matter).
  const parts = [c.identifier()];
  while (c.isOp('.') && c.peek(1).kind === 'ident') {
    c.next();
    parts.push(c.identifier());
  }
  if (parts.length === 1) return { kind: 'column', name: parts[0]! };
  return { kind: 'column', qualifier: parts[parts.length - 2]!, name: parts[parts.length - 1]! };
}

function parseCase(c: Cursor): Expr {
  c.expectKeyword('CASE');
  const operand = c.isKeyword('WHEN') ? undefined : parseExpression(c);
  const whens: Array<{ when: Expr; then: Expr }> = [];
  while (c.acceptKeyword('WHEN')) {
    const when = parseExpression(c);
    c.expectKeyword('THEN');
    whens.push({ when, then: parseExpression(c) });
  }
  const otherwise = c.acceptKeyword('ELSE') ? parseExpression(c) : undefined;
  c.expectKeyword('END');
  return { kind: 'case', operand, whens, otherwise };
}

/**
 * Expression typing and evaluation. `typeOf` gives the type SQL Server would declare for a
 * result column (so COLMETADATA is right even for an empty result); `evaluate` computes a value
 * under three-valued logic (a predicate is true, false or null). Arithmetic on exact numerics
 * is exact (scaled bigints) with SQL Server's result precision and scale.
 */
import { Expr } from '../sql/ast';
import { compare, convert, decimalToString, formatValue, rescale, toDecimal, toNumber } from './convert';
import { SqlError, errors } from './errors';
import { aggregateType, evaluateAggregate, evaluateFunction, functionType, isAggregate } from './functions';
import { BoundRow, Scope, columnOf, resolveColumn, valueOf } from './scope';
import { SqlType, SqlValue, TypeName, TypedValue, isCharType, isUnicodeType } from './sql-types';

export interface Typed {
  type: SqlType;
  nullable: boolean;
}

const NUMERIC_RANK: Partial<Record<TypeName, number>> = { bit: 1, tinyint: 2, smallint: 3, int: 4, bigint: 5, smallmoney: 6, money: 7, decimal: 8, numeric: 8, real: 9, float: 10 };

function decimalShape(t: SqlType): { p: number; s: number } {
  switch (t.name) {
    case 'bit': return { p: 1, s: 0 };
    case 'tinyint': return { p: 3, s: 0 };
    case 'smallint': return { p: 5, s: 0 };
    case 'int': return { p: 10, s: 0 };
    case 'bigint': return { p: 19, s: 0 };
    case 'smallmoney': return { p: 10, s: 4 };
    case 'money': return { p: 19, s: 4 };
    default: return { p: t.precision ?? 18, s: t.scale ?? 0 };
  }
}

function capDecimal(p: number, s: number): SqlType {
  if (p <= 38) return { name: 'numeric', precision: p, scale: s };
  // Beyond 38 digits SQL Server keeps the integral part and gives up scale, down to 6.
  const integral = p - s;
  const scale = Math.max(Math.min(s, 38 - integral), Math.min(s, 6));
  return { name: 'numeric', precision: 38, scale };
}

export function arithmeticType(op: string, a: SqlType, b: SqlType): SqlType {
  if (op === '+' && (isCharType(a.name) || isCharType(b.name))) {
    const unicode = isUnicodeType(a.name) || isUnicodeType(b.name);
    const la = a.length === 'max' || b.length === 'max' ? 'max' : (typeof a.length === 'number' ? a.length : 30) + (typeof b.length === 'number' ? b.length : 30);
    const limit = unicode ? 4000 : 8000;
    return { name: unicode ? 'nvarchar' : 'varchar', length: la === 'max' || la > limit ? 'max' : la };
  }
  const ra = NUMERIC_RANK[a.name];
  const rb = NUMERIC_RANK[b.name];
  if (ra === undefined || rb === undefined) throw errors.implicitConversion(a.name, b.name);
  const top = ra >= rb ? a : b;
  if (top.name === 'float' || top.name === 'real') return { name: 'float' };
  if (top.name !== 'decimal' && top.name !== 'numeric') {
    if (top.name === 'bit') return { name: 'int' };
    return { name: top.name === 'tinyint' || top.name === 'smallint' ? 'int' : top.name };
  }
  const x = decimalShape(a);
  const y = decimalShape(b);
  switch (op) {
    case '*': return capDecimal(x.p + y.p + 1, x.s + y.s);
    case '/': {
      const s = Math.max(6, x.s + y.p + 1);
      return capDecimal(x.p - x.s + y.s + s, s);
    }
    case '%': return capDecimal(Math.min(x.p - x.s, y.p - y.s) + Math.max(x.s, y.s), Math.max(x.s, y.s));
    default: {
      const s = Math.max(x.s, y.s);
      return capDecimal(Math.max(x.p - x.s, y.p - y.s) + s + 1, s);
    }
  }
}

const BIT: SqlType = { name: 'bit' };

export function typeOf(expr: Expr, scope: Scope): Typed {
  switch (expr.kind) {
    case 'literal': return { type: expr.value.type, nullable: expr.value.value === null };
    case 'variable': {
      const p = scope.session.parameters.get(expr.name.toLowerCase());
      if (!p) throw errors.mustDeclare(`@${expr.name}`);
      return { type: p.type, nullable: true };
    }
    case 'column': {
      const c = columnOf(scope, resolveColumn(scope, expr.qualifier, expr.name));
      return { type: c.type, nullable: c.nullable };
    }
    case 'unary': return expr.op === 'NOT' ? { type: BIT, nullable: true } : typeOf(expr.operand, scope);
    case 'binary': {
      if (['AND', 'OR', '=', '<>', '<', '>', '<=', '>='].includes(expr.op)) return { type: BIT, nullable: true };
      const l = typeOf(expr.left, scope);
      const r = typeOf(expr.right, scope);
      return { type: arithmeticType(expr.op, l.type, r.type), nullable: l.nullable || r.nullable };
    }
    case 'isNull': case 'in': case 'between': case 'like': case 'exists': return { type: BIT, nullable: false };
    case 'function':
      if (isAggregate(expr.name)) return aggregateType(expr, scope);
      return functionType(expr, scope);
    case 'cast': return { type: expr.type, nullable: typeOf(expr.operand, scope).nullable };
    case 'case': {
      const branches = [...expr.whens.map((w) => w.then), ...(expr.otherwise ? [expr.otherwise] : [])].map((e) => typeOf(e, scope));
      const typed = branches.find((b) => !b.nullable || b.type.name !== 'int') ?? branches[0]!;
      return { type: typed.type, nullable: true };
    }
    case 'subquery': {
      const result = scope.session.runSubquery({ ...expr.query, top: { kind: 'literal', value: { type: { name: 'int' }, value: 0 } } }, scope, []);
      return { type: result.columns[0]!.type, nullable: true };
    }
    case 'action': return { type: { name: 'nvarchar', length: 10 }, nullable: false };
    case 'default': throw errors.syntax('DEFAULT', 'DEFAULT outside a VALUES list');
  }
}

/** Three-valued truth of a predicate. */
export function truth(expr: Expr, scope: Scope, row: BoundRow, group?: BoundRow[]): boolean | null {
  const v = evaluate(expr, scope, row, group).value;
  if (v === null) return null;
  return v === true || (typeof v === 'number' && v !== 0);
}

function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else re += ch.replace(/[.*+?^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

function arithmetic(op: string, l: TypedValue, r: TypedValue, type: SqlType): SqlValue {
  if (l.value === null || r.value === null) return null;
  if (type.name === 'varchar' || type.name === 'nvarchar') return formatValue(l) + formatValue(r);
  if (type.name === 'float') {
    const a = toNumber(l.value);
    const b = toNumber(r.value);
    if ((op === '/' || op === '%') && b === 0) throw errors.divideByZero();
    return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
  }
  const a = toDecimal(l);
  const b = toDecimal(r);
  if (!a || !b) throw errors.implicitConversion(l.type.name, r.type.name);
  if ((op === '/' || op === '%') && b.unscaled === 0n) throw errors.divideByZero();
  const scale = type.name === 'numeric' || type.name === 'decimal' ? (type.scale ?? 0) : type.name === 'money' || type.name === 'smallmoney' ? 4 : 0;
  const s = Math.max(a.scale, b.scale);
  const x = rescale(a, s).unscaled;
  const y = rescale(b, s).unscaled;
  let result;
  switch (op) {
    case '+': result = { kind: 'decimal' as const, unscaled: x + y, scale: s }; break;
    case '-': result = { kind: 'decimal' as const, unscaled: x - y, scale: s }; break;
    case '*': result = { kind: 'decimal' as const, unscaled: a.unscaled * b.unscaled, scale: a.scale + b.scale }; break;
    case '%': result = { kind: 'decimal' as const, unscaled: x % y, scale: s }; break;
    default: {
      // Division: integers truncate; decimals keep `scale` digits (truncated, as SQL Server does).
      const shifted = x * 10n ** BigInt(scale);
      result = { kind: 'decimal' as const, unscaled: shifted / y, scale };
    }
  }
  const exact = rescale(result, scale);
  if (type.name === 'bigint' || type.name === 'int') return convert({ type: { name: 'numeric', precision: 38, scale: 0 }, value: exact }, type);
  if (type.name === 'money' || type.name === 'smallmoney') return exact;
  return exact;
}

export function evaluate(expr: Expr, scope: Scope, row: BoundRow, group?: BoundRow[]): TypedValue {
  switch (expr.kind) {
    case 'literal': return expr.value;
    case 'variable': {
      const p = scope.session.parameters.get(expr.name.toLowerCase());
      if (!p) throw errors.mustDeclare(`@${expr.name}`);
      return p;
    }
    case 'column': {
      const ref = resolveColumn(scope, expr.qualifier, expr.name);
      return { type: columnOf(scope, ref).type, value: valueOf(scope, row, ref) };
    }
    case 'unary': {
      if (expr.op === 'NOT') {
        const t = truth(expr.operand, scope, row, group);
        return { type: BIT, value: t === null ? null : !t };
      }
      const v = evaluate(expr.operand, scope, row, group);
      if (expr.op === '+' || v.value === null) return v;
      if (expr.op === '~') return { type: v.type, value: typeof v.value === 'bigint' ? ~v.value : ~Number(v.value) };
      const d = toDecimal(v);
      if (typeof v.value === 'number') return { type: v.type, value: -v.value };
      if (typeof v.value === 'bigint') return { type: v.type, value: -v.value };
      if (d) return { type: v.type, value: { kind: 'decimal', unscaled: -d.unscaled, scale: d.scale } };
      throw errors.implicitConversion(v.type.name, 'numeric');
    }
    case 'binary': {
      if (expr.op === 'AND') {
        const a = truth(expr.left, scope, row, group);
        if (a === false) return { type: BIT, value: false };
        const b = truth(expr.right, scope, row, group);
        return { type: BIT, value: b === false ? false : a === null || b === null ? null : true };
      }
      if (expr.op === 'OR') {
        const a = truth(expr.left, scope, row, group);
        if (a === true) return { type: BIT, value: true };
        const b = truth(expr.right, scope, row, group);
        return { type: BIT, value: b === true ? true : a === null || b === null ? null : false };
      }
      const l = evaluate(expr.left, scope, row, group);
      const r = evaluate(expr.right, scope, row, group);
      if (['=', '<>', '<', '>', '<=', '>='].includes(expr.op)) {
        const c = compare(l, r);
        if (c === null) return { type: BIT, value: null };
        const value = expr.op === '=' ? c === 0 : expr.op === '<>' ? c !== 0 : expr.op === '<' ? c < 0 : expr.op === '>' ? c > 0 : expr.op === '<=' ? c <= 0 : c >= 0;
        return { type: BIT, value };
      }
      const type = arithmeticType(expr.op, l.type, r.type);
      return { type, value: arithmetic(expr.op, l, r, type) };
    }
    case 'isNull': {
      const v = evaluate(expr.operand, scope, row, group).value;
      return { type: BIT, value: (v === null) !== expr.negated };
    }
    case 'in': {
      const v = evaluate(expr.operand, scope, row, group);
      let unknown = false;
      for (const item of expr.list) {
        const c = compare(v, evaluate(item, scope, row, group));
        if (c === 0) return { type: BIT, value: !expr.negated };
        if (c === null) unknown = true;
      }
      return { type: BIT, value: unknown ? null : expr.negated };
    }
    case 'between': {
      const v = evaluate(expr.operand, scope, row, group);
      const lo = compare(v, evaluate(expr.low, scope, row, group));
      const hi = compare(v, evaluate(expr.high, scope, row, group));
      if (lo === null || hi === null) return { type: BIT, value: null };
      return { type: BIT, value: (lo >= 0 && hi <= 0) !== expr.negated };
    }
    case 'like': {
      const v = evaluate(expr.operand, scope, row, group).value;
      const p = evaluate(expr.pattern, scope, row, group).value;
      if (v === null || p === null) return { type: BIT, value: null };
      return { type: BIT, value: likeToRegExp(String(p)).test(String(v).replace(/ +$/, '')) !== expr.negated };
    }
    case 'exists': {
      const result = scope.session.runSubquery(expr.query, scope, row);
      return { type: BIT, value: (result.rows.length > 0) !== expr.negated };
    }
    case 'subquery': {
      const result = scope.session.runSubquery(expr.query, scope, row);
      if (result.rows.length > 1) throw new SqlError(512, 'Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.', { abortsBatch: true });
      return { type: result.columns[0]!.type, value: result.rows[0]?.[0] ?? null };
    }
    case 'function':
      if (isAggregate(expr.name)) {
        if (!group) throw errors.syntax(expr.name, `${expr.name} outside a select list`);
        return evaluateAggregate(expr, scope, group);
      }
      return evaluateFunction(expr, scope, row, group);
    case 'cast': {
      const v = evaluate(expr.operand, scope, row, group);
      return { type: expr.type, value: convert(v, expr.type) };
    }
    case 'case': {
      const type = typeOf(expr, scope).type;
      const base = expr.operand ? evaluate(expr.operand, scope, row, group) : undefined;
      for (const w of expr.whens) {
        const hit = base ? compare(base, evaluate(w.when, scope, row, group)) === 0 : truth(w.when, scope, row, group) === true;
        if (hit) return { type, value: convert(evaluate(w.then, scope, row, group), type) };
      }
      return { type, value: expr.otherwise ? convert(evaluate(expr.otherwise, scope, row, group), type) : null };
    }
    case 'action': return { type: { name: 'nvarchar', length: 10 }, value: scope.action ?? null };
    case 'default': throw errors.syntax('DEFAULT', 'DEFAULT outside a VALUES list');
  }
}

/** For messages and keys: a value's text. */
export function valueText(v: TypedValue): string {
  const x = v.value;
  if (x !== null && typeof x === 'object' && !Buffer.isBuffer(x) && x.kind === 'decimal') return decimalToString(x);
  return formatValue(v);
}

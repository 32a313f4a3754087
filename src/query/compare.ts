import type { Value } from '../model';
import type { ComparePredicate, CompareOp, Quantifier } from './ast';
import { queryError } from './query-error';
import { betweenTest, binaryTest, inTest, TestOptions, unaryTest, UnaryTest } from './testers';
import { categoryOf, checkComparison, type Category } from './type-check';
import type { CompileContext, Matcher, Operand, ValueType } from './types';

type ScalarOperand = Exclude<Operand, { form: 'list' }>;

const FLIPPED: Partial<Record<CompareOp, CompareOp>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

/**
 * Compiles one comparison from its two compiled operands. A side that goes through a list is
 * quantified: ANY (the default, also SOME), ALL or NONE of its values must pass.
 */
export function compileComparison(ctx: CompileContext, p: ComparePredicate, left: Operand, right: Operand): Matcher {
  const fail = (offset: number, msg: string) => queryError(ctx.text, offset, msg);
  let op = p.op;
  if (left.form === 'list') throw fail(left.offset, 'a list {…} or array argument may only appear on the right of IN or BETWEEN');
  let L: ScalarOperand = left;
  let R: Operand = right;
  if (op === 'in' && R.form !== 'list') {
    // `x IN listProperty` is `ANY listProperty == x`.
    if (R.form !== 'multi') throw fail(R.offset, 'IN needs a list on its right: {…}, an array argument or a list property');
    if (L.form === 'multi') throw fail(L.offset, 'IN cannot compare a list with a list');
    op = '==';
    [L, R] = [R as ScalarOperand, L];
  }
  if (R.form === 'list' && op !== 'in' && op !== 'between') throw fail(R.offset, `a list {…} or array argument may only follow IN or BETWEEN, not '${p.op}'`);
  if (op === 'between' && (R.form !== 'list' || R.values.length !== 2)) throw fail(R.offset, 'BETWEEN needs a list of exactly two values: BETWEEN {low, high}');
  // Put a constant on the right when the operator is symmetric up to flipping.
  if (L.form === 'const' && R.form !== 'const' && R.form !== 'list' && FLIPPED[op]) {
    [L, R] = [R, L];
    op = FLIPPED[op]!;
  }
  if (L.form === 'multi' && R.form === 'multi') throw fail(R.offset, `comparing two lists ('${L.text}' and '${R.text}') is not supported; use SUBQUERY or ANY on one side`);
  const many = L.form === 'multi' || R.form === 'multi';
  if (p.quantifier && !many) {
    throw fail(p.offset, `${p.quantifier.toUpperCase()} needs a key path through a list (a list, linkingObjects or @links property)`);
  }

  const rightTypes: ValueType[] = R.form === 'list' ? R.types : [R.type];
  let category: Category = categoryOf(L.type);
  for (const t of rightTypes) {
    const err = checkComparison(op, L.type, t, p.caseInsensitive, p.diacriticInsensitive);
    if (err) throw fail(p.opOffset, `${err} in '${ctx.text.slice(p.offset, endOfPredicate(ctx, R)).trim()}'`);
    if (category === 'any' || category === 'null') category = categoryOf(t);
  }
  const options: TestOptions = { op, caseInsensitive: p.caseInsensitive, diacriticInsensitive: p.diacriticInsensitive, category };
  const quantifier: Quantifier = p.quantifier ?? 'any';

  // A constant or list on the right: a unary test prepared once.
  if (R.form === 'list' || R.form === 'const') {
    const leftKind = L.type.kind;
    const test: UnaryTest =
      R.form === 'list' ? (op === 'between' ? betweenTest(R.values[0]!, R.values[1]!) : inTest(options, R.values, leftKind)) : unaryTest(options, R.value, leftKind);
    if (L.form === 'const') {
      const result = test(L.value);
      return () => result;
    }
    if (L.form === 'single') {
      const read = L.read;
      return (r, s, v) => test(read(r, s, v));
    }
    return quantified(quantifier, L.readAll, test);
  }
  const test = binaryTest(options);
  if (L.form === 'const') {
    const a = L.value;
    if (R.form === 'single') return (r, s, v) => test(a, R.read(r, s, v));
    return quantified(quantifier, R.readAll, (b) => test(a, b));
  }
  if (L.form === 'single' && R.form === 'single') {
    const [ra, rb] = [L.read, R.read];
    return (r, s, v) => test(ra(r, s, v), rb(r, s, v));
  }
  if (L.form === 'multi' && R.form === 'single') {
    const [all, rb] = [L.readAll, R.read];
    return (r, s, v) => {
      const b = rb(r, s, v);
      return quantified(quantifier, all, (a) => test(a, b))(r, s, v);
    };
  }
  const [ra, all] = [(L as Operand & { form: 'single' }).read, (R as Operand & { form: 'multi' }).readAll];
  return (r, s, v) => {
    const a = ra(r, s, v);
    return quantified(quantifier, all, (b) => test(a, b))(r, s, v);
  };
}

function quantified(q: Quantifier, readAll: (r: Parameters<Matcher>[0], s: Parameters<Matcher>[1], v: Parameters<Matcher>[2]) => Value[], test: UnaryTest): Matcher {
  switch (q) {
    case 'any':
      return (r, s, v) => {
        const values = readAll(r, s, v);
        for (let i = 0; i < values.length; i++) if (test(values[i]!)) return true;
        return false;
      };
    case 'all':
      return (r, s, v) => {
        const values = readAll(r, s, v);
        for (let i = 0; i < values.length; i++) if (!test(values[i]!)) return false;
        return true;
      };
    case 'none':
      return (r, s, v) => {
        const values = readAll(r, s, v);
        for (let i = 0; i < values.length; i++) if (test(values[i]!)) return false;
        return true;
      };
  }
}

function endOfPredicate(ctx: CompileContext, R: Operand): number {
  // Good enough for a message: up to the end of the right operand's first token.
  const rest = ctx.text.slice(R.offset);
  const m = /^('[^']*'|"[^"]*"|\{[^}]*\}|[^\s)]+)/.exec(rest);
  return R.offset + (m ? m[0].length : 0);
}

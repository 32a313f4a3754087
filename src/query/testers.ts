import { keyString, ObjectKey, Value } from '../model';
import type { CompareOp } from './ast';
import type { Category } from './type-check';
import { bytesAsString, equalValues, folder, likeRegExp, orderValues } from './values';
import { TributaryError } from '../errors';

export type BinaryTest = (a: Value, b: Value) => boolean;
export type UnaryTest = (a: Value) => boolean;

export interface TestOptions {
  op: CompareOp;
  caseInsensitive: boolean;
  diacriticInsensitive: boolean;
  /** The category both sides share (the non-null, non-mixed one when there is one). */
  category: Category;
}

function linkEqual(a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  return a === b || keyString(a as ObjectKey) === keyString(b as ObjectKey);
}

/** `a op b` for two runtime values, `a` from the left of the operator. */
export function binaryTest(o: TestOptions): BinaryTest {
  const fold = folder(o.caseInsensitive, o.diacriticInsensitive);
  const folding = o.caseInsensitive || o.diacriticInsensitive;
  const eq: BinaryTest =
    o.category === 'link' ? linkEqual : folding ? (a, b) => (typeof a === 'string' && typeof b === 'string' ? fold(a) === fold(b) : equalValues(a, b)) : equalValues;
  switch (o.op) {
    case '==':
    case 'in':
      return eq;
    case '!=':
      return (a, b) => !eq(a, b);
    case '<':
      return (a, b) => (orderValues(a, b) ?? 0) < 0;
    case '<=':
      return (a, b) => (orderValues(a, b) ?? 1) <= 0;
    case '>':
      return (a, b) => (orderValues(a, b) ?? 0) > 0;
    case '>=':
      return (a, b) => (orderValues(a, b) ?? -1) >= 0;
    case 'beginswith':
      return stringTest(fold, (s, p) => s.startsWith(p));
    case 'endswith':
      return stringTest(fold, (s, p) => s.endsWith(p));
    case 'contains':
      return stringTest(fold, (s, p) => s.includes(p));
    case 'like':
      return stringTest(fold, (s, p) => likeRegExp(p).test(s));
    case 'between':
      throw new TributaryError('INTERNAL_ERROR', 'BETWEEN is compiled as a unary test');
  }
}

/** String operators on strings (after folding) or on binary data (byte-wise); false when either is null or the kinds differ. */
function stringTest(fold: (s: string) => string, test: (subject: string, pattern: string) => boolean): BinaryTest {
  return (a, b) => {
    if (typeof a === 'string' && typeof b === 'string') return test(fold(a), fold(b));
    if (a instanceof Uint8Array && b instanceof Uint8Array) return test(bytesAsString(a), bytesAsString(b));
    return false;
  };
}

/**
 * `a op c` for a constant `c`, with the constant prepared once (folded string, compiled LIKE
 * pattern, a Set for IN) and direct JavaScript comparisons when the left side is known to hold
 * plain numbers or strings.
 */
export function unaryTest(o: TestOptions, c: Value, leftKind: string): UnaryTest {
  const plainNumber = (leftKind === 'int' || leftKind === 'float' || leftKind === 'double') && typeof c === 'number' && !Number.isNaN(c);
  const plainString = leftKind === 'string' && typeof c === 'string';
  const folding = o.caseInsensitive || o.diacriticInsensitive;
  if (plainNumber) {
    switch (o.op) {
      case '==':
        return (a) => a === c;
      case '!=':
        return (a) => a !== c;
      case '<':
        return (a) => a !== null && (a as number) < c;
      case '<=':
        return (a) => a !== null && (a as number) <= c;
      case '>':
        return (a) => a !== null && (a as number) > c;
      case '>=':
        return (a) => a !== null && (a as number) >= c;
      default:
        break;
    }
  }
  if (plainString) {
    const fold = folder(o.caseInsensitive, o.diacriticInsensitive);
    const p = fold(c);
    const str = (t: (s: string) => boolean): UnaryTest => (folding ? (a) => typeof a === 'string' && t(fold(a)) : (a) => typeof a === 'string' && t(a));
    switch (o.op) {
      case '==':
        return str((s) => s === p);
      case '!=':
        return (a) => !(typeof a === 'string' && (folding ? fold(a) : a) === p);
      case 'beginswith':
        return str((s) => s.startsWith(p));
      case 'endswith':
        return str((s) => s.endsWith(p));
      case 'contains':
        return str((s) => s.includes(p));
      case 'like': {
        const re = likeRegExp(p);
        return str((s) => re.test(s));
      }
      default:
        break;
    }
  }
  if (o.op === 'like' && typeof c === 'string') {
    const fold = folder(o.caseInsensitive, o.diacriticInsensitive);
    const re = likeRegExp(fold(c as string));
    return (a) => typeof a === 'string' && re.test(fold(a));
  }
  const t = binaryTest(o);
  return (a) => t(a, c);
}

/** `a IN {values}`. */
export function inTest(o: TestOptions, values: Value[], leftKind: string): UnaryTest {
  const folding = o.caseInsensitive || o.diacriticInsensitive;
  if (!folding && (leftKind === 'int' || leftKind === 'float' || leftKind === 'double') && values.every((v) => typeof v === 'number' && !Number.isNaN(v))) {
    const set = new Set<Value>(values);
    return (a) => set.has(a);
  }
  if (!folding && leftKind === 'string' && values.every((v) => typeof v === 'string')) {
    const set = new Set<Value>(values);
    return (a) => set.has(a);
  }
  const eq = binaryTest({ ...o, op: '==' });
  return (a) => {
    for (const v of values) if (eq(a, v)) return true;
    return false;
  };
}

/** `a BETWEEN {lo, hi}`: lo <= a <= hi. */
export function betweenTest(lo: Value, hi: Value): UnaryTest {
  return (a) => (orderValues(a, lo) ?? -1) >= 0 && (orderValues(a, hi) ?? 1) <= 0;
}

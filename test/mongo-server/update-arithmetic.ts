/**
 * $inc and $mul keep MongoDB's result types: int32 op int32 stays int32 unless it overflows (then
 * int64), anything with an int64 is int64, anything with a double is a double, anything with a
 * decimal is a decimal (computed through a double here — a documented shortcut).
 */
import { Decimal128, Double, Int32, Long } from 'mongodb';
import { toNumber, typeName } from './bson-values';

type Kind = 'int' | 'long' | 'double' | 'decimal';

function kindOf(value: unknown): Kind {
  const t = typeName(value);
  if (t === 'int' || t === 'long' || t === 'double' || t === 'decimal') return t;
  return 'double';
}

function widest(a: Kind, b: Kind): Kind {
  const rank: Record<Kind, number> = { int: 0, long: 1, double: 2, decimal: 3 };
  return rank[a] >= rank[b] ? a : b;
}

function asLong(value: unknown): Long {
  return value instanceof Long ? value : Long.fromNumber(toNumber(value));
}

function make(kind: Kind, exactLong: Long | undefined, approx: number): unknown {
  switch (kind) {
    case 'int':
      if (Number.isInteger(approx) && approx >= -(2 ** 31) && approx < 2 ** 31) return new Int32(approx);
      return Long.fromNumber(approx);
    case 'long':
      return exactLong ?? Long.fromNumber(approx);
    case 'double':
      return new Double(approx);
    case 'decimal':
      return Decimal128.fromString(String(approx));
  }
}

export function addNumbers(a: unknown, b: unknown): unknown {
  const kind = widest(kindOf(a), kindOf(b));
  const exact = kind === 'long' ? asLong(a).add(asLong(b)) : undefined;
  return make(kind, exact, toNumber(a) + toNumber(b));
}

export function multiplyNumbers(a: unknown, b: unknown): unknown {
  const kind = widest(kindOf(a), kindOf(b));
  const exact = kind === 'long' ? asLong(a).multiply(asLong(b)) : undefined;
  return make(kind, exact, toNumber(a) * toNumber(b));
}

/** Zero of the operand's type: what `$mul` writes into a missing field. */
export function zeroLike(value: unknown): unknown {
  return make(kindOf(value), kindOf(value) === 'long' ? Long.ZERO : undefined, 0);
}

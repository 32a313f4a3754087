/**
 * BSON values as the server holds them: documents are decoded with `promoteValues: false`, so an
 * int32 stays an Int32, a double a Double and an int64 a Long. That keeps every value's BSON type
 * through a round trip (a double 1.0 must not come back as int32 1), at the price of the helpers
 * here, which every query and update operator uses to read numbers and classify values.
 */
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';

/** MongoDB's canonical type order (used by sort and by comparisons across types). */
export const enum TypeOrder {
  MinKey = 1,
  Null = 2,
  Number = 3,
  String = 4,
  Object = 5,
  Array = 6,
  Binary = 7,
  ObjectId = 8,
  Boolean = 9,
  Date = 10,
  Timestamp = 11,
  RegExp = 12,
  Other = 13,
  MaxKey = 100,
}

function bsonTypeTag(value: object): string | undefined {
  return (value as { _bsontype?: string })._bsontype;
}

export function isNumeric(value: unknown): boolean {
  if (typeof value === 'number') return true;
  if (value === null || typeof value !== 'object') return false;
  const tag = bsonTypeTag(value);
  return tag === 'Int32' || tag === 'Double' || tag === 'Long' || tag === 'Decimal128';
}

/** A plain embedded document (not an array, not a BSON wrapper, not a Date). */
export function isPlainDocument(value: unknown): value is Document {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value) || value instanceof Date || value instanceof RegExp || value instanceof Uint8Array) return false;
  return bsonTypeTag(value) === undefined;
}

export function typeOrder(value: unknown): TypeOrder {
  if (value === undefined || value === null) return TypeOrder.Null;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return TypeOrder.Number;
    case 'string':
      return TypeOrder.String;
    case 'boolean':
      return TypeOrder.Boolean;
    case 'object':
      break;
    default:
      return TypeOrder.Other;
  }
  if (Array.isArray(value)) return TypeOrder.Array;
  if (value instanceof Date) return TypeOrder.Date;
  if (value instanceof RegExp) return TypeOrder.RegExp;
  switch (bsonTypeTag(value as object)) {
    case undefined:
      return TypeOrder.Object;
    case 'Int32':
    case 'Double':
    case 'Long':
    case 'Decimal128':
      return TypeOrder.Number;
    case 'BSONSymbol':
      return TypeOrder.String;
    case 'Binary':
      return TypeOrder.Binary;
    case 'ObjectId':
      return TypeOrder.ObjectId;
    case 'Timestamp':
      return TypeOrder.Timestamp;
    case 'BSONRegExp':
      return TypeOrder.RegExp;
    case 'MinKey':
      return TypeOrder.MinKey;
    case 'MaxKey':
      return TypeOrder.MaxKey;
    default:
      return TypeOrder.Other;
  }
}

/** The numeric value of a number-typed BSON value (Long beyond 2^53 loses precision; see compareNumbers). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Int32 || value instanceof Double) return value.value;
  if (value instanceof Long) return value.toNumber();
  if (value instanceof Decimal128) return Number.parseFloat(value.toString());
  return Number.NaN;
}

/** Compares two numbers of any BSON numeric type; NaN sorts below every other number, as in MongoDB. */
export function compareNumbers(a: unknown, b: unknown): number {
  if (a instanceof Long && b instanceof Long) return a.compare(b);
  const x = toNumber(a);
  const y = toNumber(b);
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
  if (Number.isNaN(y)) return 1;
  if (x === y && (a instanceof Long || b instanceof Long)) {
    // Both round to the same double: compare exactly when one side is a large int64.
    const big = (v: unknown): bigint | undefined =>
      v instanceof Long ? v.toBigInt() : Number.isInteger(toNumber(v)) ? BigInt(toNumber(v)) : undefined;
    const p = big(a);
    const q = big(b);
    if (p !== undefined && q !== undefined) return p < q ? -1 : p > q ? 1 : 0;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : String((value as { value: string }).value ?? value);
}

function regexParts(value: unknown): [string, string] {
  if (value instanceof RegExp) return [value.source, value.flags];
  const r = value as BSONRegExp;
  return [r.pattern, r.options];
}

/**
 * MongoDB's total order over BSON values (sort order, and what $gt/$lt compare within one type):
 * first the canonical type, then the value. Strings compare by UTF-16 code units, which differs
 * from MongoDB's byte order only between astral characters and U+E000–U+FFFF.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ta = typeOrder(a);
  const tb = typeOrder(b);
  if (ta !== tb) return ta - tb;
  switch (ta) {
    case TypeOrder.Null:
    case TypeOrder.MinKey:
    case TypeOrder.MaxKey:
      return 0;
    case TypeOrder.Number:
      return compareNumbers(a, b);
    case TypeOrder.String:
      return compareStrings(stringOf(a), stringOf(b));
    case TypeOrder.Object:
      return compareDocuments(a as Document, b as Document);
    case TypeOrder.Array: {
      const x = a as unknown[];
      const y = b as unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    case TypeOrder.Binary: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position - y.position;
      if (x.sub_type !== y.sub_type) return x.sub_type - y.sub_type;
      return compareBytes(x.buffer.subarray(0, x.position), y.buffer.subarray(0, y.position));
    }
    case TypeOrder.ObjectId:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case TypeOrder.Boolean:
      return Number(a) - Number(b);
    case TypeOrder.Date:
      return (a as Date).getTime() - (b as Date).getTime();
    case TypeOrder.Timestamp: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return x.t !== y.t ? (x.t < y.t ? -1 : 1) : x.i < y.i ? -1 : x.i > y.i ? 1 : 0;
    }
    case TypeOrder.RegExp: {
      const [p, f] = regexParts(a);
      const [q, g] = regexParts(b);
      return compareStrings(p, q) || compareStrings(f, g);
    }
    default:
      return 0;
  }
}

function compareDocuments(a: Document, b: Document): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const va = a[ka[i]!];
    const vb = b[kb[i]!];
    const t = typeOrder(va) - typeOrder(vb);
    if (t !== 0) return t;
    const k = compareStrings(ka[i]!, kb[i]!);
    if (k !== 0) return k;
    const v = compareValues(va, vb);
    if (v !== 0) return v;
  }
  return ka.length - kb.length;
}

/** Query equality: numbers compare by value across types; everything else by type and value. */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

/**
 * Exact equality, type included (Int32 1 ≠ Double 1): what decides whether an update changed a
 * document at all (a no-op update writes no oplog entry and produces no change event).
 */
export function identical(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!identical(a[i], b[i])) return false;
    return true;
  }
  const ta = bsonTypeTag(a);
  if (ta !== bsonTypeTag(b)) return false;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (ta === undefined) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i] || !identical((a as Document)[ka[i]!], (b as Document)[kb[i]!])) return false;
    }
    return true;
  }
  if (ta === 'Double') return Object.is((a as Double).value, (b as Double).value) || (a as Double).value === (b as Double).value;
  return compareValues(a, b) === 0 && typeOrder(a) === typeOrder(b);
}

/** `{ $minKey: 1 }`-style markers that callers sometimes need to build. */
export const MIN_KEY = new MinKey();
export const MAX_KEY = new MaxKey();

/** The BSON type name of a value as MongoDB spells it in `$type` and error messages. */
export function typeName(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 'int' : 'double';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  switch (bsonTypeTag(value as object)) {
    case undefined:
      return 'object';
    case 'Int32':
      return 'int';
    case 'Double':
      return 'double';
    case 'Long':
      return 'long';
    case 'Decimal128':
      return 'decimal';
    case 'Binary':
      return 'binData';
    case 'ObjectId':
      return 'objectId';
    case 'Timestamp':
      return 'timestamp';
    case 'BSONRegExp':
      return 'regex';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    case 'Code':
      return 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    case 'DBRef':
      return 'object';
    default:
      return 'unknown';
  }
}

/**
 * Property values as they travel in changesets and live in replicas.
 *
 * JavaScript primitives carry bool, int, float, double and string; `Date` carries date;
 * `Uint8Array` carries data. The three small classes below carry the types JavaScript has no
 * primitive for. Links are represented by the target's {@link ObjectKey} (the target type is
 * known from the schema).
 */

const HEX24 = /^[0-9a-f]{24}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A 12-byte MongoDB-style object id, held as 24 lowercase hex characters. */
export class ObjectId {
  readonly hex: string;
  constructor(hex: string) {
    const h = String(hex).toLowerCase();
    if (!HEX24.test(h)) throw new TypeError(`invalid ObjectId '${hex}': expected 24 hex characters`);
    this.hex = h;
  }
  toString(): string {
    return this.hex;
  }
  toJSON(): string {
    return this.hex;
  }
  equals(other: unknown): boolean {
    return other instanceof ObjectId && other.hex === this.hex;
  }
}

/** A 16-byte UUID, held as 32 lowercase hex characters; printed in the dashed form. */
export class UUID {
  readonly hex: string;
  constructor(text: string) {
    const h = String(text).toLowerCase().replace(/-/g, '');
    if (!HEX32.test(h)) throw new TypeError(`invalid UUID '${text}'`);
    this.hex = h;
  }
  toString(): string {
    const h = this.hex;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  toJSON(): string {
    return this.toString();
  }
  equals(other: unknown): boolean {
    return other instanceof UUID && other.hex === this.hex;
  }
}

/** A decimal128 value, held as its canonical decimal string (no arithmetic is done on it here). */
export class Decimal128 {
  readonly value: string;
  constructor(value: string) {
    const v = String(value).trim();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v) && !/^[+-]?(Infinity|NaN)$/.test(v)) {
      throw new TypeError(`invalid Decimal128 '${value}'`);
    }
    this.value = v;
  }
  toString(): string {
    return this.value;
  }
  toJSON(): string {
    return this.value;
  }
  equals(other: unknown): boolean {
    return other instanceof Decimal128 && other.value === this.value;
  }
}

/** Any property value. */
export type Value = null | boolean | number | string | Date | Uint8Array | ObjectId | UUID | Decimal128;

/** The stable identity of an object: its primary key, or a key minted by the creating client. */
export type ObjectKey = number | string | ObjectId | UUID;

/** A canonical string for an object key, unique across key kinds (used as a map/index key). */
export function keyString(key: ObjectKey): string {
  if (typeof key === 'number') return `i${key}`;
  if (typeof key === 'string') return `s${key}`;
  if (key instanceof ObjectId) return `o${key.hex}`;
  if (key instanceof UUID) return `u${key.hex}`;
  throw new TypeError(`not an object key: ${String(key)}`);
}

/** Inverse of {@link keyString}. */
export function parseKeyString(text: string): ObjectKey {
  const body = text.slice(1);
  switch (text[0]) {
    case 'i':
      return Number(body);
    case 's':
      return body;
    case 'o':
      return new ObjectId(body);
    case 'u':
      return new UUID(body);
    default:
      throw new TypeError(`not an object key string: ${text}`);
  }
}

export function isObjectKey(v: unknown): v is ObjectKey {
  return (typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'string' || v instanceof ObjectId || v instanceof UUID;
}

/** Structural equality of two values (dates by time, bytes by content, NaN equals NaN). */
export function valuesEqual(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (a instanceof ObjectId || a instanceof UUID || a instanceof Decimal128) return a.equals(b);
  return false;
}

/** Copies a value so that later mutation of the input (a Date, a byte array) cannot reach the copy. */
export function cloneValue<V extends Value>(v: V): V {
  if (v instanceof Date) return new Date(v.getTime()) as V;
  if (v instanceof Uint8Array) return new Uint8Array(v) as V;
  return v;
}

const HEX = '0123456789abcdef';

/**
 * Mints a key for an object whose type has no primary key: `_` followed by 24 random hex digits
 * (96 bits). Random keys, unlike (file ident, sequence) pairs, can be minted offline before the
 * server has assigned a file ident, and never need to change.
 */
export function mintObjectKey(randomBytes: (n: number) => Uint8Array): string {
  const bytes = randomBytes(12);
  let s = '_';
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

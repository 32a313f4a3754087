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

/** The last key minted in this process: its millisecond and random part (monotonic keys). */
let mintedMs = -1;
let mintedRandom = 0;
const RANDOM_SPAN = 2 ** 48;

/**
 * Mints a key for an object whose type has no primary key: `_` followed by 24 hex digits, 12 of
 * the current time in milliseconds and 12 (48 bits) random. Random keys, unlike (file ident,
 * sequence) pairs, can be minted offline before the server has assigned a file ident, and never
 * need to change.
 *
 * The time comes first so that keys minted one after another sort one after another (as a ULID
 * or an ObjectId does): inserting them into a replica's key index appends to its last page
 * instead of touching a random page per object (with 75,000 objects present, a transaction of 125
 * new ones wrote 638 KiB of WAL with fully random keys, 64 KiB with these). Within one
 * millisecond (or if the clock steps back) the random part of the previous key is incremented, so
 * keys of one process never repeat or go backwards; two processes collide only by drawing the same
 * 48 random bits in the same millisecond.
 */
export function mintObjectKey(randomBytes: (n: number) => Uint8Array, now: number = Date.now()): string {
  let ms = Math.floor(now);
  let random: number;
  if (ms <= mintedMs && mintedRandom + 1 < RANDOM_SPAN) {
    ms = mintedMs;
    random = mintedRandom + 1;
  } else {
    if (ms <= mintedMs) ms = mintedMs + 1; // the random part ran out within one millisecond
    const b = randomBytes(6);
    random = ((b[0]! * 256 + b[1]!) * 65536 + (b[2]! * 256 + b[3]!)) * 65536 + (b[4]! * 256 + b[5]!);
  }
  mintedMs = ms;
  mintedRandom = random;
  return '_' + hex12(ms) + hex12(random);
}

/** Two hex digits for each byte value. */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** The low 48 bits of `n` (a non-negative safe integer) as 12 hex digits. */
function hex12(n: number): string {
  const hi = Math.floor(n / 0x1000000) % 0x1000000;
  const lo = n % 0x1000000;
  return HEX_BYTE[hi >>> 16]! + HEX_BYTE[(hi >>> 8) & 255]! + HEX_BYTE[hi & 255]! + HEX_BYTE[lo >>> 16]! + HEX_BYTE[(lo >>> 8) & 255]! + HEX_BYTE[lo & 255]!;
}

import { Decimal128, ObjectId, UUID, Value } from '../model/values';

/**
 * Value semantics shared by queries, sorting and aggregates.
 *
 * - `null` equals only `null`; ordering comparisons involving `null` are false.
 * - int, float, double and decimal128 compare numerically with each other (decimal128 through a
 *   JavaScript number, so digits beyond double precision are not distinguished).
 * - Strings order by Unicode code point (the byte order of UTF-8, as Realm does), not by locale.
 * - Values of different kinds (a string and a number in a mixed property) are never equal and never
 *   ordered against each other in a query; for sorting they order by kind (see {@link kindRank}).
 */

export function isNumeric(v: unknown): v is number | Decimal128 {
  return typeof v === 'number' || v instanceof Decimal128;
}

export function toNumber(v: number | Decimal128): number {
  return typeof v === 'number' ? v : Number(v.value);
}

/** Compares strings by code point (UTF-16 order differs for characters above U+FFFF). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000;
  if (c >= 0xe000) return c - 0x800;
  return c;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Kind order used when sorting mixed values, as in Realm: null, bool, numbers, string, data, date, objectId, uuid. */
export function kindRank(v: Value): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number' || v instanceof Decimal128) return 2;
  if (typeof v === 'string') return 3;
  if (v instanceof Uint8Array) return 4;
  if (v instanceof Date) return 5;
  if (v instanceof ObjectId) return 6;
  if (v instanceof UUID) return 7;
  return 8;
}

/**
 * Orders two values of the same kind; `undefined` when they are not comparable (either is null,
 * or their kinds differ, or a NaN is involved).
 */
export function orderValues(a: Value, b: Value): number | undefined {
  if (a === null || b === null) return undefined;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : undefined;
  if (isNumeric(a) && isNumeric(b)) return orderValues(toNumber(a), toNumber(b));
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareBytes(a, b);
  if ((a instanceof ObjectId && b instanceof ObjectId) || (a instanceof UUID && b instanceof UUID)) return a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0;
  return undefined;
}

/** Query equality: null equals null, NaN equals NaN, numbers across numeric types. */
export function equalValues(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  const c = orderValues(a, b);
  if (c !== undefined) return c === 0;
  return isNumeric(a) && isNumeric(b) && Number.isNaN(toNumber(a)) && Number.isNaN(toNumber(b));
}

/** A total order for SORT: by kind first (null first), then by value; NaN sorts before other numbers. */
export function sortCompare(a: Value, b: Value): number {
  const ka = kindRank(a);
  const kb = kindRank(b);
  if (ka !== kb) return ka - kb;
  if (ka === 0) return 0;
  const c = orderValues(a, b);
  if (c !== undefined) return c;
  const na = Number.isNaN(toNumber(a as number));
  const nb = Number.isNaN(toNumber(b as number));
  return na === nb ? 0 : na ? -1 : 1;
}

const COMBINING = /[\u0300-\u036f]/g;

/** Prepares a string for [c] / [d] comparisons: lower case and/or diacritics removed (NFD, combining marks dropped). */
export function folder(caseInsensitive: boolean, diacriticInsensitive: boolean): (s: string) => string {
  if (caseInsensitive && diacriticInsensitive) return (s) => s.normalize('NFD').replace(COMBINING, '').toLowerCase();
  if (caseInsensitive) return (s) => s.toLowerCase();
  if (diacriticInsensitive) return (s) => s.normalize('NFD').replace(COMBINING, '').normalize('NFC');
  return (s) => s;
}

/**
 * LIKE as a regular expression: `*` is any run of characters, `?` exactly one character (code
 * point); `\*` and `\?` match the characters themselves. The whole value must match.
 */
export function likeRegExp(pattern: string): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '?' || pattern[i + 1] === '\\')) {
      src += `\\${pattern[++i]}`;
    } else if (c === '*') src += '[^]*';
    else if (c === '?') src += '.';
    else src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'su');
}

/** Bytes as a string of code units 0..255, so string operators can run on data. */
export function bytesAsString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** UTF-8 byte length of a string: what Realm reports as a string's @size. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

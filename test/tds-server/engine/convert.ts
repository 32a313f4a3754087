/**
 * Conversions between SQL types (implicit on assignment, explicit in CAST/CONVERT) and
 * comparisons under the default collation (SQL_Latin1_General_CP1_CI_AS: case-insensitive,
 * trailing spaces ignored). Failures raise the SqlError SQL Server raises for the same case.
 */
import { SqlError, errors } from './errors';
import {
  SqlDecimal, SqlTemporal, SqlType, SqlValue, TypeName, TypedValue, isBinaryType, isCharType, isDecimal, isExactNumericType,
  isIntegerType, isTemporal, isTemporalType, typeToSql,
} from './sql-types';
import { convertTemporal, formatTemporal, parseTemporal, temporalInstant } from './temporal';

const INT_RANGES: Partial<Record<TypeName, [bigint, bigint]>> = {
  tinyint: [0n, 255n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

export function decimalFromBigInt(unscaled: bigint, scale: number): SqlDecimal {
  return { kind: 'decimal', unscaled, scale };
}

export function rescale(d: SqlDecimal, scale: number): SqlDecimal {
  if (scale === d.scale) return d;
  if (scale > d.scale) return { kind: 'decimal', unscaled: d.unscaled * 10n ** BigInt(scale - d.scale), scale };
  // Rounds half away from zero, as SQL Server does.
  const divisor = 10n ** BigInt(d.scale - scale);
  const negative = d.unscaled < 0n;
  const abs = negative ? -d.unscaled : d.unscaled;
  let q = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) q += 1n;
  return { kind: 'decimal', unscaled: negative ? -q : q, scale };
}

export function decimalToString(d: SqlDecimal): string {
  const negative = d.unscaled < 0n;
  const digits = (negative ? -d.unscaled : d.unscaled).toString().padStart(d.scale + 1, '0');
  const text = d.scale === 0 ? digits : `${digits.slice(0, digits.length - d.scale)}.${digits.slice(digits.length - d.scale)}`;
  return negative ? `-${text}` : text;
}

export function parseDecimal(text: string): SqlDecimal | null {
  const m = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let scale = (m[3] ?? '').length;
  const exponent = Number(m[4] ?? 0);
  if (exponent > 0) {
    const shift = Math.min(exponent, scale);
    scale -= shift;
    digits += '0'.repeat(exponent - shift);
  } else if (exponent < 0) {
    scale -= exponent;
  }
  const unscaled = BigInt(digits === '' ? '0' : digits);
  return { kind: 'decimal', unscaled: m[1] === '-' ? -unscaled : unscaled, scale };
}

function decimalFromNumber(n: number): SqlDecimal {
  // Through the shortest text that round-trips, so 0.1 becomes 0.1 and not 0.1000000000000000055….
  const d = parseDecimal(String(n));
  if (!d) throw errors.arithmeticOverflow('numeric');
  return d;
}

function digitsOf(unscaled: bigint): number {
  return (unscaled < 0n ? -unscaled : unscaled).toString().length;
}

/** The value as a decimal, or null when the value is not numeric. */
export function toDecimal(v: TypedValue): SqlDecimal | null {
  const x = v.value;
  if (isDecimal(x)) return x;
  if (typeof x === 'bigint') return decimalFromBigInt(x, 0);
  if (typeof x === 'number') return Number.isInteger(x) && Math.abs(x) < 2 ** 53 ? decimalFromBigInt(BigInt(x), 0) : decimalFromNumber(x);
  if (typeof x === 'boolean') return decimalFromBigInt(x ? 1n : 0n, 0);
  return null;
}

export function toNumber(v: SqlValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isDecimal(v)) return Number(decimalToString(v));
  if (typeof v === 'string') return Number(v);
  return NaN;
}

function sourceTypeName(t: SqlType): string {
  return t.name === 'rowversion' ? 'timestamp' : t.name;
}

/** Text as SQL Server would show the value in a message. */
export function formatValue(v: TypedValue): string {
  const x = v.value;
  if (x === null) return 'NULL';
  if (typeof x === 'boolean') return x ? '1' : '0';
  if (isDecimal(x)) return decimalToString(x);
  if (isTemporal(x)) return formatTemporal(x, v.type.name, v.type.scale ?? 7);
  if (Buffer.isBuffer(x)) return '0x' + x.toString('hex').toUpperCase();
  return String(x);
}

function toTypeText(to: SqlType): string {
  return to.name === 'decimal' || to.name === 'numeric' ? 'numeric' : to.name;
}

function convertToInteger(v: TypedValue, to: SqlType): bigint {
  const x = v.value;
  let n: bigint;
  if (typeof x === 'string') {
    const t = x.trim();
    if (!/^[+-]?\d+$/.test(t)) throw errors.conversion(sourceTypeName(v.type), x, to.name);
    n = BigInt(t);
  } else if (typeof x === 'boolean') {
    n = x ? 1n : 0n;
  } else if (typeof x === 'bigint') {
    n = x;
  } else if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw errors.arithmeticOverflow(to.name);
    n = BigInt(Math.trunc(x));
  } else if (isDecimal(x)) {
    // Decimal to integer truncates toward zero.
    n = x.unscaled / 10n ** BigInt(x.scale);
  } else if (Buffer.isBuffer(x)) {
    n = x.length === 0 ? 0n : BigInt('0x' + x.toString('hex'));
  } else {
    throw errors.implicitConversion(sourceTypeName(v.type), to.name);
  }
  const [lo, hi] = INT_RANGES[to.name]!;
  if (n < lo || n > hi) {
    if (to.name === 'tinyint' || to.name === 'smallint') throw errors.integerOverflow(to.name, n.toString());
    throw errors.arithmeticOverflow(to.name);
  }
  return n;
}

function convertToDecimal(v: TypedValue, to: SqlType): SqlDecimal {
  const x = v.value;
  let d: SqlDecimal | null;
  if (typeof x === 'string') {
    d = parseDecimal(x);
    if (!d) throw errors.numericConversion(sourceTypeName(v.type), toTypeText(to));
  } else {
    d = toDecimal(v);
    if (!d) throw errors.implicitConversion(sourceTypeName(v.type), to.name);
  }
  const scale = to.name === 'money' || to.name === 'smallmoney' ? 4 : (to.scale ?? 0);
  const precision = to.name === 'money' ? 19 : to.name === 'smallmoney' ? 10 : (to.precision ?? 18);
  const r = rescale(d, scale);
  if (digitsOf(r.unscaled) > precision) throw errors.arithmeticOverflow(to.name === 'decimal' || to.name === 'numeric' ? 'numeric' : to.name);
  if (to.name === 'smallmoney' && (r.unscaled > 2147483647n || r.unscaled < -2147483648n)) throw errors.arithmeticOverflow('smallmoney');
  if (to.name === 'money' && (r.unscaled > 2n ** 63n - 1n || r.unscaled < -(2n ** 63n))) throw errors.arithmeticOverflow('money');
  return r;
}

function encodeText(text: string, unicode: boolean): Buffer {
  return unicode ? Buffer.from(text, 'utf16le') : Buffer.from(text, 'latin1');
}

/**
 * Converts a value to `to`. `assignment` names the target column: then a string or binary too long
 * for it raises 2628 (as an INSERT or UPDATE does) instead of being cut (as CAST does).
 */
export function convert(v: TypedValue, to: SqlType, assignment?: { table: string; column: string }): SqlValue {
  const x = v.value;
  if (x === null) return null;
  const name = to.name;
  if (name === 'bit') {
    if (typeof x === 'boolean') return x;
    if (typeof x === 'string') {
      const t = x.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      if (!/^[+-]?\d+(\.\d*)?$/.test(t)) throw errors.conversion(sourceTypeName(v.type), x, 'bit');
      return Number(t) !== 0;
    }
    return toNumber(x) !== 0;
  }
  if (isIntegerType(name)) {
    const n = convertToInteger(v, to);
    return name === 'bigint' ? n : Number(n);
  }
  if (isExactNumericType(name)) return convertToDecimal(v, to);
  if (name === 'float' || name === 'real') {
    if (typeof x === 'string') {
      const n = Number(x.trim());
      if (x.trim() === '' || Number.isNaN(n)) throw errors.numericConversion(sourceTypeName(v.type), name);
      return name === 'real' ? Math.fround(n) : n;
    }
    if (isTemporal(x) || Buffer.isBuffer(x)) throw errors.implicitConversion(sourceTypeName(v.type), name);
    const n = toNumber(x);
    return name === 'real' ? Math.fround(n) : n;
  }
  if (isCharType(name)) {
    let text: string;
    if (typeof x === 'string') text = x;
    else if (Buffer.isBuffer(x)) text = isCharType(v.type.name) ? x.toString() : x.toString(name === 'nvarchar' || name === 'nchar' || name === 'ntext' ? 'utf16le' : 'latin1');
    else text = formatValue(v);
    const limit = to.length === 'max' || to.length === undefined || name === 'text' || name === 'ntext' || name === 'xml' ? Infinity : to.length;
    if (text.length > limit) {
      // Trailing spaces may be cut silently; anything else is truncation.
      if (assignment && text.slice(limit).trim() !== '') throw errors.truncation(assignment.table, assignment.column, text.slice(0, limit));
      text = text.slice(0, limit);
    }
    if ((name === 'char' || name === 'nchar') && Number.isFinite(limit)) text = text.padEnd(limit, ' ');
    return text;
  }
  if (isBinaryType(name)) {
    let bytes: Buffer;
    if (Buffer.isBuffer(x)) bytes = x;
    else if (typeof x === 'string') bytes = encodeText(x, v.type.name === 'nvarchar' || v.type.name === 'nchar' || v.type.name === 'ntext');
    else if (typeof x === 'bigint' || typeof x === 'number') {
      const size = v.type.name === 'bigint' ? 8 : v.type.name === 'smallint' ? 2 : v.type.name === 'tinyint' ? 1 : 4;
      bytes = Buffer.alloc(size);
      let n = BigInt(x);
      for (let i = size - 1; i >= 0; i--) { bytes[i] = Number(n & 0xffn); n >>= 8n; }
    } else throw errors.implicitConversion(sourceTypeName(v.type), name);
    const limit = name === 'rowversion' ? 8 : to.length === 'max' || to.length === undefined || name === 'image' ? Infinity : to.length;
    if (bytes.length > limit) {
      if (assignment) throw errors.truncation(assignment.table, assignment.column, bytes.subarray(0, limit).toString('latin1'));
      bytes = bytes.subarray(0, limit);
    }
    if ((name === 'binary' || name === 'rowversion') && Number.isFinite(limit) && bytes.length < limit) bytes = Buffer.concat([bytes, Buffer.alloc(limit - bytes.length)]);
    return Buffer.from(bytes);
  }
  if (isTemporalType(name)) {
    let t: SqlTemporal;
    if (isTemporal(x)) t = x;
    else if (typeof x === 'string') t = parseTemporal(x);
    else throw errors.implicitConversion(sourceTypeName(v.type), name);
    return convertTemporal(t, name, to.scale ?? 7);
  }
  if (name === 'uniqueidentifier') {
    if (typeof x === 'string') {
      const t = x.trim().replace(/^\{(.*)\}$/, '$1');
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t)) throw errors.guidConversion();
      return t.toUpperCase();
    }
    throw errors.implicitConversion(sourceTypeName(v.type), name);
  }
  throw new SqlError(529, `Explicit conversion from data type ${sourceTypeName(v.type)} to ${typeToSql(to)} is not allowed.`, { abortsBatch: true });
}

function numericKind(t: TypeName): 'exact' | 'approx' | null {
  if (isIntegerType(t) || isExactNumericType(t) || t === 'bit') return 'exact';
  if (t === 'float' || t === 'real') return 'approx';
  return null;
}

/** The collation key of a string: case-insensitive, trailing spaces ignored. */
export function collationKey(s: string): string {
  return s.replace(/ +$/, '').toUpperCase();
}

function compareDecimals(a: SqlDecimal, b: SqlDecimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale).unscaled;
  const y = rescale(b, scale).unscaled;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Compares two non-null values with SQL Server's precedence: numbers numerically, strings by the
 * case-insensitive collation, a string against a number or date by converting the string.
 * Returns null when either side is NULL (unknown).
 */
export function compare(a: TypedValue, b: TypedValue): number | null {
  if (a.value === null || b.value === null) return null;
  const ka = numericKind(a.type.name);
  const kb = numericKind(b.type.name);
  if (ka && kb) {
    if (ka === 'approx' || kb === 'approx') {
      const x = toNumber(a.value);
      const y = toNumber(b.value);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return compareDecimals(toDecimal(a)!, toDecimal(b)!);
  }
  if (ka && typeof b.value === 'string') return compare(a, { type: a.type, value: convert(b, a.type.name === 'bit' ? { name: 'decimal', precision: 38, scale: 10 } : a.type) });
  if (kb && typeof a.value === 'string') return -compare(b, a)!;
  if (isTemporal(a.value) || isTemporal(b.value)) {
    const x = isTemporal(a.value) ? a.value : (convert(a, b.type) as SqlTemporal);
    const y = isTemporal(b.value) ? b.value : (convert(b, a.type) as SqlTemporal);
    const ix = temporalInstant(x);
    const iy = temporalInstant(y);
    return ix < iy ? -1 : ix > iy ? 1 : 0;
  }
  if (Buffer.isBuffer(a.value) && Buffer.isBuffer(b.value)) return Buffer.compare(a.value, b.value);
  if (a.type.name === 'uniqueidentifier' || b.type.name === 'uniqueidentifier') {
    const x = String(a.value).toUpperCase();
    const y = String(b.value).toUpperCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a.value === 'string' && typeof b.value === 'string') {
    const x = collationKey(a.value);
    const y = collationKey(b.value);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = formatValue(a);
  const y = formatValue(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A string that is equal for two values exactly when they compare equal (for key indexes). */
export function keyPart(v: TypedValue): string {
  const x = v.value;
  if (x === null) return '\u0000NULL';
  if (typeof x === 'string') return v.type.name === 'uniqueidentifier' ? x.toUpperCase() : 's:' + collationKey(x);
  const kind = numericKind(v.type.name);
  if (kind === 'exact') {
    const d = toDecimal(v)!;
    // Normalised: no trailing fractional zeros, so 1 and 1.00 are one key.
    let u = d.unscaled;
    let s = d.scale;
    while (s > 0 && u % 10n === 0n) { u /= 10n; s -= 1; }
    return `n:${u}e-${s}`;
  }
  if (kind === 'approx') return `n:${toNumber(x)}`;
  if (isTemporal(x)) return `t:${temporalInstant(x)}`;
  if (Buffer.isBuffer(x)) return 'b:' + x.toString('hex');
  return 'x:' + formatValue(v);
}

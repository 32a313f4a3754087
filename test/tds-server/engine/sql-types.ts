/**
 * The value model shared by the scripted engine and the TDS codecs. Values keep SQL Server's
 * precision where JavaScript numbers would lose it: decimals and money as a scaled bigint, bigint
 * as bigint, temporal values as days and 100-nanosecond ticks (so datetime2(7) and
 * datetimeoffset offsets survive), binaries as Buffers, uniqueidentifier as upper-case text.
 */

export type TypeName =
  | 'bit' | 'tinyint' | 'smallint' | 'int' | 'bigint'
  | 'decimal' | 'numeric' | 'money' | 'smallmoney' | 'float' | 'real'
  | 'char' | 'varchar' | 'nchar' | 'nvarchar' | 'text' | 'ntext' | 'xml'
  | 'binary' | 'varbinary' | 'image' | 'rowversion'
  | 'date' | 'time' | 'datetime' | 'datetime2' | 'smalldatetime' | 'datetimeoffset'
  | 'uniqueidentifier';

export interface SqlType {
  name: TypeName;
  /** Characters (char family) or bytes (binary family); 'max' for the (max) forms. */
  length?: number | 'max';
  precision?: number;
  /** decimal/numeric digits after the point; fractional-second digits of time/datetime2/datetimeoffset. */
  scale?: number;
}

export interface SqlDecimal {
  kind: 'decimal';
  /** The value times 10^scale. */
  unscaled: bigint;
  scale: number;
}

export interface SqlTemporal {
  kind: 'temporal';
  /** Days since 0001-01-01 (proleptic Gregorian); null for a time of day. */
  days: number | null;
  /** 100-nanosecond ticks since midnight (UTC for datetimeoffset); null for a date. */
  ticks: number | null;
  /** Minutes east of UTC, datetimeoffset only. */
  offsetMinutes: number | null;
}

export type SqlValue = null | boolean | number | bigint | string | Buffer | SqlDecimal | SqlTemporal;

export interface TypedValue {
  type: SqlType;
  value: SqlValue;
}

export const TICKS_PER_DAY = 864_000_000_000;

export function isDecimal(v: SqlValue): v is SqlDecimal {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && (v as SqlDecimal).kind === 'decimal';
}

export function isTemporal(v: SqlValue): v is SqlTemporal {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && (v as SqlTemporal).kind === 'temporal';
}

export function isCharType(name: TypeName): boolean {
  return name === 'char' || name === 'varchar' || name === 'nchar' || name === 'nvarchar' || name === 'text' || name === 'ntext' || name === 'xml';
}

export function isUnicodeType(name: TypeName): boolean {
  return name === 'nchar' || name === 'nvarchar' || name === 'ntext' || name === 'xml';
}

export function isBinaryType(name: TypeName): boolean {
  return name === 'binary' || name === 'varbinary' || name === 'image' || name === 'rowversion';
}

export function isIntegerType(name: TypeName): boolean {
  return name === 'tinyint' || name === 'smallint' || name === 'int' || name === 'bigint';
}

export function isExactNumericType(name: TypeName): boolean {
  return name === 'decimal' || name === 'numeric' || name === 'money' || name === 'smallmoney';
}

export function isTemporalType(name: TypeName): boolean {
  return name === 'date' || name === 'time' || name === 'datetime' || name === 'datetime2' || name === 'smalldatetime' || name === 'datetimeoffset';
}

/** The type as T-SQL spells it, e.g. `nvarchar(max)`, `decimal(38,10)`, `datetime2(7)`. */
export function typeToSql(t: SqlType): string {
  switch (t.name) {
    case 'decimal':
    case 'numeric':
      return `${t.name}(${t.precision ?? 18},${t.scale ?? 0})`;
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'binary':
    case 'varbinary':
      return `${t.name}(${t.length ?? 1})`;
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return `${t.name}(${t.scale ?? 7})`;
    default:
      return t.name;
  }
}

/** Bytes of one value on disk as sys.columns.max_length reports it (-1 for max). */
export function maxLength(t: SqlType): number {
  switch (t.name) {
    case 'bit': case 'tinyint': return 1;
    case 'smallint': return 2;
    case 'int': case 'real': case 'smallmoney': case 'smalldatetime': return 4;
    case 'bigint': case 'float': case 'money': case 'datetime': case 'rowversion': return 8;
    case 'decimal': case 'numeric': return decimalStorageBytes(t.precision ?? 18);
    case 'uniqueidentifier': return 16;
    case 'date': return 3;
    case 'time': return timeBytes(t.scale ?? 7);
    case 'datetime2': return timeBytes(t.scale ?? 7) + 3;
    case 'datetimeoffset': return timeBytes(t.scale ?? 7) + 5;
    case 'char': case 'varchar': case 'binary': case 'varbinary':
      return t.length === 'max' ? -1 : (t.length ?? 1);
    case 'nchar': case 'nvarchar':
      return t.length === 'max' ? -1 : 2 * (t.length ?? 1);
    case 'text': case 'ntext': case 'image': return 16;
    case 'xml': return -1;
  }
}

export function decimalStorageBytes(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

export function timeBytes(scale: number): number {
  return scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
}

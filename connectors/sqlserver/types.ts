import sql, { type ISqlType, type ISqlTypeFactory } from 'mssql';
import { Decimal128, UUID, type PrimitiveType, type Value } from '../../src/model';

/**
 * The SQL Server → realm type table (docs/connectors/sqlserver.md, "Types"). Values arrive as
 * mssql/tedious returns them (bigint as text, binaries as Buffers, date/time types as UTC Dates),
 * except decimals, money and time, which the connector reads as text (`CAST(c AS nvarchar(…))`) so
 * nothing is lost. Writes send typed parameters; decimals and time go as text that SQL Server
 * converts exactly.
 */
export interface SqlColumnType {
  /** The SQL Server base type name (`TYPE_NAME(system_type_id)`). */
  sqlType: string;
  realm: PrimitiveType;
  /** The SELECT expression of the column (default the column itself). */
  select?: (quoted: string) => string;
  fromDb(v: unknown): Value;
  /** The parameter type a realm value is written with. */
  param: ISqlType | ISqlTypeFactory;
  toDb(v: unknown): unknown;
  /** Never written (rowversion): the database assigns it. */
  readOnly?: boolean;
}

export class ConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversionError';
  }
}

const asText = (width: number) => (q: string) => `CAST(${q} AS nvarchar(${width}))`;

function int(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new ConversionError(`integer ${String(v)} is outside the range a realm int holds exactly (±2^53)`);
  return n;
}

function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  throw new ConversionError(`expected binary data, got ${typeof v}`);
}

function date(v: unknown): Date {
  if (v instanceof Date) return new Date(v.getTime());
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new ConversionError(`not a date/time: '${String(v)}'`);
  return d;
}

function toBuffer(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

const same = (v: unknown) => (v === undefined ? null : v);
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
const dateParam = (v: unknown) => (v === null || v === undefined ? null : date(v));

const integer = (sqlType: string, param: ISqlTypeFactory): SqlColumnType => ({ sqlType, realm: 'int', fromDb: int, param, toDb: same });
const decimal = (sqlType: string): SqlColumnType => ({ sqlType, realm: 'decimal128', select: asText(60), fromDb: (v) => new Decimal128(String(v)), param: sql.NVarChar(60), toDb: text });
const string = (sqlType: string): SqlColumnType => ({ sqlType, realm: 'string', fromDb: (v) => String(v), param: sql.NVarChar(sql.MAX), toDb: text });
const binary = (sqlType: string): SqlColumnType => ({ sqlType, realm: 'data', fromDb: bytes, param: sql.VarBinary(sql.MAX), toDb: toBuffer });
const temporal = (sqlType: string, param: ISqlType | ISqlTypeFactory): SqlColumnType => ({ sqlType, realm: 'date', fromDb: date, param, toDb: dateParam });

/** Every supported SQL Server type, by `TYPE_NAME(system_type_id)`. */
export const SQL_TYPES: Record<string, SqlColumnType> = {
  bit: { sqlType: 'bit', realm: 'bool', fromDb: (v) => v === true || v === 1, param: sql.Bit, toDb: same },
  tinyint: integer('tinyint', sql.TinyInt),
  smallint: integer('smallint', sql.SmallInt),
  int: integer('int', sql.Int),
  bigint: integer('bigint', sql.BigInt),
  decimal: decimal('decimal'),
  numeric: decimal('numeric'),
  money: decimal('money'),
  smallmoney: decimal('smallmoney'),
  float: { sqlType: 'float', realm: 'double', fromDb: (v) => Number(v), param: sql.Float, toDb: same },
  real: { sqlType: 'real', realm: 'float', fromDb: (v) => Number(v), param: sql.Real, toDb: same },
  nvarchar: string('nvarchar'),
  varchar: string('varchar'),
  char: string('char'),
  nchar: string('nchar'),
  text: string('text'),
  ntext: string('ntext'),
  xml: string('xml'),
  sysname: string('sysname'),
  datetime: temporal('datetime', sql.DateTime),
  datetime2: temporal('datetime2', sql.DateTime2(7)),
  smalldatetime: temporal('smalldatetime', sql.SmallDateTime),
  datetimeoffset: temporal('datetimeoffset', sql.DateTime2(7)),
  date: temporal('date', sql.Date),
  time: { sqlType: 'time', realm: 'string', select: asText(20), fromDb: (v) => String(v), param: sql.NVarChar(20), toDb: text },
  uniqueidentifier: { sqlType: 'uniqueidentifier', realm: 'uuid', fromDb: (v) => new UUID(String(v)), param: sql.UniqueIdentifier, toDb: text },
  varbinary: binary('varbinary'),
  binary: binary('binary'),
  image: binary('image'),
  timestamp: { ...binary('rowversion'), readOnly: true },
  rowversion: { ...binary('rowversion'), readOnly: true },
};

/** The realm type of a SQL Server type, or null when the connector does not map it (sql_variant, hierarchyid, geography, geometry, CLR types). */
export function columnType(sqlType: string): SqlColumnType | null {
  return SQL_TYPES[sqlType.toLowerCase()] ?? null;
}

/** The SQL Server type a new realm property becomes (`schemaChanges.addColumns`). */
export function sqlTypeForRealm(realm: string): string | null {
  switch (realm) {
    case 'int':
      return 'bigint';
    case 'bool':
      return 'bit';
    case 'string':
      return 'nvarchar(max)';
    case 'double':
      return 'float';
    case 'float':
      return 'real';
    case 'date':
      return 'datetime2(3)';
    case 'decimal128':
      return 'decimal(38, 10)';
    case 'uuid':
      return 'uniqueidentifier';
    case 'data':
      return 'varbinary(max)';
    default:
      return null;
  }
}

/** A value for `toDb`: realm values as plain JS (UUID, Decimal128 as text). */
export function realmToParam(t: SqlColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof UUID || v instanceof Decimal128) return t.toDb(String(v));
  return t.toDb(v);
}

/**
 * TYPE_INFO (MS-TDS 2.2.5.4/2.2.5.6): how a column or parameter's type travels. The server writes
 * the nullable ("N") forms SQL Server itself sends for every column (INTN, BITN, DECIMALN, …) and
 * reads whatever a client sends for a parameter, fixed-length forms included.
 */
import { SqlType, decimalStorageBytes } from '../engine/sql-types';
import { ByteReader, ByteWriter, ProtocolError } from './bytes';

export const WireType = {
  NULL: 0x1f, INT1: 0x30, BIT: 0x32, INT2: 0x34, INT4: 0x38, DATETIM4: 0x3a, FLT4: 0x3b, MONEY: 0x3c, DATETIME: 0x3d,
  FLT8: 0x3e, MONEY4: 0x7a, INT8: 0x7f, DECIMAL: 0x37, NUMERIC: 0x3f,
  GUID: 0x24, INTN: 0x26, BITN: 0x68, DECIMALN: 0x6a, NUMERICN: 0x6c, FLTN: 0x6d, MONEYN: 0x6e, DATETIMN: 0x6f,
  DATEN: 0x28, TIMEN: 0x29, DATETIME2N: 0x2a, DATETIMEOFFSETN: 0x2b,
  BIGVARBIN: 0xa5, BIGVARCHR: 0xa7, BIGBINARY: 0xad, BIGCHAR: 0xaf, NVARCHAR: 0xe7, NCHAR: 0xef,
  XML: 0xf1, UDT: 0xf0, TEXT: 0x23, IMAGE: 0x22, NTEXT: 0x63, SSVARIANT: 0x62, TVP: 0xf3,
} as const;

/** SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, case-insensitive, accent-sensitive, sort id 52. */
export const DEFAULT_COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);
export const DEFAULT_COLLATION_NAME = 'SQL_Latin1_General_CP1_CI_AS';

/** The user type id SQL Server puts in COLMETADATA for a timestamp/rowversion column. */
export const USER_TYPE_TIMESTAMP = 0x50;

const MAX_LENGTH_MARKER = 0xffff;

/** A type as read from the wire, with what its value encoding needs. */
export interface WireTypeInfo {
  wireType: number;
  type: SqlType;
  /** The length the value is prefixed with: fixed size (0), 1, 2 or 4 bytes, or PLP chunks. */
  lengthPrefix: 0 | 1 | 2 | 4 | 'plp';
  /** The size of fixed-length values. */
  fixedSize?: number;
}

export function readTypeInfo(r: ByteReader): WireTypeInfo {
  const id = r.u8();
  const fixed = (type: SqlType, size: number): WireTypeInfo => ({ wireType: id, type, lengthPrefix: 0, fixedSize: size });
  switch (id) {
    case WireType.INT1: return fixed({ name: 'tinyint' }, 1);
    case WireType.INT2: return fixed({ name: 'smallint' }, 2);
    case WireType.INT4: return fixed({ name: 'int' }, 4);
    case WireType.INT8: return fixed({ name: 'bigint' }, 8);
    case WireType.BIT: return fixed({ name: 'bit' }, 1);
    case WireType.FLT4: return fixed({ name: 'real' }, 4);
    case WireType.FLT8: return fixed({ name: 'float' }, 8);
    case WireType.MONEY4: return fixed({ name: 'smallmoney' }, 4);
    case WireType.MONEY: return fixed({ name: 'money' }, 8);
    case WireType.DATETIM4: return fixed({ name: 'smalldatetime' }, 4);
    case WireType.DATETIME: return fixed({ name: 'datetime' }, 8);
    case WireType.INTN: {
      const n = r.u8();
      const name = n === 1 ? 'tinyint' : n === 2 ? 'smallint' : n === 4 ? 'int' : 'bigint';
      return { wireType: id, type: { name }, lengthPrefix: 1 };
    }
    case WireType.BITN: r.u8(); return { wireType: id, type: { name: 'bit' }, lengthPrefix: 1 };
    case WireType.FLTN: return { wireType: id, type: { name: r.u8() === 4 ? 'real' : 'float' }, lengthPrefix: 1 };
    case WireType.MONEYN: return { wireType: id, type: { name: r.u8() === 4 ? 'smallmoney' : 'money' }, lengthPrefix: 1 };
    case WireType.DATETIMN: return { wireType: id, type: { name: r.u8() === 4 ? 'smalldatetime' : 'datetime' }, lengthPrefix: 1 };
    case WireType.GUID: r.u8(); return { wireType: id, type: { name: 'uniqueidentifier' }, lengthPrefix: 1 };
    case WireType.DECIMALN: case WireType.NUMERICN: case WireType.DECIMAL: case WireType.NUMERIC: {
      r.u8(); // storage length, implied by the precision
      const precision = r.u8();
      const scale = r.u8();
      const name = id === WireType.NUMERICN || id === WireType.NUMERIC ? 'numeric' : 'decimal';
      return { wireType: id, type: { name, precision, scale }, lengthPrefix: 1 };
    }
    case WireType.DATEN: return { wireType: id, type: { name: 'date' }, lengthPrefix: 1 };
    case WireType.TIMEN: return { wireType: id, type: { name: 'time', scale: r.u8() }, lengthPrefix: 1 };
    case WireType.DATETIME2N: return { wireType: id, type: { name: 'datetime2', scale: r.u8() }, lengthPrefix: 1 };
    case WireType.DATETIMEOFFSETN: return { wireType: id, type: { name: 'datetimeoffset', scale: r.u8() }, lengthPrefix: 1 };
    case WireType.BIGVARCHR: case WireType.BIGCHAR: case WireType.NVARCHAR: case WireType.NCHAR: {
      const n = r.u16();
      r.bytes(5); // collation: the server decodes varchar with its own code page
      const unicode = id === WireType.NVARCHAR || id === WireType.NCHAR;
      const varying = id === WireType.BIGVARCHR || id === WireType.NVARCHAR;
      const name = unicode ? (varying ? 'nvarchar' : 'nchar') : varying ? 'varchar' : 'char';
      if (n === MAX_LENGTH_MARKER) return { wireType: id, type: { name, length: 'max' }, lengthPrefix: 'plp' };
      return { wireType: id, type: { name, length: unicode ? n / 2 : n }, lengthPrefix: 2 };
    }
    case WireType.BIGVARBIN: case WireType.BIGBINARY: {
      const n = r.u16();
      const name = id === WireType.BIGVARBIN ? 'varbinary' : 'binary';
      if (n === MAX_LENGTH_MARKER) return { wireType: id, type: { name, length: 'max' }, lengthPrefix: 'plp' };
      return { wireType: id, type: { name, length: n }, lengthPrefix: 2 };
    }
    case WireType.TEXT: case WireType.NTEXT: {
      r.i32();
      r.bytes(5);
      return { wireType: id, type: { name: id === WireType.TEXT ? 'text' : 'ntext' }, lengthPrefix: 4 };
    }
    case WireType.IMAGE: r.i32(); return { wireType: id, type: { name: 'image' }, lengthPrefix: 4 };
    case WireType.XML: {
      if (r.u8() === 1) { r.bVarchar(); r.bVarchar(); r.usVarchar(); }
      return { wireType: id, type: { name: 'xml' }, lengthPrefix: 'plp' };
    }
    default:
      throw new ProtocolError(`The scripted TDS test server cannot read parameters of wire type 0x${id.toString(16)} (sql_variant, TVP and UDT are not supported)`);
  }
}

/** Writes the TYPE_INFO SQL Server sends for a column or return value of type `t`. */
export function writeTypeInfo(w: ByteWriter, t: SqlType): void {
  switch (t.name) {
    case 'tinyint': w.u8(WireType.INTN).u8(1); return;
    case 'smallint': w.u8(WireType.INTN).u8(2); return;
    case 'int': w.u8(WireType.INTN).u8(4); return;
    case 'bigint': w.u8(WireType.INTN).u8(8); return;
    case 'bit': w.u8(WireType.BITN).u8(1); return;
    case 'real': w.u8(WireType.FLTN).u8(4); return;
    case 'float': w.u8(WireType.FLTN).u8(8); return;
    case 'smallmoney': w.u8(WireType.MONEYN).u8(4); return;
    case 'money': w.u8(WireType.MONEYN).u8(8); return;
    case 'smalldatetime': w.u8(WireType.DATETIMN).u8(4); return;
    case 'datetime': w.u8(WireType.DATETIMN).u8(8); return;
    case 'uniqueidentifier': w.u8(WireType.GUID).u8(16); return;
    case 'decimal': case 'numeric': {
      const precision = t.precision ?? 18;
      w.u8(t.name === 'decimal' ? WireType.DECIMALN : WireType.NUMERICN).u8(decimalStorageBytes(precision)).u8(precision).u8(t.scale ?? 0);
      return;
    }
    case 'date': w.u8(WireType.DATEN); return;
    case 'time': w.u8(WireType.TIMEN).u8(t.scale ?? 7); return;
    case 'datetime2': w.u8(WireType.DATETIME2N).u8(t.scale ?? 7); return;
    case 'datetimeoffset': w.u8(WireType.DATETIMEOFFSETN).u8(t.scale ?? 7); return;
    case 'char': case 'varchar': case 'nchar': case 'nvarchar': {
      const unicode = t.name === 'nchar' || t.name === 'nvarchar';
      const id = t.name === 'char' ? WireType.BIGCHAR : t.name === 'varchar' ? WireType.BIGVARCHR : t.name === 'nchar' ? WireType.NCHAR : WireType.NVARCHAR;
      const length = t.length === 'max' ? MAX_LENGTH_MARKER : (t.length ?? 1) * (unicode ? 2 : 1);
      w.u8(id).u16(length).bytes(DEFAULT_COLLATION);
      return;
    }
    case 'binary': case 'varbinary': {
      w.u8(t.name === 'binary' ? WireType.BIGBINARY : WireType.BIGVARBIN).u16(t.length === 'max' ? MAX_LENGTH_MARKER : (t.length ?? 1));
      return;
    }
    case 'rowversion': w.u8(WireType.BIGBINARY).u16(8); return;
    case 'text': w.u8(WireType.TEXT).i32(2147483647).bytes(DEFAULT_COLLATION); return;
    case 'ntext': w.u8(WireType.NTEXT).i32(1073741823).bytes(DEFAULT_COLLATION); return;
    case 'image': w.u8(WireType.IMAGE).i32(2147483647); return;
    case 'xml': w.u8(WireType.XML).u8(0); return;
  }
}

/** Whether COLMETADATA carries a table name after this type (the legacy LOB types do). */
export function hasTableName(t: SqlType): boolean {
  return t.name === 'text' || t.name === 'ntext' || t.name === 'image';
}

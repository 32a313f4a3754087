/**
 * Value encodings (MS-TDS 2.2.5.5): reading parameter values a client sends and writing column
 * values in ROW/NBCROW and RETURNVALUE tokens. Large types (varchar(max), nvarchar(max),
 * varbinary(max), xml) travel as PLP chunks; text/ntext/image rows carry a text pointer.
 */
import { SqlDecimal, SqlTemporal, SqlType, SqlValue, decimalStorageBytes, isDecimal, isTemporal, timeBytes } from '../engine/sql-types';
import { DAYS_TO_1900 } from '../engine/temporal';
import { ByteReader, ByteWriter, ProtocolError } from './bytes';
import { decodeCp1252, encodeCp1252 } from './cp1252';
import { WireTypeInfo } from './type-info';

const PLP_NULL = 0xffffffffffffffffn;
const PLP_UNKNOWN_LENGTH = 0xfffffffffffffffen;
/** The chunk size PLP values are written in (SQL Server's own packets carry up to 8 000 bytes). */
const PLP_CHUNK = 8000;
const TEXT_POINTER = Buffer.alloc(16, 0x11);
const TEXT_TIMESTAMP = Buffer.alloc(8, 0);

export function guidToBytes(text: string): Buffer {
  const hex = text.replace(/[{}-]/g, '');
  const b = Buffer.from(hex, 'hex');
  // The first three groups are little-endian on the wire.
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8, 16)]);
}

export function bytesToGuid(b: Buffer): string {
  const hex = Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8, 16)]).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function readMagnitude(r: ByteReader, bytes: number): bigint {
  let n = 0n;
  const b = r.bytes(bytes);
  for (let i = bytes - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function readTime(r: ByteReader, scale: number): number {
  const size = timeBytes(scale);
  const raw = size === 3 ? r.u24() : size === 4 ? r.u32() : r.u40();
  return raw * 10 ** (7 - scale);
}

function readFixed(r: ByteReader, t: SqlType, size: number): SqlValue {
  switch (t.name) {
    case 'tinyint': return r.u8();
    case 'smallint': return r.i16();
    case 'int': return r.i32();
    case 'bigint': return r.i64();
    case 'bit': return r.u8() !== 0;
    case 'real': return r.f32();
    case 'float': return r.f64();
    case 'smallmoney': return { kind: 'decimal', unscaled: BigInt(r.i32()), scale: 4 };
    case 'money': {
      const high = BigInt(r.i32());
      const low = BigInt(r.u32());
      return { kind: 'decimal', unscaled: (high << 32n) | low, scale: 4 };
    }
    case 'smalldatetime': {
      const days = r.u16();
      const minutes = r.u16();
      return { kind: 'temporal', days: DAYS_TO_1900 + days, ticks: minutes * 600_000_000, offsetMinutes: null };
    }
    case 'datetime': {
      const days = r.i32();
      const threeHundredths = r.u32();
      return { kind: 'temporal', days: DAYS_TO_1900 + days, ticks: Math.round((threeHundredths * 10_000_000) / 300), offsetMinutes: null };
    }
    case 'uniqueidentifier': return bytesToGuid(r.bytes(16));
    case 'decimal': case 'numeric': {
      const sign = r.u8();
      const magnitude = readMagnitude(r, size - 1);
      return { kind: 'decimal', unscaled: sign === 1 ? magnitude : -magnitude, scale: t.scale ?? 0 };
    }
    case 'date': return { kind: 'temporal', days: r.u24(), ticks: null, offsetMinutes: null };
    case 'time': return { kind: 'temporal', days: null, ticks: readTime(r, t.scale ?? 7), offsetMinutes: null };
    case 'datetime2': {
      const ticks = readTime(r, t.scale ?? 7);
      return { kind: 'temporal', days: r.u24(), ticks, offsetMinutes: null };
    }
    case 'datetimeoffset': {
      const ticks = readTime(r, t.scale ?? 7);
      const days = r.u24();
      return { kind: 'temporal', days, ticks, offsetMinutes: r.i16() };
    }
    default:
      throw new ProtocolError(`no fixed encoding for ${t.name}`);
  }
}

function readPlp(r: ByteReader): Buffer | null {
  const total = r.u64();
  if (total === PLP_NULL) return null;
  const parts: Buffer[] = [];
  for (;;) {
    const n = r.u32();
    if (n === 0) break;
    parts.push(r.bytes(n));
  }
  const data = Buffer.concat(parts);
  if (total !== PLP_UNKNOWN_LENGTH && BigInt(data.length) !== total) throw new ProtocolError(`PLP value declared ${total} bytes but carried ${data.length}`);
  return data;
}

function decodeBytes(t: SqlType, data: Buffer): SqlValue {
  switch (t.name) {
    case 'nchar': case 'nvarchar': case 'ntext': case 'xml': return data.toString('utf16le');
    case 'char': case 'varchar': case 'text': return decodeCp1252(data);
    default: return Buffer.from(data);
  }
}

/** Reads one parameter value described by `info`. */
export function readValue(r: ByteReader, info: WireTypeInfo): SqlValue {
  const t = info.type;
  switch (info.lengthPrefix) {
    case 0: return readFixed(r, t, info.fixedSize!);
    case 1: {
      const n = r.u8();
      if (n === 0) return null;
      const start = r.offset;
      let v: SqlValue;
      switch (t.name) {
        // The value's own length picks the width, as INTN/FLTN/MONEYN/DATETIMN allow.
        case 'tinyint': case 'smallint': case 'int': case 'bigint': {
          const x = readFixed(r, { name: n === 1 ? 'tinyint' : n === 2 ? 'smallint' : n === 4 ? 'int' : 'bigint' }, n);
          v = t.name === 'bigint' ? BigInt(x as number | bigint) : Number(x);
          break;
        }
        case 'real': case 'float': v = n === 4 ? r.f32() : r.f64(); break;
        case 'smallmoney': case 'money': v = readFixed(r, { name: n === 4 ? 'smallmoney' : 'money' }, n); break;
        case 'smalldatetime': case 'datetime': v = readFixed(r, { name: n === 4 ? 'smalldatetime' : 'datetime' }, n); break;
        default: v = readFixed(r, t, n);
      }
      if (r.offset - start !== n) throw new ProtocolError(`value of ${t.name} is ${n} bytes, read ${r.offset - start}`);
      return v;
    }
    case 2: {
      const n = r.u16();
      if (n === 0xffff) return null;
      return decodeBytes(t, r.bytes(n));
    }
    case 4: {
      const n = r.i32();
      if (n === -1) return null;
      return decodeBytes(t, r.bytes(n));
    }
    case 'plp': {
      const data = readPlp(r);
      return data === null ? null : decodeBytes(t, data);
    }
  }
}

function writeMagnitude(w: ByteWriter, n: bigint, bytes: number): void {
  const b = Buffer.alloc(bytes);
  let x = n;
  for (let i = 0; i < bytes; i++) { b[i] = Number(x & 0xffn); x >>= 8n; }
  w.bytes(b);
}

function writeTime(w: ByteWriter, ticks: number, scale: number): void {
  const units = Math.round(ticks / 10 ** (7 - scale));
  const size = timeBytes(scale);
  if (size === 3) w.u24(units);
  else if (size === 4) w.u32(units);
  else w.u40(units);
}

function encodeBytes(t: SqlType, v: SqlValue): Buffer {
  if (Buffer.isBuffer(v)) return v;
  const text = String(v);
  return t.name === 'nchar' || t.name === 'nvarchar' || t.name === 'ntext' || t.name === 'xml' ? Buffer.from(text, 'utf16le') : encodeCp1252(text);
}

function writePlp(w: ByteWriter, data: Buffer | null): void {
  if (data === null) { w.u64(PLP_NULL); return; }
  w.u64(BigInt(data.length));
  for (let offset = 0; offset < data.length; offset += PLP_CHUNK) {
    const chunk = data.subarray(offset, offset + PLP_CHUNK);
    w.u32(chunk.length).bytes(chunk);
  }
  w.u32(0);
}

/** Writes a value of column type `t` in the form SQL Server sends it in a ROW or RETURNVALUE. */
export function writeValue(w: ByteWriter, t: SqlType, v: SqlValue): void {
  switch (t.name) {
    case 'tinyint': case 'smallint': case 'int': case 'bigint': {
      if (v === null) { w.u8(0); return; }
      if (t.name === 'tinyint') w.u8(1).u8(Number(v));
      else if (t.name === 'smallint') w.u8(2).i16(Number(v));
      else if (t.name === 'int') w.u8(4).i32(Number(v));
      else w.u8(8).i64(BigInt(v as bigint | number));
      return;
    }
    case 'bit': if (v === null) w.u8(0); else w.u8(1).u8(v ? 1 : 0); return;
    case 'real': if (v === null) w.u8(0); else w.u8(4).f32(Number(v)); return;
    case 'float': if (v === null) w.u8(0); else w.u8(8).f64(Number(v)); return;
    case 'smallmoney': case 'money': {
      if (v === null) { w.u8(0); return; }
      const d = v as SqlDecimal;
      const units = d.scale === 4 ? d.unscaled : d.unscaled * 10n ** BigInt(4 - d.scale);
      if (t.name === 'smallmoney') { w.u8(4).i32(Number(units)); return; }
      const u = BigInt.asUintN(64, units);
      w.u8(8).i32(Number(BigInt.asIntN(32, u >> 32n))).u32(Number(u & 0xffffffffn));
      return;
    }
    case 'decimal': case 'numeric': {
      if (v === null) { w.u8(0); return; }
      const d = v as SqlDecimal;
      const size = decimalStorageBytes(t.precision ?? 18);
      w.u8(size).u8(d.unscaled < 0n ? 0 : 1);
      writeMagnitude(w, d.unscaled < 0n ? -d.unscaled : d.unscaled, size - 1);
      return;
    }
    case 'smalldatetime': case 'datetime': {
      if (v === null) { w.u8(0); return; }
      const x = v as SqlTemporal;
      const days = (x.days ?? DAYS_TO_1900) - DAYS_TO_1900;
      if (t.name === 'smalldatetime') w.u8(4).u16(days).u16(Math.round((x.ticks ?? 0) / 600_000_000));
      else w.u8(8).i32(days).u32(Math.round(((x.ticks ?? 0) * 300) / 10_000_000));
      return;
    }
    case 'uniqueidentifier': if (v === null) w.u8(0); else w.u8(16).bytes(guidToBytes(String(v))); return;
    case 'date': if (v === null) w.u8(0); else w.u8(3).u24((v as SqlTemporal).days ?? 0); return;
    case 'time': {
      if (v === null) { w.u8(0); return; }
      const scale = t.scale ?? 7;
      w.u8(timeBytes(scale));
      writeTime(w, (v as SqlTemporal).ticks ?? 0, scale);
      return;
    }
    case 'datetime2': case 'datetimeoffset': {
      if (v === null) { w.u8(0); return; }
      const x = v as SqlTemporal;
      const scale = t.scale ?? 7;
      w.u8(timeBytes(scale) + (t.name === 'datetime2' ? 3 : 5));
      writeTime(w, x.ticks ?? 0, scale);
      w.u24(x.days ?? 0);
      if (t.name === 'datetimeoffset') w.i16(x.offsetMinutes ?? 0);
      return;
    }
    case 'char': case 'varchar': case 'nchar': case 'nvarchar': case 'binary': case 'varbinary': case 'rowversion': {
      if (t.length === 'max') { writePlp(w, v === null ? null : encodeBytes(t, v)); return; }
      if (v === null) { w.u16(0xffff); return; }
      const data = encodeBytes(t, v);
      w.u16(data.length).bytes(data);
      return;
    }
    case 'xml': writePlp(w, v === null ? null : encodeBytes(t, v)); return;
    case 'text': case 'ntext': case 'image': {
      if (v === null) { w.u8(0); return; }
      const data = encodeBytes(t, v);
      w.u8(TEXT_POINTER.length).bytes(TEXT_POINTER).bytes(TEXT_TIMESTAMP).i32(data.length).bytes(data);
      return;
    }
  }
}

/** Sanity check used by tests: the value fits the representation its type expects. */
export function valueMatchesType(t: SqlType, v: SqlValue): boolean {
  if (v === null) return true;
  switch (t.name) {
    case 'decimal': case 'numeric': case 'money': case 'smallmoney': return isDecimal(v);
    case 'date': case 'time': case 'datetime': case 'datetime2': case 'smalldatetime': case 'datetimeoffset': return isTemporal(v);
    default: return true;
  }
}

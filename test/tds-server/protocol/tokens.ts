/**
 * Encoders for the tokens of a tabular result (MS-TDS 2.2.7): LOGINACK, ENVCHANGE, INFO/ERROR,
 * COLMETADATA, ROW/NBCROW, DONE/DONEPROC/DONEINPROC, RETURNSTATUS and RETURNVALUE. Each returns
 * the token's bytes; a response is their concatenation.
 */
import { SqlType, SqlValue } from '../engine/sql-types';
import { ByteWriter } from './bytes';
import { SERVER_VERSION } from './login';
import { USER_TYPE_TIMESTAMP, hasTableName, writeTypeInfo } from './type-info';
import { writeValue } from './values';

export const Token = {
  COLMETADATA: 0x81, ERROR: 0xaa, INFO: 0xab, LOGINACK: 0xad, RETURNVALUE: 0xac, RETURNSTATUS: 0x79,
  ROW: 0xd1, NBCROW: 0xd2, ENVCHANGE: 0xe3, DONE: 0xfd, DONEPROC: 0xfe, DONEINPROC: 0xff,
} as const;

export const DoneStatus = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, INXACT: 0x04, COUNT: 0x10, ATTN: 0x20, SRVERROR: 0x100 } as const;

/** The statement kinds DONE tokens name in CurCmd (SQL Server's own values). */
export const CurCmd = { NONE: 0x00, SELECT: 0xc1, INSERT: 0xc3, DELETE: 0xc4, UPDATE: 0xc5, MERGE: 0x117, DDL: 0xc6, BEGIN_TRAN: 0xd4, COMMIT: 0xd5, ROLLBACK: 0xd6, SET: 0xb9, EXECUTE: 0xe0 } as const;

const EnvChangeType = { DATABASE: 1, LANGUAGE: 2, PACKET_SIZE: 4, SQL_COLLATION: 7, BEGIN_TRAN: 8, COMMIT_TRAN: 9, ROLLBACK_TRAN: 10, RESET_CONNECTION: 18 } as const;

function withLength(token: number, body: Buffer): Buffer {
  return new ByteWriter().u8(token).u16(body.length).bytes(body).toBuffer();
}

export function loginAck(tdsVersion: number): Buffer {
  const body = new ByteWriter()
    .u8(1) // interface: SQL_TSQL
    .u32be(tdsVersion)
    .bVarchar('Microsoft SQL Server')
    .u8(SERVER_VERSION.major).u8(SERVER_VERSION.minor).u8(SERVER_VERSION.build >> 8).u8(SERVER_VERSION.build & 0xff)
    .toBuffer();
  return withLength(Token.LOGINACK, body);
}

function envChangeText(type: number, newValue: string, oldValue: string): Buffer {
  return withLength(Token.ENVCHANGE, new ByteWriter().u8(type).bVarchar(newValue).bVarchar(oldValue).toBuffer());
}

function envChangeBytes(type: number, newValue: Buffer, oldValue: Buffer): Buffer {
  return withLength(Token.ENVCHANGE, new ByteWriter().u8(type).bVarbyte(newValue).bVarbyte(oldValue).toBuffer());
}

export const envChange = {
  database: (newName: string, oldName: string) => envChangeText(EnvChangeType.DATABASE, newName, oldName),
  language: (newName: string) => envChangeText(EnvChangeType.LANGUAGE, newName, ''),
  packetSize: (size: number) => envChangeText(EnvChangeType.PACKET_SIZE, String(size), String(size)),
  collation: (collation: Buffer) => envChangeBytes(EnvChangeType.SQL_COLLATION, collation, Buffer.alloc(0)),
  /** The new transaction's 8-byte descriptor, which every later request must carry in ALL_HEADERS. */
  beginTransaction: (descriptor: Buffer) => envChangeBytes(EnvChangeType.BEGIN_TRAN, descriptor, Buffer.alloc(0)),
  commitTransaction: (descriptor: Buffer) => envChangeBytes(EnvChangeType.COMMIT_TRAN, Buffer.alloc(0), descriptor),
  rollbackTransaction: (descriptor: Buffer) => envChangeBytes(EnvChangeType.ROLLBACK_TRAN, Buffer.alloc(0), descriptor),
  resetConnection: () => envChangeBytes(EnvChangeType.RESET_CONNECTION, Buffer.alloc(0), Buffer.alloc(0)),
};

export interface ServerMessage {
  number: number;
  state: number;
  class: number;
  message: string;
  serverName?: string;
  procName?: string;
  lineNumber?: number;
}

function message(token: number, m: ServerMessage): Buffer {
  const body = new ByteWriter()
    .i32(m.number).u8(m.state).u8(m.class)
    .usVarchar(m.message)
    .bVarchar(m.serverName ?? 'tds-test-server')
    .bVarchar(m.procName ?? '')
    .i32(m.lineNumber ?? 1)
    .toBuffer();
  return withLength(token, body);
}

export const errorToken = (m: ServerMessage) => message(Token.ERROR, m);
export const infoToken = (m: ServerMessage) => message(Token.INFO, m);

export function done(kind: 'done' | 'doneProc' | 'doneInProc', status: number, curCmd: number, rowCount: number | bigint = 0): Buffer {
  const token = kind === 'done' ? Token.DONE : kind === 'doneProc' ? Token.DONEPROC : Token.DONEINPROC;
  return new ByteWriter().u8(token).u16(status).u16(curCmd).u64(BigInt(rowCount)).toBuffer();
}

export interface ColumnDescription {
  name: string;
  type: SqlType;
  nullable: boolean;
  identity?: boolean;
  computed?: boolean;
  /** Read-only columns (identity, computed, rowversion, expressions) report usUpdateable = 0. */
  readOnly?: boolean;
  /** Table name parts for text/ntext/image columns. */
  tableName?: string[];
}

const Flags = { NULLABLE: 0x0001, UPDATEABLE_UNKNOWN: 0x0008, IDENTITY: 0x0010, COMPUTED: 0x0020 } as const;

export function colMetadata(columns: ColumnDescription[]): Buffer {
  const w = new ByteWriter().u8(Token.COLMETADATA).u16(columns.length);
  for (const c of columns) {
    let flags = 0;
    if (c.nullable) flags |= Flags.NULLABLE;
    if (!c.readOnly) flags |= Flags.UPDATEABLE_UNKNOWN;
    if (c.identity) flags |= Flags.IDENTITY;
    if (c.computed) flags |= Flags.COMPUTED;
    w.u32(c.type.name === 'rowversion' ? USER_TYPE_TIMESTAMP : 0).u16(flags);
    writeTypeInfo(w, c.type);
    if (hasTableName(c.type)) {
      const parts = c.tableName ?? ['dbo', 'table'];
      w.u8(parts.length);
      for (const p of parts) w.usVarchar(p);
    }
    w.bVarchar(c.name);
  }
  return w.toBuffer();
}

/** A row: NBCROW (a null bitmap, then the non-null values) when any value is NULL, ROW otherwise. */
export function row(columns: ColumnDescription[], values: SqlValue[]): Buffer {
  const w = new ByteWriter();
  if (values.some((v) => v === null)) {
    const bitmap = Buffer.alloc(Math.ceil(columns.length / 8));
    values.forEach((v, i) => { if (v === null) bitmap[i >> 3]! |= 1 << (i & 7); });
    w.u8(Token.NBCROW).bytes(bitmap);
    columns.forEach((c, i) => { if (values[i] !== null) writeValue(w, c.type, values[i]!); });
  } else {
    w.u8(Token.ROW);
    columns.forEach((c, i) => writeValue(w, c.type, values[i]!));
  }
  return w.toBuffer();
}

export function returnStatus(value: number): Buffer {
  return new ByteWriter().u8(Token.RETURNSTATUS).i32(value).toBuffer();
}

export function returnValue(ordinal: number, name: string, type: SqlType, value: SqlValue): Buffer {
  const w = new ByteWriter().u8(Token.RETURNVALUE).u16(ordinal).bVarchar(name.startsWith('@') ? name : `@${name}`).u8(0x01);
  w.u32(0).u16(Flags.NULLABLE);
  writeTypeInfo(w, type);
  writeValue(w, type, value);
  return w.toBuffer();
}

/**
 * Decoders for the client requests of a logged-in session: SQL batches (2.2.6.7), RPC requests
 * (2.2.6.6, e.g. sp_executesql with typed parameters) and transaction manager requests (2.2.6.9).
 * Each starts with ALL_HEADERS, whose transaction descriptor says which transaction the client
 * believes it is in.
 */
import { SqlType, SqlValue } from '../engine/sql-types';
import { ByteReader, ProtocolError } from './bytes';
import { readTypeInfo } from './type-info';
import { readValue } from './values';

export interface AllHeaders {
  /** The 8-byte transaction descriptor; all zeros outside a transaction. */
  transactionDescriptor: Buffer;
  outstandingRequests: number;
}

const ZERO_DESCRIPTOR = Buffer.alloc(8);

export function readAllHeaders(r: ByteReader): AllHeaders {
  const start = r.offset;
  const total = r.u32();
  let descriptor = ZERO_DESCRIPTOR;
  let outstanding = 1;
  while (r.offset < start + total) {
    const headerStart = r.offset;
    const length = r.u32();
    const type = r.u16();
    if (type === 2) {
      descriptor = Buffer.from(r.bytes(8));
      outstanding = r.u32();
    }
    r.offset = headerStart + length;
  }
  r.offset = start + total;
  return { transactionDescriptor: descriptor, outstandingRequests: outstanding };
}

export interface SqlBatchRequest {
  kind: 'batch';
  headers: AllHeaders;
  sql: string;
}

export function parseSqlBatch(payload: Buffer): SqlBatchRequest {
  const r = new ByteReader(payload);
  const headers = readAllHeaders(r);
  return { kind: 'batch', headers, sql: r.bytes(r.remaining).toString('utf16le') };
}

export interface RpcParameter {
  /** Without the leading '@'; '' for a positional parameter. */
  name: string;
  output: boolean;
  type: SqlType;
  value: SqlValue;
}

/** The special procedure ids of MS-TDS 2.2.6.6 that tedious sends by number. */
export const ProcId: Record<number, string> = {
  10: 'sp_executesql', 11: 'sp_prepare', 12: 'sp_execute', 13: 'sp_prepexec', 15: 'sp_unprepare',
};

export interface RpcRequest {
  kind: 'rpc';
  headers: AllHeaders;
  /** The procedure, lower-cased for the special ones (by id or by name). */
  procedure: string;
  parameters: RpcParameter[];
}

export function parseRpc(payload: Buffer): RpcRequest {
  const r = new ByteReader(payload);
  const headers = readAllHeaders(r);
  const nameLength = r.u16();
  let procedure: string;
  if (nameLength === 0xffff) {
    const id = r.u16();
    procedure = ProcId[id] ?? `#${id}`;
  } else {
    procedure = r.bytes(nameLength * 2).toString('utf16le');
  }
  r.u16(); // option flags (recompile, no metadata)
  const parameters: RpcParameter[] = [];
  while (r.remaining > 0) {
    const first = r.buffer[r.offset];
    // 0x80 / 0xFF separate RPCs of one batch; tedious never sends more than one.
    if (first === 0x80 || first === 0xff) throw new ProtocolError('RPC batches of several procedures are not supported by the scripted TDS test server');
    const name = r.bVarchar().replace(/^@/, '');
    const status = r.u8();
    const info = readTypeInfo(r);
    const value = readValue(r, info);
    parameters.push({ name, output: (status & 0x01) !== 0, type: info.type, value });
  }
  const lower = procedure.toLowerCase().replace(/^(sys\.|dbo\.)/, '');
  return { kind: 'rpc', headers, procedure: lower.startsWith('sp_') ? lower : procedure, parameters };
}

export type TransactionRequest =
  | { kind: 'tm'; headers: AllHeaders; operation: 'begin'; isolationLevel: number; name: string }
  | { kind: 'tm'; headers: AllHeaders; operation: 'commit' | 'rollback'; name: string; beginNew: boolean }
  | { kind: 'tm'; headers: AllHeaders; operation: 'save'; name: string }
  | { kind: 'tm'; headers: AllHeaders; operation: 'unsupported'; requestType: number };

/**
 * Reads the transaction name. tedious writes its length byte as a byte count while MS-TDS says
 * characters; which one it is follows from what remains after it.
 */
function readTransactionName(r: ByteReader, trailing: number): string {
  const n = r.u8();
  const bytes = r.remaining - trailing === n ? n : n * 2;
  return r.bytes(Math.min(bytes, Math.max(0, r.remaining - trailing))).toString('utf16le');
}

export function parseTransactionManager(payload: Buffer): TransactionRequest {
  const r = new ByteReader(payload);
  const headers = readAllHeaders(r);
  const type = r.u16();
  switch (type) {
    case 5: {
      const isolationLevel = r.u8();
      return { kind: 'tm', headers, operation: 'begin', isolationLevel, name: readTransactionName(r, 0) };
    }
    case 7:
    case 8: {
      const name = readTransactionName(r, 1);
      const flags = r.remaining > 0 ? r.u8() : 0;
      return { kind: 'tm', headers, operation: type === 7 ? 'commit' : 'rollback', name, beginNew: (flags & 0x01) !== 0 };
    }
    case 9:
      return { kind: 'tm', headers, operation: 'save', name: readTransactionName(r, 0) };
    default:
      return { kind: 'tm', headers, operation: 'unsupported', requestType: type };
  }
}

/** Isolation levels of TM_BEGIN_XACT, as T-SQL names them (0 keeps the session's). */
export const IsolationLevelName: Record<number, string | undefined> = {
  0: undefined, 1: 'READ UNCOMMITTED', 2: 'READ COMMITTED', 3: 'REPEATABLE READ', 4: 'SERIALIZABLE', 5: 'SNAPSHOT',
};

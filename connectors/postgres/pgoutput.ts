/**
 * A decoder for PostgreSQL's `pgoutput` logical replication messages (protocol version 1) and the
 * streaming-replication frames around them. Pure: bytes in, typed values out — no socket, no
 * timers (conventions §1). Byte layouts: PostgreSQL docs, "Logical Replication Message Formats"
 * and "Streaming Replication Protocol".
 */

import type { RawRow } from './mapping-types';

/** A column value in a tuple: text (pgoutput sends the type's text output), null, or unchanged TOAST. */
export type TupleValue = string | null | typeof UNCHANGED_TOAST;

/** 'u': an UPDATE whose TOASTed column did not change carries no value; never overwrite with it. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');

export interface RelationColumn {
  /** Part of the replica identity (the key sent for updates and deletes). */
  isKey: boolean;
  name: string;
  typeOid: number;
  typeModifier: number;
}

export interface RelationMessage {
  tag: 'relation';
  relationId: number;
  schema: string;
  name: string;
  /** 'd' default (primary key), 'n' nothing, 'f' full, 'i' index. */
  replicaIdentity: 'd' | 'n' | 'f' | 'i';
  columns: RelationColumn[];
}

export type PgOutputMessage =
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; flags: number; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: 'origin'; originLsn: bigint; name: string }
  | RelationMessage
  | { tag: 'type'; typeOid: number; schema: string; name: string }
  | { tag: 'insert'; relationId: number; newTuple: TupleValue[] }
  | { tag: 'update'; relationId: number; keyTuple: TupleValue[] | null; oldTuple: TupleValue[] | null; newTuple: TupleValue[] }
  | { tag: 'delete'; relationId: number; keyTuple: TupleValue[] | null; oldTuple: TupleValue[] | null }
  | { tag: 'truncate'; cascade: boolean; restartIdentity: boolean; relationIds: number[] }
  | { tag: 'message'; transactional: boolean; lsn: bigint; prefix: string; content: Buffer };

export class PgOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgOutputError';
  }
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new PgOutputError(`truncated message: need ${n} bytes at offset ${this.offset}, have ${this.buf.length - this.offset}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new PgOutputError(`unterminated string at offset ${this.offset}`);
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    if (n < 0) throw new PgOutputError(`negative length ${n} at offset ${this.offset}`);
    this.need(n);
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  done(): void {
    if (this.offset !== this.buf.length) throw new PgOutputError(`${this.buf.length - this.offset} trailing bytes`);
  }
}

function tuple(r: Reader): TupleValue[] {
  const n = r.i16();
  const out: TupleValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = String.fromCharCode(r.u8());
    if (kind === 'n') out[i] = null;
    else if (kind === 'u') out[i] = UNCHANGED_TOAST;
    else if (kind === 't') out[i] = r.bytes(r.i32()).toString('utf8');
    else if (kind === 'b') throw new PgOutputError('binary tuple values are not requested (binary false); got one');
    else throw new PgOutputError(`unknown tuple value kind '${kind}'`);
  }
  return out;
}

/** Decodes one pgoutput message (the payload of an XLogData frame). */
export function decodePgOutput(buf: Buffer): PgOutputMessage {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  let m: PgOutputMessage;
  switch (tag) {
    case 'B':
      m = { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
      break;
    case 'C':
      m = { tag: 'commit', flags: r.u8(), commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
      break;
    case 'O':
      m = { tag: 'origin', originLsn: r.u64(), name: r.cstring() };
      break;
    case 'R': {
      const relationId = r.u32();
      const schema = r.cstring();
      const name = r.cstring();
      const replicaIdentity = String.fromCharCode(r.u8()) as RelationMessage['replicaIdentity'];
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) columns.push({ isKey: (r.u8() & 1) === 1, name: r.cstring(), typeOid: r.u32(), typeModifier: r.i32() });
      m = { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
      break;
    }
    case 'Y':
      m = { tag: 'type', typeOid: r.u32(), schema: r.cstring(), name: r.cstring() };
      break;
    case 'I': {
      const relationId = r.u32();
      const k = String.fromCharCode(r.u8());
      if (k !== 'N') throw new PgOutputError(`INSERT: expected 'N', got '${k}'`);
      m = { tag: 'insert', relationId, newTuple: tuple(r) };
      break;
    }
    case 'U': {
      const relationId = r.u32();
      let keyTuple: TupleValue[] | null = null;
      let oldTuple: TupleValue[] | null = null;
      let k = String.fromCharCode(r.u8());
      if (k === 'K') keyTuple = tuple(r);
      else if (k === 'O') oldTuple = tuple(r);
      if (k === 'K' || k === 'O') k = String.fromCharCode(r.u8());
      if (k !== 'N') throw new PgOutputError(`UPDATE: expected 'N', got '${k}'`);
      m = { tag: 'update', relationId, keyTuple, oldTuple, newTuple: tuple(r) };
      break;
    }
    case 'D': {
      const relationId = r.u32();
      const k = String.fromCharCode(r.u8());
      if (k !== 'K' && k !== 'O') throw new PgOutputError(`DELETE: expected 'K' or 'O', got '${k}'`);
      const t = tuple(r);
      m = { tag: 'delete', relationId, keyTuple: k === 'K' ? t : null, oldTuple: k === 'O' ? t : null };
      break;
    }
    case 'T': {
      const n = r.u32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      m = { tag: 'truncate', cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationIds };
      break;
    }
    case 'M': {
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const content = Buffer.from(r.bytes(r.i32()));
      m = { tag: 'message', transactional: (flags & 1) !== 0, lsn, prefix, content };
      break;
    }
    default:
      throw new PgOutputError(`unknown pgoutput message '${tag}' (0x${buf[0]?.toString(16)})`);
  }
  r.done();
  return m;
}

// ---- streaming replication frames (CopyData payloads) ------------------------------------------

export type ReplicationFrame =
  | { tag: 'xlog'; walStart: bigint; walEnd: bigint; sendTime: bigint; data: Buffer }
  | { tag: 'keepalive'; walEnd: bigint; sendTime: bigint; replyRequested: boolean };

export function decodeReplicationFrame(buf: Buffer): ReplicationFrame {
  const r = new Reader(buf);
  const tag = String.fromCharCode(r.u8());
  if (tag === 'w') {
    const walStart = r.u64();
    const walEnd = r.u64();
    const sendTime = r.i64();
    return { tag: 'xlog', walStart, walEnd, sendTime, data: buf.subarray(r.offset) };
  }
  if (tag === 'k') {
    const f: ReplicationFrame = { tag: 'keepalive', walEnd: r.u64(), sendTime: r.i64(), replyRequested: r.u8() === 1 };
    r.done();
    return f;
  }
  throw new PgOutputError(`unknown replication frame '${tag}'`);
}

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_OFFSET_US = 946_684_800_000_000n;

export function pgTimeToDate(us: bigint): Date {
  return new Date(Number((us + PG_EPOCH_OFFSET_US) / 1000n));
}

/** Standby status update ('r'): written/flushed/applied positions; flushed releases WAL. */
export function encodeStandbyStatus(written: bigint, flushed: bigint, applied: bigint, now: Date, replyRequested = false): Buffer {
  const b = Buffer.alloc(34);
  b.write('r', 0, 'latin1');
  b.writeBigUInt64BE(written, 1);
  b.writeBigUInt64BE(flushed, 9);
  b.writeBigUInt64BE(applied, 17);
  b.writeBigInt64BE(BigInt(now.getTime()) * 1000n - PG_EPOCH_OFFSET_US, 25);
  b.writeUInt8(replyRequested ? 1 : 0, 33);
  return b;
}

/** A pgoutput tuple as a row of column texts; unchanged TOAST values are left out (absent = not sent). */
export function toRow(columns: string[], tuple: TupleValue[]): RawRow {
  const row: RawRow = {};
  for (let i = 0; i < columns.length; i++) {
    const v = tuple[i];
    if (v === UNCHANGED_TOAST) continue;
    // A key tuple sends null for non-key columns; those are simply absent for our purposes.
    row[columns[i]] = v as string | null;
  }
  return row;
}

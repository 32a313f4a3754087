/**
 * Resume tokens and stream positions. Every change event has a position: the cluster time of its
 * oplog entry, the entry's index within its transaction, and a sub-index (0 for the event itself,
 * 1 for the `invalidate` a drop produces on a collection stream). Positions pack into one bigint:
 *
 *     time (64 bits) << 40 | entryIndex (32 bits) << 8 | sub (8 bits)
 *
 * A token is `{ _data: <hex> }` with `82` + the timestamp's 16 hex digits first — the same leading
 * bytes as mongod's KeyString tokens — then `2B` + entry index (8) + sub (2). Like mongod's, tokens
 * compare in stream order as strings. A high-water-mark token (what `postBatchResumeToken` carries
 * after an empty batch) has the largest entry index and sub of its time: resuming from it returns
 * the events of later cluster times only.
 */
import type { Document } from 'mongodb';
import type { ClusterTime } from './cluster-clock';
import { ErrorCode, MongoCommandError } from './errors';

export type StreamPosition = bigint;

export const MAX_ENTRY_INDEX = 0xffffffff;
export const SUB_EVENT = 0;
export const SUB_INVALIDATE = 1;
const MAX_SUB = 0xff;

export function position(time: ClusterTime, entryIndex: number, sub: number): StreamPosition {
  return (time << 40n) | (BigInt(entryIndex) << 8n) | BigInt(sub);
}

/** The position after every event of `time`. */
export function highWaterMark(time: ClusterTime): StreamPosition {
  return position(time, MAX_ENTRY_INDEX, MAX_SUB);
}

/** The position just before the first event of `time` (what `startAtOperationTime` means). */
export function justBefore(time: ClusterTime): StreamPosition {
  return position(time, 0, 0) - 1n;
}

export function timeOf(p: StreamPosition): ClusterTime {
  return p >> 40n;
}

export function subOf(p: StreamPosition): number {
  return Number(p & 0xffn);
}

function hex(value: bigint, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}

export function encodeToken(p: StreamPosition): Document {
  const time = p >> 40n;
  const entry = (p >> 8n) & 0xffffffffn;
  const sub = p & 0xffn;
  return { _data: `82${hex(time, 16)}2B${hex(entry, 8)}${hex(sub, 2)}` };
}

const TOKEN = /^82([0-9A-F]{16})2B([0-9A-F]{8})([0-9A-F]{2})$/;

/** The position a token names; a token this server did not make is InvalidResumeToken. */
export function decodeToken(token: unknown): StreamPosition {
  const data = token !== null && typeof token === 'object' ? (token as Document)._data : undefined;
  const match = typeof data === 'string' ? TOKEN.exec(data) : null;
  if (!match) {
    throw new MongoCommandError(ErrorCode.InvalidResumeToken, `Invalid resume token: ${JSON.stringify(token)} (not a token of this server)`);
  }
  return position(BigInt(`0x${match[1]}`), Number.parseInt(match[2]!, 16), Number.parseInt(match[3]!, 16));
}

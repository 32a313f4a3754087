import { Timestamp } from 'mongodb';
import type { PositionCodec } from '../kit/position';

/**
 * MongoDB positions (the kit's {@link PositionCodec}): change-stream resume tokens, as text that
 * compares in stream order.
 *
 * - an event: its resume token's `_data` (hex, uppercase). mongod's tokens (and the test server's)
 *   start with `82` + the 8-byte cluster time, and compare as strings in stream order;
 * - just after an event (`resumeFrom` after a source transaction): the token followed by `~`,
 *   which sorts after the token and before every later one; resumed with `resumeAfter`;
 * - a cluster time (after an initial load from a snapshot at time T: T + 1): `82` + the 16 hex
 *   digits of the timestamp — a prefix of every token of that time, so it sorts before them;
 *   resumed with `startAtOperationTime` (inclusive).
 */
export type MongoPosition = string;

const TIME = /^82[0-9A-F]{16}$/;
const VALID = /^82[0-9A-F]{16}[0-9A-F]*~?$/;

export const mongoPositionCodec: PositionCodec<MongoPosition> = {
  parse(text) {
    const t = text.toUpperCase();
    if (!VALID.test(t)) throw new TypeError(`not a MongoDB position: '${text}'`);
    return t;
  },
  format: (p) => p,
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
};

/** The position of an event (its resume token). */
export function tokenPosition(token: unknown): MongoPosition {
  const data = (token as { _data?: unknown } | null)?._data;
  if (typeof data !== 'string') throw new TypeError('a change event without a resume token (_id._data)');
  return data.toUpperCase();
}

/** Just after the event at `p`. */
export function after(p: MongoPosition): MongoPosition {
  return p.endsWith('~') ? p : p + '~';
}

/** The position of a cluster time (before every event at that time). */
export function timePosition(ts: Timestamp): MongoPosition {
  return '82' + ts.t.toString(16).toUpperCase().padStart(8, '0') + ts.i.toString(16).toUpperCase().padStart(8, '0');
}

/** The cluster time a position starts with. */
export function timeOf(p: MongoPosition): Timestamp {
  return new Timestamp({ t: parseInt(p.slice(2, 10), 16), i: parseInt(p.slice(10, 18), 16) });
}

/** The next cluster time (what follows a snapshot read at `ts`). */
export function nextTime(ts: Timestamp): Timestamp {
  return new Timestamp({ t: ts.t, i: ts.i + 1 });
}

/** Change-stream options resuming at `p`: `resumeAfter` a token, or `startAtOperationTime` a cluster time. */
export function resumeOptions(p: MongoPosition): { resumeAfter: { _data: string } } | { startAtOperationTime: Timestamp } {
  if (TIME.test(p)) return { startAtOperationTime: timeOf(p) };
  return { resumeAfter: { _data: p.replace(/~$/, '') } };
}

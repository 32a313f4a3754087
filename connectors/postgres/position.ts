import type { PositionCodec } from '../kit/position';

export { STATE_TYPE, stateSchema } from '../kit/position';

/**
 * PostgreSQL log sequence numbers (LSN) as the connector's positions (conventions §6; the kit's
 * {@link PositionCodec}): opaque, totally ordered, committed only after the destination
 * acknowledged. Text form `16/B374D848` (as `pg_current_wal_lsn()` prints it); held as a bigint.
 * A realm's `resumeFrom` is the commit LSN of its last source transaction plus one (or the slot's
 * consistent point after a load).
 */
export type Lsn = bigint;

export const ZERO_LSN: Lsn = 0n;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new TypeError(`not an LSN: '${text}'`);
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}

export const lsnCodec: PositionCodec<Lsn> = {
  parse: parseLsn,
  format: formatLsn,
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
};

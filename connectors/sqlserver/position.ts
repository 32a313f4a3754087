import type { PositionCodec } from '../kit/position';

/**
 * SQL Server's position: a Change Tracking version (`SYS_CHANGE_VERSION`,
 * `CHANGE_TRACKING_CURRENT_VERSION()`), a bigint that grows by one per committed transaction that
 * changed a tracked table. A realm's `resumeFrom` is the first version NOT in it: a commit at
 * version v is written with `resumeFrom = v + 1`.
 */
export type Version = bigint;

export const versionCodec: PositionCodec<Version> = {
  parse: (text) => BigInt(text),
  format: (v) => v.toString(),
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
};

/** A version as mssql returns a bigint (text), or null. */
export function versionOf(v: unknown): Version | null {
  if (v === null || v === undefined) return null;
  return BigInt(v as string | number);
}

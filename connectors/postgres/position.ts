/**
 * PostgreSQL log sequence numbers (LSN) as the connector's positions (conventions §6): opaque,
 * totally ordered, committed only after the destination acknowledged. Text form `16/B374D848`
 * (as `pg_current_wal_lsn()` prints it); held as a bigint.
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

/**
 * What a realm stores about the connector that writes into it, in the same realm transaction as
 * the data: every source transaction whose commit LSN is below `resumeFrom` is in the realm, none
 * at or above it. A replayed transaction (the slot restarts from its last confirmed flush, which
 * trails the realms) is therefore skipped per realm, exactly once.
 */
export interface RealmPosition {
  resumeFrom: Lsn;
}

/** The object type each realm gets for its position (not a `__` name: realm-js reserves those). */
export const STATE_TYPE = 'TributaryConnectorState';

export const stateSchema = {
  name: STATE_TYPE,
  primaryKey: 'connector',
  properties: { connector: 'string', resumeFrom: 'string', updatedAt: 'date' },
} as const;

/**
 * Positions (conventions §6): opaque, totally ordered values, committed only after the destination
 * acknowledged. A connector supplies a {@link PositionCodec} for its own (PostgreSQL LSNs, MongoDB
 * cluster times, SQL Server change-tracking versions); the kit stores them as text.
 *
 * Database → realm, each realm holds one {@link STATE_TYPE} object per connector, written in the
 * same realm transaction as the data: `resumeFrom` is the first source position NOT in the realm —
 * every source transaction whose position is below it is there, none at or above. A transaction
 * replayed after a restart (the source resumes from its last confirmed position, which trails the
 * realms) is therefore skipped per realm, exactly once. The connector's control realm
 * ({@link controlRealmPath}) holds the same object once the initial load is complete.
 */
export interface PositionCodec<P> {
  parse(text: string): P;
  format(p: P): string;
  /** Negative, zero or positive, as `a` is before, at or after `b`. */
  compare(a: P, b: P): number;
}

/** The object type each realm gets for its position (not a `__` name: realm-js reserves those). */
export const STATE_TYPE = 'TributaryConnectorState';

export const stateSchema = {
  name: STATE_TYPE,
  primaryKey: 'connector',
  properties: { connector: 'string', resumeFrom: 'string', updatedAt: 'date' },
} as const;

/** The connector's own realm: where it records that its initial load is complete. */
export function controlRealmPath(name: string): string {
  return `/tributary-connectors/${name}`;
}

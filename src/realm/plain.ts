/**
 * Turns a value read from a realm into plain data for JSON: objects (via their toJSON) become
 * plain objects with links nested, collections become arrays. `seen` holds the objects on the
 * current path, so a cycle ends in a `{ $ref: 'Type/key' }` marker instead of recursing forever.
 */
export function plainValue(value: unknown, seen: Set<unknown>): unknown {
  if (value && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function' && isRealmValue(value)) {
    return (value as { toJSON(key: string, seen: Set<unknown>): unknown }).toJSON('', seen);
  }
  return value;
}

/** Marker set on prototypes of RealmObject and Collection (avoids an import cycle). */
export const REALM_VALUE = Symbol.for('tributary.realmValue');

function isRealmValue(value: object): boolean {
  return (value as Record<symbol, unknown>)[REALM_VALUE] === true;
}

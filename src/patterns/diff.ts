import type { Realm } from '../realm';
import { TributaryError } from '../errors';

export interface DiffCounts {
  inserted: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/**
 * Brings the objects of `type` in line with `items` by primary key, inside the caller's write
 * transaction: creates the new ones, assigns only the properties whose value differs, and (with
 * `deleteMissing`) deletes objects the source no longer lists. Nothing unchanged is written, so
 * listeners and the notifier see only real changes.
 */
export function applyDiff(realm: Realm, type: string, items: Record<string, unknown>[], deleteMissing: boolean): DiffCounts {
  const schema = realm.schema.find((s) => s.name === type);
  const primaryKey = schema?.primaryKey;
  if (!schema || !primaryKey) throw new TributaryError('CONFIG_INVALID', `the poller's type '${type}' must exist in the schema and have a primary key`);
  const counts: DiffCounts = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
  const seen = new Set<unknown>();
  for (const item of items) {
    const key = item[primaryKey];
    if (seen.has(key)) continue;
    seen.add(key);
    const existing = realm.objectForPrimaryKey<Record<string, unknown>>(type, key);
    if (!existing) {
      realm.create(type, item);
      counts.inserted++;
      continue;
    }
    let changed = false;
    for (const [prop, value] of Object.entries(item)) {
      if (prop === primaryKey || !(prop in schema.properties)) continue;
      if (!sameValue(existing[prop], value)) {
        existing[prop] = value;
        changed = true;
      }
    }
    if (changed) counts.updated++;
    else counts.unchanged++;
  }
  if (deleteMissing) {
    const gone = realm.objects<Record<string, unknown>>(type).filter((o) => !seen.has(o[primaryKey]));
    for (const o of gone) realm.delete(o);
    counts.deleted = gone.length;
  }
  return counts;
}

function sameValue(current: unknown, next: unknown): boolean {
  if (current === next) return true;
  if ((current === null || current === undefined) && (next === null || next === undefined)) return true;
  if (current instanceof Date) {
    const t = next instanceof Date ? next.getTime() : typeof next === 'string' || typeof next === 'number' ? new Date(next).getTime() : NaN;
    return current.getTime() === t;
  }
  if (current && typeof current === 'object' && Symbol.iterator in current && Array.isArray(next)) {
    const list = [...(current as Iterable<unknown>)];
    return list.length === next.length && list.every((v, i) => sameValue(v, next[i]));
  }
  return false;
}

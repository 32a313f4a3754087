import type { ListEntry, ObjectRecord } from '../changeset/state';
import { keyString, ObjectKey, PropertySchema, Value } from '../model';
import type { QueryStore } from './types';

/** The live targets of a list of links: tombstones and links to missing objects are skipped. */
export function linkTargets(entries: ListEntry[] | undefined, targetType: string, store: QueryStore): ObjectRecord[] {
  const out: ObjectRecord[] = [];
  if (!entries) return out;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.dead || e.value === null) continue;
    const target = store.getObject(targetType, e.value as ObjectKey);
    if (target) out.push(target);
  }
  return out;
}

/** The live elements of a list of primitives. */
export function liveValues(entries: ListEntry[] | undefined): Value[] {
  const out: Value[] = [];
  if (!entries) return out;
  for (let i = 0; i < entries.length; i++) if (!entries[i]!.dead) out.push(entries[i]!.value);
  return out;
}

/** The target of a single link, or undefined when the link is null or dangling. */
export function linkTarget(record: ObjectRecord, property: string, targetType: string, store: QueryStore): ObjectRecord | undefined {
  const key = record.values[property];
  if (key === null || key === undefined) return undefined;
  return store.getObject(targetType, key as ObjectKey);
}

/**
 * The objects of `fromType` whose `property` (a link or list of links) points at `record` of
 * `type`, each once and in the linking type's order (as `object.linkingObjects()` returns them).
 */
export function backlinks(record: ObjectRecord, store: QueryStore, fromType: string, property: PropertySchema): ObjectRecord[] {
  const key = keyString(record.id);
  const name = property.name;
  const candidates = store.referrers ? store.referrers(property.objectType!, record.id, fromType) : store.objects(fromType);
  const out: ObjectRecord[] = [];
  for (const r of candidates) {
    if (property.type === 'object') {
      const v = r.values[name];
      if (v !== null && v !== undefined && keyString(v as ObjectKey) === key) out.push(r);
    } else {
      const list = r.lists[name];
      if (list && list.some((e) => !e.dead && e.value !== null && keyString(e.value as ObjectKey) === key)) out.push(r);
    }
  }
  return out;
}

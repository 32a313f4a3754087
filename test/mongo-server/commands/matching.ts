/**
 * Finding the documents a filter selects in a collection view. A filter that pins `_id` to one
 * value (or a `$in` list) is answered by key lookups — the `_id_` index — so updates and deletes by
 * `_id` cost the same whatever the collection's size; anything else is a scan.
 */
import type { Document } from 'mongodb';
import { isPlainDocument } from '../bson-values';
import { compileFilter } from '../filter';
import { idKey } from '../id-key';
import type { CollectionView } from './context';

function isScalarId(value: unknown): boolean {
  return !(isPlainDocument(value) && Object.keys(value).some((k) => k.startsWith('$'))) && !Array.isArray(value) && !(value instanceof RegExp) && (value === null || typeof value !== 'object' || (value as { _bsontype?: string })._bsontype !== 'BSONRegExp');
}

/** The `_id` values a filter is limited to, when it is limited to a list of exact values. */
export function idCandidates(filter: Document | undefined): unknown[] | undefined {
  if (!filter || !('_id' in filter)) return undefined;
  const spec = filter._id;
  if (isPlainDocument(spec) && Object.keys(spec).length === 1) {
    if ('$eq' in spec && isScalarId(spec.$eq)) return [spec.$eq];
    if ('$in' in spec && Array.isArray(spec.$in) && spec.$in.every(isScalarId)) return spec.$in;
  }
  if (spec === null || !isScalarId(spec)) return undefined;
  return [spec];
}

/** Documents of `view` matching `filter`, natural order; stops after `limit` (0: no limit). */
export function matchingDocuments(view: CollectionView, filter: Document | undefined, limit = 0): Array<[string, Document]> {
  const predicate = compileFilter(filter);
  const out: Array<[string, Document]> = [];
  const ids = idCandidates(filter);
  if (ids) {
    const seen = new Set<string>();
    for (const id of ids) {
      let key: string;
      try {
        key = idKey(id);
      } catch {
        continue;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      const doc = view.get(key);
      if (doc && predicate(doc)) {
        out.push([key, doc]);
        if (limit > 0 && out.length >= limit) break;
      }
    }
    return out;
  }
  for (const entry of view.scan()) {
    if (predicate(entry[1])) {
      out.push(entry);
      if (limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

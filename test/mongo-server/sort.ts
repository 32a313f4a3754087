/**
 * Sort specifications (`{ a: 1, 'b.c': -1 }`) compiled to a comparator. A field holding an array
 * sorts by its smallest element ascending and its largest descending, as in MongoDB; a missing field
 * sorts like null.
 */
import type { Document } from 'mongodb';
import { compareValues, isNumeric, isPlainDocument, toNumber } from './bson-values';
import { MongoCommandError } from './errors';
import { collectPath, splitPath } from './paths';

export interface SortKey {
  parts: string[];
  direction: 1 | -1;
}

export function parseSort(spec: Document | undefined | null): SortKey[] {
  if (spec == null) return [];
  if (!isPlainDocument(spec)) throw new MongoCommandError(14, 'sort must be an object');
  return Object.keys(spec).map((path) => {
    const d = spec[path];
    if (isPlainDocument(d)) throw new MongoCommandError(238, `$meta sort is not implemented by the test server`, { codeName: 'NotImplemented' });
    const n = isNumeric(d) ? toNumber(d) : Number.NaN;
    if (n !== 1 && n !== -1) throw new MongoCommandError(15975, '$sort key ordering must be 1 (for ascending) or -1 (for descending)');
    return { parts: splitPath(path), direction: n as 1 | -1 };
  });
}

function sortValue(doc: Document, key: SortKey): unknown {
  const values: unknown[] = [];
  for (const v of collectPath(doc, key.parts)) {
    if (Array.isArray(v)) {
      if (v.length === 0) values.push(undefined);
      else values.push(...v);
    } else values.push(v);
  }
  let best = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (key.direction === 1 ? c < 0 : c > 0) best = values[i];
  }
  return best;
}

/** Sorts `docs` in place by `keys` (stable, so ties keep natural order). */
export function sortDocuments<T extends Document>(docs: T[], keys: SortKey[]): T[] {
  if (keys.length === 0 || docs.length < 2) return docs;
  const decorated = docs.map((doc) => ({ doc, values: keys.map((k) => sortValue(doc, k)) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const c = compareValues(a.values[i], b.values[i]);
      if (c !== 0) return c * keys[i]!.direction;
    }
    return 0;
  });
  for (let i = 0; i < docs.length; i++) docs[i] = decorated[i]!.doc;
  return docs;
}

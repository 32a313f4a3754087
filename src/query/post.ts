import type { ObjectRecord } from '../changeset/state';
import { TributaryError } from '../errors';
import type { Value } from '../model';
import type { KeyPathExpr, PostClause, Segment } from './ast';
import { chainSingle, resolvePath } from './paths';
import { queryError } from './query-error';
import type { CompileContext, QueryStore } from './types';
import { equalValues, sortCompare } from './values';

type KeyReader = (r: ObjectRecord, s: QueryStore) => Value;

/**
 * A key path for SORT, DISTINCT or `Results.sorted`: single links then a value (or a @count,
 * @size or aggregate). Lists are not allowed, as in Realm: an object has no single value to sort by.
 */
function sortKey(store: QueryStore, text: string, type: string, segments: Segment[], offset: number, clause: string): KeyReader {
  const resolved = resolvePath(store, text, type, segments, offset);
  if (resolved.terminal.many || resolved.hops.some((h) => h.many)) {
    throw queryError(text, offset, `cannot ${clause} on '${text.slice(offset).split(/[\s,)]/)[0]}': the key path goes through a list`);
  }
  if (resolved.terminal.type.kind === 'link' && clause === 'sort') {
    throw queryError(text, offset, `cannot sort on '${segments.map((s) => s.name).join('.')}': it is a link; sort on one of its properties`);
  }
  return chainSingle(resolved.hops, resolved.terminal);
}

export function compilePost(ctx: CompileContext, clauses: PostClause[]): (records: ObjectRecord[], store: QueryStore) => ObjectRecord[] {
  const steps = clauses.map((c): ((records: ObjectRecord[], store: QueryStore) => ObjectRecord[]) => {
    switch (c.kind) {
      case 'limit':
        return (records) => (records.length > c.count ? records.slice(0, c.count) : records);
      case 'sort': {
        const keys = c.keys.map((k) => ({ read: keyReader(ctx, k.path, 'sort'), descending: k.descending }));
        return (records, store) => sortBy(records, store, keys);
      }
      case 'distinct': {
        const keys = c.keys.map((k) => keyReader(ctx, k, 'distinct'));
        return (records, store) => distinctBy(records, store, keys);
      }
    }
  });
  return (records, store) => steps.reduce((acc, step) => step(acc, store), records);
}

function keyReader(ctx: CompileContext, path: KeyPathExpr, clause: string): KeyReader {
  return sortKey(ctx.store, ctx.text, ctx.rootType, path.segments, path.offset, clause);
}

/** Stable sort by several keys (nulls first when ascending, as in Realm). */
function sortBy(records: ObjectRecord[], store: QueryStore, keys: Array<{ read: KeyReader; descending: boolean }>): ObjectRecord[] {
  const decorated = records.map((r, i) => ({ r, i, k: keys.map((key) => key.read(r, store)) }));
  decorated.sort((a, b) => {
    for (let j = 0; j < keys.length; j++) {
      const c = sortCompare(a.k[j]!, b.k[j]!);
      if (c !== 0) return keys[j]!.descending ? -c : c;
    }
    return a.i - b.i;
  });
  return decorated.map((d) => d.r);
}

/** Keeps the first record of each distinct combination of key values. */
function distinctBy(records: ObjectRecord[], store: QueryStore, keys: KeyReader[]): ObjectRecord[] {
  const seen = new Map<string, Value[][]>();
  const out: ObjectRecord[] = [];
  for (const r of records) {
    const values = keys.map((k) => k(r, store));
    const hash = values.map(hashValue).join('\u0000');
    const bucket = seen.get(hash);
    if (bucket?.some((other) => other.every((v, i) => equalValues(v, values[i]!)))) continue;
    if (bucket) bucket.push(values);
    else seen.set(hash, [values]);
    out.push(r);
  }
  return out;
}

/** A coarse hash: equal values (per equalValues) always hash the same. */
function hashValue(v: Value): string {
  if (v === null) return 'n';
  if (typeof v === 'number') return `#${v}`;
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'boolean') return `b${v}`;
  if (v instanceof Date) return `d${v.getTime()}`;
  if (v instanceof Uint8Array) return `x${v.length}`;
  if ('hex' in v) return `h${v.hex}`;
  return `#${Number(v.value)}`;
}

/**
 * Sorts records by key paths (through single links), stably. Used by `Results.sorted`.
 *
 * @example
 * sortRecords(store, 'Person', records, [['owner.name', false], ['age', true]]);
 */
export function sortRecords(store: QueryStore, type: string, records: ObjectRecord[], descriptors: Array<[keyPath: string, descending: boolean]>): ObjectRecord[] {
  const keys = descriptors.map(([path, descending]) => {
    if (typeof path !== 'string' || path === '') throw new TributaryError('INVALID_QUERY', `sort key path must be a non-empty string, got ${String(path)}`);
    return { read: sortKey(store, path, type, segmentsOf(path), 0, 'sort'), descending: !!descending };
  });
  return sortBy(records, store, keys);
}

/** Splits a plain key path ('owner.name', 'dogs.@count') into segments for resolution. */
export function segmentsOf(path: string): Segment[] {
  const out: Segment[] = [];
  let offset = 0;
  for (const part of path.split('.')) {
    const at = part.startsWith('@');
    out.push({ name: at ? part.slice(1) : part, at, offset });
    offset += part.length + 1;
  }
  return out;
}

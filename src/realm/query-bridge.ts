import type { ObjectRecord, StateStore } from '../changeset';
import { TributaryError } from '../errors';
import type { ObjectKey, Value } from '../model';
import * as query_ from '../query';
import { objectInternals } from './object-internals';

export type SortSpec = [keyPath: string, descending: boolean];
export type AggregateOperation = 'min' | 'max' | 'sum' | 'avg';

/** A compiled Realm query (src/query): a per-record predicate plus SORT/DISTINCT/LIMIT clauses. */
export interface CompiledQuery {
  readonly type: string;
  matches(record: ObjectRecord, store: StateStore): boolean;
  /** Applies the trailing SORT(…) DISTINCT(…) LIMIT(n) clauses to the matching records. */
  post(records: ObjectRecord[], store: StateStore): ObjectRecord[];
  readonly hasPostClauses: boolean;
}

/** The query engine's interface as this layer uses it (src/query/index.ts). */
export interface QueryEngine {
  compileQuery(store: StateStore, type: string, query: string, args: readonly unknown[]): CompiledQuery;
  sortRecords(store: StateStore, type: string, records: ObjectRecord[], specs: readonly SortSpec[]): ObjectRecord[];
  aggregate(store: StateStore, type: string, records: ObjectRecord[], operation: AggregateOperation, property: string): Value | undefined;
  LinkArg: new (type: string, id: ObjectKey) => unknown;
}

/** src/query, checked against the interface above at compile time. */
const engine: QueryEngine = {
  compileQuery: (store, type, query, args) => query_.compileQuery(store, type, query, [...args]),
  sortRecords: (store, type, records, specs) => query_.sortRecords(store, type, records, specs.map(([p, d]) => [p, d])),
  aggregate: (store, type, records, operation, property) => query_.aggregate(store, type, records, operation, property),
  LinkArg: query_.LinkArg,
};

/** The query engine (kept behind a function so a build without it fails in one place). */
export function queryEngine(): QueryEngine | null {
  return engine;
}

export function requireQueryEngine(what: string): QueryEngine {
  const e = queryEngine();
  if (!e) throw new TributaryError('INVALID_ARGUMENT', `${what}: the query engine (src/query) is not available in this build`);
  return e;
}

/** Query arguments as the engine takes them: Realm objects become links (type, key). */
export function queryArgs(args: readonly unknown[], engine: QueryEngine): unknown[] {
  return args.map((a) => {
    const i = objectInternals(a);
    return i ? new engine.LinkArg(i.type, i.id) : a;
  });
}

/**
 * Normalises realm-js sort descriptors: `'name'`, `('name', true)`, `['a', 'b']`,
 * `[['a', true], 'b']` and the lone pair `['name', true]`.
 */
export function sortSpecs(descriptor: unknown, reverse = false): SortSpec[] {
  if (typeof descriptor === 'string') return [[descriptor, !!reverse]];
  if (Array.isArray(descriptor)) {
    if (descriptor.length === 2 && typeof descriptor[0] === 'string' && typeof descriptor[1] === 'boolean') return [[descriptor[0], descriptor[1]]];
    return descriptor.map((d) => {
      if (typeof d === 'string') return [d, false] as SortSpec;
      if (Array.isArray(d) && typeof d[0] === 'string') return [d[0], !!d[1]] as SortSpec;
      throw new TributaryError('INVALID_ARGUMENT', `sorted(): bad sort descriptor ${JSON.stringify(d)}`);
    });
  }
  throw new TributaryError('INVALID_ARGUMENT', `sorted() expects a key path or an array of [keyPath, descending] pairs`);
}

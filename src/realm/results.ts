import type { ObjectRecord } from '../changeset';
import { keyString, parseKeyString, type ObjectKey, type Value } from '../model';
import type { CommitChanges } from './change-tracker';
import { touched } from './change-tracker';
import { Collection } from './collection';
import type { RealmContext } from './context';
import { aggregate as aggregateRecords, compileQuery, sortRecords } from '../query';
import { checkAggregate, resolveKeyPath } from './local-query';
import type { CollectionListener, ListenableCollection } from './notifications';
import { queryArgs, sortSpecs, type AggregateOperation, type SortSpec } from './query-bridge';
import { sameObject } from './object-internals';
import { Subscription } from './subscription';

let subscriptionCounter = 0;

type KeySource = () => readonly ObjectKey[];
export type SortDescriptor = string | ReadonlyArray<string | [string, boolean]> | [string, boolean];

/**
 * A live, lazily evaluated collection of objects of one type, in local creation order unless
 * sorted. The key list is recomputed only when the replica's data changed since the last read.
 * `filtered` and `sorted` stack further key stages on top of the source.
 */
export class Results<T = unknown> extends Collection<T> implements ListenableCollection {
  private cachedAt = -1;
  private cached: readonly ObjectKey[] = [];

  constructor(
    private readonly ctx: RealmContext,
    /** The object type of the elements. */
    readonly objectType: string,
    private readonly source: KeySource = () => ctx.replica.objectKeys(objectType).map(parseKeyString),
    private readonly frozen = false,
  ) {
    super();
  }

  /**
   * realm-js query-based sync: `subscribe(name?)` or `subscribe({ name })`. Every realm is fully
   * synchronised here, so the subscription only reports when the realm has caught up (see
   * src/realm/subscription.ts).
   */
  subscribe(options?: string | { name?: string; update?: boolean; timeToLive?: number }): Subscription {
    const name = typeof options === 'string' ? options : (options?.name ?? `[${this.objectType}] #${++subscriptionCounter}`);
    return new Subscription(name, this.objectType, this.ctx.syncSession(), this.ctx.subscriptions);
  }

  /** realm-js: the type of the values, `'object'` for a collection of objects. */
  get type(): string {
    return 'object';
  }

  get optional(): boolean {
    return false;
  }

  private currentKeys(): readonly ObjectKey[] {
    this.ctx.checkOpen();
    const v = this.ctx.replica.dataVersion;
    if (this.cachedAt !== v || this.cachedAt < 0) {
      if (!this.frozen || this.cachedAt < 0) this.cached = this.source();
      this.cachedAt = v;
    }
    return this.cached;
  }

  /** @internal The current keys (for stacking and for collections built on these). */
  _keys(): readonly ObjectKey[] {
    return this.currentKeys();
  }

  get length(): number {
    return this.currentKeys().length;
  }

  elementAt(index: number): T | undefined {
    const keys = this.currentKeys();
    if (!Number.isInteger(index) || index < 0 || index >= keys.length) return undefined;
    // A snapshot keeps its length; an object deleted since reads as null (as in realm-js).
    if (this.frozen && !this.ctx.record(this.objectType, keys[index])) return null as T;
    return this.ctx.object(this.objectType, keys[index]) as T;
  }

  protected override sameElement(a: unknown, b: unknown): boolean {
    return sameObject(a, b);
  }

  isValid(): boolean {
    try {
      this.ctx.checkOpen();
      return true;
    } catch {
      return false;
    }
  }

  isEmpty(): boolean {
    return this.length === 0;
  }

  /**
   * A frozen copy: the same objects, in the same order, whatever is written later; an object
   * deleted since reads as null, so `for (i < snapshot.length) realm.delete(snapshot[i])` works.
   */
  snapshot(): Results<T> {
    const keys = [...this.currentKeys()];
    return new Results<T>(this.ctx, this.objectType, () => keys, true);
  }

  private records(keys: readonly ObjectKey[]): ObjectRecord[] {
    const out: ObjectRecord[] = [];
    for (const k of keys) {
      const r = this.ctx.record(this.objectType, k);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * The objects matching a query in the Realm query language, live, in this collection's order
   * (unless the query ends in `SORT(…)`). `$0`, `$1`… are `args`; a Realm object compares as a
   * link.
   *
   * @example
   * realm.objects('Dog').filtered('age > $0 AND owner.name BEGINSWITH[c] "a"', 3)
   */
  filtered(query: string, ...args: unknown[]): Results<T> {
    const store = this.ctx.store;
    const compiled = compileQuery(store, this.objectType, query, queryArgs(args));
    const parent = () => this.currentKeys();
    return new Results<T>(this.ctx, this.objectType, () => {
      let records = this.records(parent()).filter((r) => compiled.matches(r, store));
      if (compiled.hasPostClauses) records = compiled.post(records, store);
      return records.map((r) => r.id);
    });
  }

  /**
   * Sorted by one or more key paths: `sorted('name')`, `sorted('age', true)` (descending),
   * `sorted(['age', 'name'])`, `sorted([['age', true], ['owner.name', false]])`.
   */
  sorted(descriptor: SortDescriptor, reverse = false): Results<T> {
    const specs = sortSpecs(descriptor, reverse);
    for (const [path] of specs) resolveKeyPath(this.ctx, this.objectType, path); // validate now, not on first read
    const parent = () => this.currentKeys();
    return new Results<T>(this.ctx, this.objectType, () => this.sortKeys(parent(), specs));
  }

  private sortKeys(keys: readonly ObjectKey[], specs: readonly SortSpec[]): ObjectKey[] {
    return sortRecords(this.ctx.store, this.objectType, this.records(keys), specs.map(([p, d]) => [p, d])).map((r) => r.id);
  }

  min(property: string): Value | undefined {
    return this.aggregate('min', property);
  }
  max(property: string): Value | undefined {
    return this.aggregate('max', property);
  }
  sum(property: string): number {
    return (this.aggregate('sum', property) as number | undefined) ?? 0;
  }
  avg(property: string): number | undefined {
    return this.aggregate('avg', property) as number | undefined;
  }

  private aggregate(operation: AggregateOperation, property: string): Value | undefined {
    checkAggregate(operation, resolveKeyPath(this.ctx, this.objectType, property), property);
    const keys = this.currentKeys();
    return aggregateRecords(this.ctx.store, this.objectType, this.records(keys), operation, property) ?? undefined;
  }

  // ---- listeners -----------------------------------------------------------------------------

  /**
   * Calls `callback(results, changes)` once soon with empty changes, then after every commit
   * (local or downloaded) that changed these results.
   */
  addListener(callback: CollectionListener): void {
    this.ctx.checkOpen();
    this.ctx.notifications.addCollectionListener(this, callback);
  }
  removeListener(callback: CollectionListener): void {
    this.ctx.notifications.removeCollectionListener(this, callback);
  }
  removeAllListeners(): void {
    this.ctx.notifications.removeCollectionListener(this);
  }

  /** @internal */
  _diffKeys(): string[] {
    return this.currentKeys().map(keyString);
  }
  /** @internal */
  _elementTouched(changes: CommitChanges, key: string): boolean {
    return touched(changes, this.objectType, key);
  }
  /** @internal */
  _listenerIdentity(): unknown {
    return this;
  }
}

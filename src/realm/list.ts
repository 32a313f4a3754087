import { valuesEqual, type Instruction, type ListEntry } from '../changeset';
import { TributaryError } from '../errors';
import { cloneValue, isLinkList, keyString, type ObjectKey, type PropertySchema, type Value } from '../model';
import { Collection } from './collection';
import type { RealmContext, UpdateMode } from './context';
import { touched, type CommitChanges } from './change-tracker';
import { aggregateValues, checkAggregate, compareValues } from './local-query';
import type { CollectionListener } from './notifications';
import { sameObject } from './object-internals';
import type { AggregateOperation } from './query-bridge';
import { Results, type SortDescriptor } from './results';

/** A diff key for a primitive list element: the value with its kind, so 1 and '1' differ. */
function valueKey(v: Value): string {
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('base64')}`;
  if (v instanceof Date) return `d:${v.getTime()}`;
  if (v === null) return 'null';
  return `${typeof v === 'object' ? v.constructor.name : typeof v}:${String(v)}`;
}

type ListOpFields =
  | { op: 'ListInsert' | 'ListSet'; index: number; value: Value; prior: number }
  | { op: 'ListErase'; index: number; prior: number }
  | { op: 'ListMove'; from: number; to: number; prior: number }
  | { op: 'ListClear'; prior: number };

/**
 * A live list property. Users see only live entries; instructions address the list's wire index
 * space, which also holds tombstones (links to objects deleted concurrently), so every operation
 * maps user indices to wire indices and carries the wire size before it as `prior`.
 */
export class List<T = unknown> extends Collection<T> {
  constructor(
    private readonly ctx: RealmContext,
    private readonly parentType: string,
    private readonly id: ObjectKey,
    private readonly property: PropertySchema,
  ) {
    super();
  }

  /** realm-js: the element type (`'string'`, `'int'`…), or `'object'` for a list of links. */
  get type(): string {
    return this.isLinks ? 'object' : this.property.objectType!;
  }

  /** realm-js: whether elements may be null (lists of primitives only). */
  get optional(): boolean {
    return this.property.optional;
  }

  private get isLinks(): boolean {
    return isLinkList(this.property);
  }

  private get where(): string {
    return `${this.parentType}.${this.property.name}`;
  }

  /** The stored entries, tombstones included. */
  private wire(): ListEntry[] {
    const r = this.ctx.record(this.parentType, this.id);
    if (!r) throw new TributaryError('OBJECT_INVALIDATED', `Accessing a list of ${this.parentType} which has been deleted`);
    return r.lists[this.property.name] ?? [];
  }

  /** Wire indices of the live entries, in order. */
  private liveIndices(wire: ListEntry[] = this.wire()): number[] {
    const out: number[] = [];
    for (let i = 0; i < wire.length; i++) if (!wire[i].dead) out.push(i);
    return out;
  }

  isValid(): boolean {
    try {
      return !!this.ctx.record(this.parentType, this.id);
    } catch {
      return false;
    }
  }

  get length(): number {
    return this.liveIndices().length;
  }

  elementAt(index: number): T | undefined {
    const wire = this.wire();
    const live = this.liveIndices(wire);
    if (index < 0 || index >= live.length) return undefined;
    return this.read(wire[live[index]].value);
  }

  private read(value: Value): T {
    if (this.isLinks) return this.ctx.object(this.property.objectType!, value as ObjectKey) as T;
    return cloneValue(value) as T;
  }

  protected override sameElement(a: unknown, b: unknown): boolean {
    if (this.isLinks) return sameObject(a, b);
    return valuesEqual(a as Value, b as Value);
  }

  /** Converts a user value to what the list stores (creating linked objects given as plain objects). */
  private convert(item: unknown, mode: UpdateMode = 'modified'): Value {
    if (this.isLinks) {
      const key = this.ctx.linkKey(this.property.objectType!, item, mode, `${this.where}[]`);
      if (key === null) throw new TributaryError('INVALID_ARGUMENT', `${this.where}: a list of links cannot hold null`);
      return key;
    }
    return this.ctx.primitive(this.property.objectType!, this.property.optional, item, `${this.where}[]`);
  }

  private op(ins: ListOpFields): Instruction {
    return { type: this.parentType, id: this.id, property: this.property.name, ...ins } as Instruction;
  }

  /** Inserts `items` so that the first ends at user index `at`. */
  private insertAt(at: number, items: unknown[]): void {
    for (let k = 0; k < items.length; k++) {
      const value = this.convert(items[k]);
      const wire = this.wire();
      const live = this.liveIndices(wire);
      const index = at + k < live.length ? live[at + k] : wire.length;
      this.ctx.emit([this.op({ op: 'ListInsert', index, value, prior: wire.length })]);
    }
  }

  /** Erases the entry at user index `at`. */
  private eraseAt(at: number): void {
    const wire = this.wire();
    const live = this.liveIndices(wire);
    this.ctx.emit([this.op({ op: 'ListErase', index: live[at], prior: wire.length })]);
  }

  push(...items: unknown[]): number {
    this.ctx.requireWrite();
    this.insertAt(this.length, items);
    return this.length;
  }

  unshift(...items: unknown[]): number {
    this.ctx.requireWrite();
    this.insertAt(0, items);
    return this.length;
  }

  pop(): T | undefined {
    this.ctx.requireWrite();
    const n = this.length;
    if (n === 0) return undefined;
    const value = this.elementAt(n - 1);
    this.eraseAt(n - 1);
    return value;
  }

  shift(): T | undefined {
    this.ctx.requireWrite();
    if (this.length === 0) return undefined;
    const value = this.elementAt(0);
    this.eraseAt(0);
    return value;
  }

  splice(start: number, deleteCount?: number, ...items: unknown[]): T[] {
    this.ctx.requireWrite();
    const n = this.length;
    let s = Math.trunc(Number(start) || 0);
    s = s < 0 ? Math.max(n + s, 0) : Math.min(s, n);
    const count = deleteCount === undefined ? n - s : Math.min(Math.max(Math.trunc(Number(deleteCount) || 0), 0), n - s);
    const removed: T[] = [];
    for (let k = 0; k < count; k++) {
      removed.push(this.elementAt(s) as T);
      this.eraseAt(s);
    }
    this.insertAt(s, items);
    return removed;
  }

  override setElementAt(index: number, value: unknown): void {
    this.ctx.requireWrite();
    const n = this.length;
    if (index === n) {
      this.push(value);
      return;
    }
    if (index < 0 || index > n) throw new TributaryError('INVALID_ARGUMENT', `${this.where}: index ${index} out of range 0..${n}`);
    const converted = this.convert(value);
    const wire = this.wire();
    this.ctx.emit([this.op({ op: 'ListSet', index: this.liveIndices(wire)[index], value: converted, prior: wire.length })]);
  }

  /** Moves the element at user index `from` so that it ends at user index `to`. */
  move(from: number, to: number): void {
    this.ctx.requireWrite();
    const wire = this.wire();
    const live = this.liveIndices(wire);
    if (!(from >= 0 && from < live.length && to >= 0 && to < live.length)) {
      throw new TributaryError('INVALID_ARGUMENT', `${this.where}: move(${from}, ${to}) out of range 0..${live.length - 1}`);
    }
    if (from === to) return;
    this.ctx.emit([this.op({ op: 'ListMove', from: live[from], to: live[to], prior: wire.length })]);
  }

  /** Removes every element (one ListClear: it wins over concurrent edits of this list). */
  clear(): void {
    this.ctx.requireWrite();
    const wire = this.wire();
    if (wire.length === 0) return;
    this.ctx.emit([this.op({ op: 'ListClear', prior: wire.length })]);
  }

  /** Replaces the whole content (property assignment, create with update). */
  replaceAll(values: unknown, mode: UpdateMode): void {
    if (values === null || values === undefined) values = [];
    if (typeof values !== 'object' || !(Symbol.iterator in (values as object))) {
      throw new TributaryError('INVALID_ARGUMENT', `${this.where} expects an array, got ${typeof values}`);
    }
    const items = [...(values as Iterable<unknown>)];
    if (mode === 'modified' && !this.isLinks) {
      const converted = items.map((v) => this.convert(v));
      const current = this.toArray() as Value[];
      if (current.length === converted.length && current.every((v, i) => valuesEqual(v, converted[i]))) return;
    }
    if (mode === 'modified' && this.isLinks) {
      const keys = items.map((v) => this.convert(v, mode) as ObjectKey);
      const live = this.wire().filter((e) => !e.dead);
      if (live.length === keys.length && live.every((e, i) => keyString(e.value as ObjectKey) === keyString(keys[i]))) return;
      this.clear();
      this.insertAt(0, keys.map((k) => this.ctx.object(this.property.objectType!, k)));
      return;
    }
    this.clear();
    this.insertAt(0, items);
  }

  // ---- queries, aggregates, listeners (lists of objects work like Results over their elements) --

  /** The keys of the live link targets, in list order. */
  private linkKeys(): ObjectKey[] {
    return this.wire().filter((e) => !e.dead).map((e) => e.value as ObjectKey);
  }

  private asResults(what: string): Results<T> {
    if (!this.isLinks) throw new TributaryError('INVALID_ARGUMENT', `${what} is only supported on lists of objects (${this.where} holds ${this.property.objectType})`);
    return new Results<T>(this.ctx, this.property.objectType!, () => (this.isValid() ? this.linkKeys() : []));
  }

  filtered(query: string, ...args: unknown[]): Results<T> {
    return this.asResults('filtered()').filtered(query, ...args);
  }

  sorted(descriptor?: SortDescriptor, reverse = false): Results<T> | T[] {
    if (!this.isLinks) {
      // realm-js sorts a list of primitives by its values: sorted() or sorted(true).
      const desc = typeof descriptor === 'boolean' ? descriptor : reverse;
      const values = this.toArray() as Value[];
      values.sort((a, b) => (desc ? -compareValues(a, b) : compareValues(a, b)));
      return values as T[];
    }
    return this.asResults('sorted()').sorted(descriptor as SortDescriptor, reverse);
  }

  snapshot(): Results<T> | T[] {
    return this.isLinks ? this.asResults('snapshot()').snapshot() : this.toArray();
  }

  isEmpty(): boolean {
    return this.length === 0;
  }

  min(property?: string): Value | undefined {
    return this.aggregate('min', property);
  }
  max(property?: string): Value | undefined {
    return this.aggregate('max', property);
  }
  sum(property?: string): number {
    return (this.aggregate('sum', property) as number | undefined) ?? 0;
  }
  avg(property?: string): number | undefined {
    return this.aggregate('avg', property) as number | undefined;
  }

  private aggregate(operation: AggregateOperation, property?: string): Value | undefined {
    if (this.isLinks) {
      if (!property) throw new TributaryError('INVALID_ARGUMENT', `${operation}() on a list of objects needs a property name`);
      return this.asResults(`${operation}()`)[operation](property) as Value | undefined;
    }
    checkAggregate(operation, { ...this.property, type: this.property.objectType as PropertySchema['type'] }, this.where);
    return aggregateValues(operation, this.toArray() as Value[]);
  }

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
    if (!this.isValid()) return [];
    return this.wire()
      .filter((e) => !e.dead)
      .map((e) => (this.isLinks ? keyString(e.value as ObjectKey) : valueKey(e.value)));
  }
  /** @internal */
  _elementTouched(changes: CommitChanges, key: string): boolean {
    return this.isLinks && touched(changes, this.property.objectType!, key);
  }
  /** @internal */
  _listenerIdentity(): unknown {
    return `${this.parentType}\u0000${keyString(this.id)}\u0000${this.property.name}`;
  }
}

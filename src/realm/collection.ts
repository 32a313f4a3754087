import { TributaryError } from '../errors';
import { plainValue, REALM_VALUE } from './plain';

const INDEX = /^(0|[1-9]\d*)$/;

const handler: ProxyHandler<Collection<unknown>> = {
  get(target, name, receiver) {
    if (typeof name === 'string' && INDEX.test(name)) return target.elementAt(Number(name));
    return Reflect.get(target, name, receiver);
  },
  set(target, name, value, receiver) {
    if (typeof name === 'string' && INDEX.test(name)) {
      target.setElementAt(Number(name), value);
      return true;
    }
    return Reflect.set(target, name, value, receiver);
  },
  has(target, name) {
    if (typeof name === 'string' && INDEX.test(name)) return Number(name) < target.length;
    return Reflect.has(target, name);
  },
  // Only the indices are own keys (`for…in`, Object.keys, spread give indices, as with arrays);
  // the instance's internal fields stay out of enumeration.
  ownKeys(target) {
    const keys: (string | symbol)[] = [];
    for (let i = 0; i < target.length; i++) keys.push(String(i));
    for (const k of Reflect.ownKeys(target)) if (!Reflect.getOwnPropertyDescriptor(target, k)?.configurable) keys.push(k);
    return keys;
  },
  getOwnPropertyDescriptor(target, name) {
    if (typeof name === 'string' && INDEX.test(name)) {
      const i = Number(name);
      if (i >= target.length) return undefined;
      return { value: target.elementAt(i), writable: true, enumerable: true, configurable: true };
    }
    const d = Reflect.getOwnPropertyDescriptor(target, name);
    return d && d.configurable ? { ...d, enumerable: false } : d;
  },
};

/**
 * Base of Results and List: array-like (index access, `length`, iteration) with the read-only
 * Array methods. Subclasses supply `length` and `elementAt`; the constructor returns a Proxy so
 * `collection[3]` works.
 */
export abstract class Collection<T> implements Iterable<T> {
  /** Index access (served by the Proxy). */
  [index: number]: T;

  constructor() {
    return new Proxy(this, handler as ProxyHandler<this>);
  }

  /** @internal marks realm values for plainValue (plain.ts). */
  get [REALM_VALUE](): boolean {
    return true;
  }

  abstract get length(): number;
  /** The element at a user-visible index, undefined when out of range. */
  abstract elementAt(index: number): T | undefined;

  setElementAt(index: number, value: unknown): void {
    void index;
    void value;
    throw new TributaryError('READ_ONLY', `${this.constructor.name} is read-only; assign through a List or an object property`);
  }

  /** A plain array of the current elements. */
  toArray(): T[] {
    const out: T[] = [];
    const n = this.length;
    for (let i = 0; i < n; i++) out.push(this.elementAt(i) as T);
    return out;
  }

  *[Symbol.iterator](): Iterator<T> {
    yield* this.toArray();
  }
  values(): IterableIterator<T> {
    return this.toArray().values();
  }
  keys(): IterableIterator<number> {
    return this.toArray().keys();
  }
  entries(): IterableIterator<[number, T]> {
    return this.toArray().entries();
  }
  forEach(fn: (value: T, index: number, collection: this) => void): void {
    this.toArray().forEach((v, i) => fn(v, i, this));
  }
  map<U>(fn: (value: T, index: number, collection: this) => U): U[] {
    return this.toArray().map((v, i) => fn(v, i, this));
  }
  filter(fn: (value: T, index: number, collection: this) => unknown): T[] {
    return this.toArray().filter((v, i) => fn(v, i, this));
  }
  find(fn: (value: T, index: number, collection: this) => unknown): T | undefined {
    return this.toArray().find((v, i) => fn(v, i, this));
  }
  findIndex(fn: (value: T, index: number, collection: this) => unknown): number {
    return this.toArray().findIndex((v, i) => fn(v, i, this));
  }
  some(fn: (value: T, index: number, collection: this) => unknown): boolean {
    return this.toArray().some((v, i) => fn(v, i, this));
  }
  every(fn: (value: T, index: number, collection: this) => unknown): boolean {
    return this.toArray().every((v, i) => fn(v, i, this));
  }
  reduce<U = T>(fn: (acc: U, value: T, index: number, collection: this) => U, ...initial: [U?]): U {
    const items = this.toArray();
    const f = (acc: unknown, v: T, i: number) => fn(acc as U, v, i, this);
    return (initial.length ? items.reduce(f, initial[0]) : (items as unknown[]).reduce(f as never)) as U;
  }
  reduceRight<U = T>(fn: (acc: U, value: T, index: number, collection: this) => U, ...initial: [U?]): U {
    const items = this.toArray();
    const f = (acc: unknown, v: T, i: number) => fn(acc as U, v, i, this);
    return (initial.length ? items.reduceRight(f, initial[0]) : (items as unknown[]).reduceRight(f as never)) as U;
  }
  flatMap<U>(fn: (value: T, index: number, collection: this) => U | readonly U[]): U[] {
    return this.toArray().flatMap((v, i) => fn(v, i, this));
  }
  concat(...items: unknown[]): unknown[] {
    return (this.toArray() as unknown[]).concat(...items.map((x) => (x instanceof Collection ? x.toArray() : x)));
  }
  lastIndexOf(value: unknown): number {
    const items = this.toArray();
    for (let i = items.length - 1; i >= 0; i--) if (this.sameElement(items[i], value)) return i;
    return -1;
  }
  at(index: number): T | undefined {
    const i = Math.trunc(index) || 0;
    return this.elementAt(i < 0 ? this.length + i : i);
  }
  toString(): string {
    return this.toArray().join(',');
  }
  toLocaleString(): string {
    return this.toArray().toLocaleString();
  }
  slice(start?: number, end?: number): T[] {
    return this.toArray().slice(start, end);
  }
  join(separator?: string): string {
    return this.toArray().join(separator);
  }
  includes(value: unknown): boolean {
    return this.indexOf(value) >= 0;
  }
  indexOf(value: unknown): number {
    const items = this.toArray();
    for (let i = 0; i < items.length; i++) if (this.sameElement(items[i], value)) return i;
    return -1;
  }
  /** Element equality for indexOf (objects compare by identity key). */
  protected sameElement(a: unknown, b: unknown): boolean {
    return a === b;
  }
  /** A plain array; objects become plain objects (see RealmObject.toJSON). */
  toJSON(_key?: string, seen?: Set<unknown>): unknown[] {
    return this.toArray().map((v) => plainValue(v, seen ?? new Set()));
  }
}

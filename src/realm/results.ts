import { readValue } from '../changeset';
import { TributaryError } from '../errors';
import { Decimal128, ObjectId, UUID, parseKeyString, type ObjectKey, type Value } from '../model';
import { Collection } from './collection';
import type { RealmContext } from './context';
import { sameObject } from './object-internals';

type KeySource = () => readonly ObjectKey[];
export type SortDescriptor = string | ReadonlyArray<string | [string, boolean]>;

/**
 * A live, lazily evaluated collection of objects of one type, in local creation order unless
 * sorted. The key list is recomputed only when the replica's data changed since the last read.
 * (Queries with `filtered` and change listeners come with the query-language issue; they will be
 * further KeySource stages.)
 */
export class Results<T = unknown> extends Collection<T> {
  private cachedAt = -1;
  private cached: readonly ObjectKey[] = [];

  constructor(
    private readonly ctx: RealmContext,
    readonly type: string,
    private readonly source: KeySource = () => ctx.replica.objectKeys(type).map(parseKeyString),
    private readonly frozen = false,
  ) {
    super();
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

  get length(): number {
    if (this.frozen) return this.currentKeys().filter((k) => this.ctx.record(this.type, k)).length;
    return this.currentKeys().length;
  }

  elementAt(index: number): T | undefined {
    const keys = this.frozen ? this.currentKeys().filter((k) => this.ctx.record(this.type, k)) : this.currentKeys();
    if (index < 0 || index >= keys.length) return undefined;
    return this.ctx.object(this.type, keys[index]) as T;
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

  /** A frozen copy: the same objects whatever is written later (deleted ones drop out). */
  snapshot(): Results<T> {
    const keys = [...this.currentKeys()];
    return new Results<T>(this.ctx, this.type, () => keys, true);
  }

  /**
   * Sorted by one or more properties (`'name'`, `['age', true]` descending, key paths through
   * links `'owner.name'`). Nulls sort first ascending.
   */
  sorted(descriptor: SortDescriptor, reverse = false): Results<T> {
    const specs: [string, boolean][] =
      typeof descriptor === 'string' ? [[descriptor, reverse]] : descriptor.map((d) => (typeof d === 'string' ? [d, false] : [d[0], !!d[1]]));
    for (const [path] of specs) this.resolvePath(path); // validate now, not on first read
    const parent = this.source;
    return new Results<T>(this.ctx, this.type, () => {
      const keys = [...parent()];
      const rows = keys.map((k) => ({ k, v: specs.map(([p]) => this.valueAt(k, p)) }));
      rows.sort((a, b) => {
        for (let i = 0; i < specs.length; i++) {
          const c = compareValues(a.v[i], b.v[i]);
          if (c !== 0) return specs[i][1] ? -c : c;
        }
        return 0;
      });
      return rows.map((r) => r.k);
    });
  }

  /** The query language arrives with its own issue; until then this says so clearly. */
  filtered(query: string): never {
    throw new TributaryError('INVALID_ARGUMENT', `Results.filtered('${query}') is not supported yet by this version of Tributary`);
  }

  min(property: string): Value | undefined {
    const vs = this.numbers(property);
    return vs.length ? vs.reduce((a, b) => (compareValues(a, b) <= 0 ? a : b)) : undefined;
  }
  max(property: string): Value | undefined {
    const vs = this.numbers(property);
    return vs.length ? vs.reduce((a, b) => (compareValues(a, b) >= 0 ? a : b)) : undefined;
  }
  sum(property: string): number {
    return this.numbers(property).reduce<number>((a, b) => a + (b as number), 0);
  }
  avg(property: string): number | undefined {
    const vs = this.numbers(property);
    return vs.length ? vs.reduce<number>((a, b) => a + (b as number), 0) / vs.length : undefined;
  }

  private numbers(property: string): Value[] {
    this.resolvePath(property);
    return this.currentKeys()
      .map((k) => this.valueAt(k, property))
      .filter((v) => v !== null && v !== undefined);
  }

  private resolvePath(path: string): void {
    let type = this.type;
    for (const part of path.split('.')) {
      const p = this.ctx.objectSchema(type).properties.find((q) => q.name === part);
      if (!p) throw new TributaryError('INVALID_ARGUMENT', `'${path}': no property '${part}' on ${type}`);
      if (p.type === 'object') type = p.objectType!;
    }
  }

  private valueAt(key: ObjectKey, path: string): Value {
    let type = this.type;
    let id: ObjectKey | null = key;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      if (id === null) return null;
      const schema = this.ctx.objectSchema(type);
      const record = this.ctx.record(type, id);
      if (!record) return null;
      const p = schema.properties.find((q) => q.name === parts[i])!;
      const v = readValue(schema, record, parts[i]);
      if (i === parts.length - 1) return v;
      type = p.objectType!;
      id = (v as ObjectKey | null) ?? null;
    }
    return null;
  }
}

function rank(v: Value): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (v instanceof Date) return 3;
  if (typeof v === 'string') return 4;
  return 5;
}

/** Orders values for sorting: null < bool < number < date < string < others (by text). */
export function compareValues(a: Value, b: Value): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  if (typeof a === 'boolean' || typeof a === 'number') return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  const ta = a instanceof ObjectId || a instanceof UUID || a instanceof Decimal128 ? a.toString() : String(a);
  const tb = b instanceof ObjectId || b instanceof UUID || b instanceof Decimal128 ? b.toString() : String(b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

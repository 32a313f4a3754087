import { TributaryError } from '../errors';
import { Decimal128, ObjectId, UUID, type PropertySchema, type Value } from '../model';
import type { RealmContext } from './context';
import type { AggregateOperation } from './query-bridge';

/**
 * Key-path checks done when a sort or aggregate is declared (so a bad path fails at once, not on
 * the first read), and ordering/aggregates over lists of primitives (objects go through src/query).
 */

/** Checks a key path (`'owner.name'`) and returns its last property. */
export function resolveKeyPath(ctx: RealmContext, type: string, path: string): PropertySchema {
  let current = type;
  const parts = path.split('.');
  let prop: PropertySchema | undefined;
  for (let i = 0; i < parts.length; i++) {
    prop = ctx.objectSchema(current).properties.find((q) => q.name === parts[i]);
    if (!prop) throw new TributaryError('INVALID_QUERY', `'${path}': no property '${parts[i]}' on ${current}`);
    if (i < parts.length - 1) {
      if (prop.type !== 'object') throw new TributaryError('INVALID_QUERY', `'${path}': '${parts[i]}' is not a link`);
      current = prop.objectType!;
    }
  }
  return prop!;
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

const NUMERIC = new Set(['int', 'float', 'double', 'decimal128']);

/** Checks that `operation` applies to a property of this type (realm-js rejects min('name')). */
export function checkAggregate(operation: AggregateOperation, prop: PropertySchema, path: string): void {
  const ok = operation === 'min' || operation === 'max' ? NUMERIC.has(prop.type) || prop.type === 'date' : NUMERIC.has(prop.type);
  if (!ok) throw new TributaryError('INVALID_QUERY', `Cannot ${operation} property '${path}': operation not supported for '${prop.type}' properties`);
}

/** Aggregates over non-null values: sum of nothing is 0, the others undefined. */
export function aggregateValues(operation: AggregateOperation, values: readonly Value[]): Value | undefined {
  const vs = values.filter((v) => v !== null && v !== undefined);
  const num = (v: Value) => (v instanceof Decimal128 ? Number(v.toString()) : (v as number));
  switch (operation) {
    case 'sum':
      return vs.reduce<number>((a, b) => a + num(b), 0);
    case 'avg':
      return vs.length ? vs.reduce<number>((a, b) => a + num(b), 0) / vs.length : undefined;
    case 'min':
      return vs.length ? vs.reduce((a, b) => (compareValues(a, b) <= 0 ? a : b)) : undefined;
    case 'max':
      return vs.length ? vs.reduce((a, b) => (compareValues(a, b) >= 0 ? a : b)) : undefined;
  }
}

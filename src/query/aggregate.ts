import type { ObjectRecord } from '../changeset/state';
import { TributaryError } from '../errors';
import { isPrimitiveType, type Value } from '../model';
import { aggregateValues, type AggregateOp } from './aggregate-values';
import { chainSingle, resolvePath } from './paths';
import { segmentsOf } from './post';
import type { QueryStore } from './types';

const NUMERIC = new Set(['int', 'float', 'double', 'decimal128', 'mixed']);

/**
 * `Results.min/max/sum/avg(property)`: nulls are skipped; `sum` of no values is 0; `min`, `max`
 * and `avg` of no values are `undefined` (as in realm-js). `min`/`max` also work on dates.
 * The property may be a key path through single links.
 *
 * @example
 * aggregate(store, 'Person', records, 'avg', 'age'); // 41.5
 */
export function aggregate(store: QueryStore, type: string, records: ObjectRecord[], op: AggregateOp, property: string): number | Date | null | undefined {
  if (!['min', 'max', 'sum', 'avg'].includes(op)) throw new TributaryError('INVALID_ARGUMENT', `unknown aggregate '${String(op)}'`);
  if (typeof property !== 'string' || property === '') throw new TributaryError('INVALID_ARGUMENT', `${op}() needs a property name`);
  const resolved = resolvePath(store, property, type, segmentsOf(property), 0);
  const kind = resolved.terminal.type.kind;
  if (resolved.terminal.many || resolved.hops.some((h) => h.many) || !isPrimitiveType(kind)) {
    throw new TributaryError('INVALID_QUERY', `cannot ${op} '${type}.${property}': it is not a single numeric${op === 'min' || op === 'max' ? ' or date' : ''} property`);
  }
  if (!(NUMERIC.has(kind) || ((op === 'min' || op === 'max') && kind === 'date'))) {
    throw new TributaryError('INVALID_QUERY', `cannot ${op} '${type}.${property}': operation not supported for ${kind} properties`);
  }
  const read = chainSingle(resolved.hops, resolved.terminal);
  const values: Value[] = records.map((r) => read(r, store));
  const result = aggregateValues(op, values);
  if (result === null) return op === 'sum' ? 0 : undefined;
  return result as number | Date;
}

import type { Value } from '../model';
import { isNumeric, toNumber } from './values';

export type AggregateOp = 'sum' | 'avg' | 'min' | 'max';

/**
 * Realm's collection aggregates over a set of values. Nulls (and, in mixed lists, values that are
 * not numbers or dates) are ignored. `@sum` of nothing is 0; `@avg`, `@min` and `@max` of
 * nothing are null. Decimal128 values take part as JavaScript numbers.
 */
export function aggregateValues(op: AggregateOp, values: Value[]): Value {
  if (op === 'sum' || op === 'avg') {
    let sum = 0;
    let n = 0;
    for (const v of values) {
      if (typeof v === 'number') sum += v;
      else if (isNumeric(v)) sum += toNumber(v);
      else continue;
      n++;
    }
    if (op === 'sum') return sum;
    return n === 0 ? null : sum / n;
  }
  let best: number | Date | null = null;
  const sign = op === 'min' ? -1 : 1;
  for (const v of values) {
    if (v instanceof Date) {
      if (best === null || (best instanceof Date && sign * (v.getTime() - best.getTime()) > 0)) best = v;
    } else if (isNumeric(v)) {
      const x = toNumber(v);
      if (Number.isNaN(x)) continue;
      if (best === null || (typeof best === 'number' && sign * (x - best) > 0)) best = x;
    }
  }
  return best;
}

import type { AddInteger, Create, SetValues } from '../changeset';
import type { Value } from '../model';

type Writes = Create | SetValues;

/**
 * Set vs Set (a Create acts as a Set of its values): per property, the later write wins, except
 * that a value listed in `defaults` loses to a real write whatever the time. The loser drops the
 * property; a Set left with no values is dropped, a Create is kept (it may still create).
 */
export function transformWrites(a: Writes, b: Writes, aLater: boolean): [Writes | null, Writes | null] {
  let aDrop: string[] | undefined;
  let bDrop: string[] | undefined;
  for (const name of Object.keys(a.values)) {
    if (!(name in b.values)) continue;
    const aDefault = isDefault(a, name);
    const bDefault = isDefault(b, name);
    const aWins = aDefault !== bDefault ? bDefault : aLater;
    if (aWins) (bDrop ??= []).push(name);
    else (aDrop ??= []).push(name);
  }
  return [without(a, aDrop), without(b, bDrop)];
}

/**
 * AddInteger vs a write of the same property. A write that is earlier (or only a default) absorbs
 * the delta, so it lands on the value the counter had on the other side; null stays null (adding
 * to null is a no-op in the applier). A later real write overwrites the counter, so the
 * AddInteger is dropped.
 */
export function transformAddVsWrite(add: AddInteger, w: Writes, addLater: boolean): [AddInteger | null, Writes | null] {
  if (!(add.property in w.values)) return [add, w];
  const writeEarlier = isDefault(w, add.property) || addLater;
  if (!writeEarlier) return [null, w];
  const v = w.values[add.property];
  if (typeof v !== 'number') return [add, w];
  return [add, { ...w, values: { ...w.values, [add.property]: (v + add.delta) as Value } }];
}

function isDefault(w: Writes, name: string): boolean {
  return w.defaults !== undefined && w.defaults.includes(name);
}

function without(w: Writes, drop: string[] | undefined): Writes | null {
  if (!drop) return w;
  const values: Record<string, Value> = {};
  for (const [k, v] of Object.entries(w.values)) if (!drop.includes(k)) values[k] = v;
  const out: Writes = { ...w, values };
  if (w.defaults) {
    const defaults = w.defaults.filter((d) => !drop.includes(d));
    if (defaults.length > 0) out.defaults = defaults;
    else delete out.defaults;
  }
  if (out.op === 'Set' && Object.keys(values).length === 0) return null;
  return out;
}

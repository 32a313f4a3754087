import { keyString, type ObjectKey } from '../model';
import type { RealmContext } from './context';

export interface ObjectInternals {
  ctx: RealmContext;
  type: string;
  id: ObjectKey;
}

/** Live objects (both the Proxy and its target) → what they are. */
export const internals = new WeakMap<object, ObjectInternals>();

/** The internals of a live object, or undefined for anything else. */
export function objectInternals(value: unknown): ObjectInternals | undefined {
  return typeof value === 'object' && value !== null ? internals.get(value) : undefined;
}

/** True when both are live objects of the same type and identity (in any realm instance). */
export function sameObject(a: unknown, b: unknown): boolean {
  const x = objectInternals(a);
  const y = objectInternals(b);
  return !!x && !!y && x.type === y.type && keyString(x.id) === keyString(y.id);
}

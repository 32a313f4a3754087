import type { CompareOp } from './ast';
import type { ValueType } from './types';

/** Kinds of values that may be compared with each other. `any` (mixed) and `null` fit every category. */
export type Category = 'number' | 'bool' | 'string' | 'date' | 'data' | 'objectId' | 'uuid' | 'link' | 'any' | 'null';

export function categoryOf(t: ValueType): Category {
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'double':
    case 'decimal128':
      return 'number';
    case 'mixed':
      return 'any';
    default:
      return t.kind;
  }
}

const ORDERED = new Set<Category>(['number', 'date', 'string', 'objectId', 'uuid', 'any', 'null']);
const STRINGY = new Set<Category>(['string', 'data', 'any', 'null']);

export function describeType(t: ValueType): string {
  if (t.kind === 'link') return `a link to ${t.objectType}`;
  if (t.kind === 'null') return 'null';
  return t.kind === 'int' ? 'an int' : `a ${t.kind}`;
}

/**
 * Checks that an operator applies to two operand types; returns an error message or undefined.
 * Mirrors Realm: no ordering on bool, data or links; string operators on strings and data only;
 * [c] and [d] on strings only; links compare only with links to the same type or null.
 */
export function checkComparison(op: CompareOp, a: ValueType, b: ValueType, caseInsensitive: boolean, diacriticInsensitive: boolean): string | undefined {
  const ca = categoryOf(a);
  const cb = categoryOf(b);
  const label = op === 'in' || op === 'between' ? op.toUpperCase() : ['==', '!=', '<', '<=', '>', '>='].includes(op) ? `'${op}'` : op.toUpperCase();
  if (ca !== 'any' && cb !== 'any' && ca !== 'null' && cb !== 'null' && ca !== cb) {
    return `cannot compare ${describeType(a)} with ${describeType(b)}`;
  }
  if (ca === 'link' && cb === 'link' && a.objectType !== b.objectType) return `cannot compare ${describeType(a)} with ${describeType(b)}`;
  const cat = ca === 'null' || ca === 'any' ? cb : ca;
  if (op === '<' || op === '<=' || op === '>' || op === '>=' || op === 'between') {
    if (!ORDERED.has(cat)) return `${label} is not supported for ${describeType(cat === ca ? a : b)} (only numbers, dates, strings, objectIds and uuids are ordered)`;
  } else if (op === 'beginswith' || op === 'endswith' || op === 'contains' || op === 'like') {
    if (!STRINGY.has(cat)) return `${label} needs strings or binary data, not ${describeType(cat === ca ? a : b)}`;
  }
  if ((caseInsensitive || diacriticInsensitive) && cat !== 'string' && cat !== 'any' && cat !== 'null') {
    return `the [${caseInsensitive ? 'c' : ''}${diacriticInsensitive ? 'd' : ''}] modifier only applies to strings, not ${describeType(cat === ca ? a : b)}`;
  }
  return undefined;
}

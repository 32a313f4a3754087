/**
 * A string key per `_id` value, so each collection can be a Map and `_id` uniqueness is a map
 * lookup. Two `_id`s get the same key exactly when MongoDB's unique `_id_` index treats them as equal:
 * numbers by value across int32/int64/double (1, Long(1) and 1.0 collide), everything else by type
 * and value. Embedded documents keep field order, as index keys do.
 */
import { isPlainDocument, typeName } from './bson-values';
import { fail } from './errors';

function numberKey(value: unknown): string {
  const t = typeName(value);
  if (t === 'long') return `n${(value as { toString(): string }).toString()}`;
  const n = t === 'decimal' ? Number.parseFloat(String(value)) : Number((value as { valueOf(): unknown }).valueOf());
  if (Number.isInteger(n) && !Object.is(n, -0)) return `n${BigInt(n).toString()}`;
  return Object.is(n, -0) ? 'n0' : `n${n}`;
}

export function idKey(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return numberKey(value);
    case 'boolean':
      return value ? 'b1' : 'b0';
    default:
      break;
  }
  if (value === null || value === undefined) return 'z';
  if (Array.isArray(value)) fail('InvalidIdField', `The '_id' value cannot be of type array`);
  if (value instanceof Date) return `t${value.getTime()}`;
  if (isPlainDocument(value)) {
    let key = 'O{';
    for (const k of Object.keys(value)) key += `${JSON.stringify(k)}:${idKey(value[k])},`;
    return `${key}}`;
  }
  const t = typeName(value);
  switch (t) {
    case 'objectId':
      return `o${(value as { toHexString(): string }).toHexString()}`;
    case 'int':
    case 'double':
    case 'long':
    case 'decimal':
      return numberKey(value);
    case 'binData': {
      const b = value as { sub_type: number; toString(encoding: 'base64'): string };
      return `B${b.sub_type}:${b.toString('base64')}`;
    }
    case 'timestamp': {
      const ts = value as { t: number; i: number };
      return `T${ts.t}:${ts.i}`;
    }
    case 'regex':
      fail('InvalidIdField', `can't use a regex for _id`);
    // eslint-disable-next-line no-fallthrough
    default:
      return `${t}:${String(value)}`;
  }
}

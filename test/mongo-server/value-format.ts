/**
 * Values rendered the way mongod writes them into error messages, e.g. the duplicate-key message
 * `E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: "a" }`. Connectors should
 * never parse these texts (they match on `code`), but tests and people read them.
 */
import type { Document } from 'mongodb';
import { isPlainDocument, typeName } from './bson-values';

export function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[ ${value.map(formatValue).join(', ')} ]`;
  if (isPlainDocument(value)) return formatDocument(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  switch (typeName(value)) {
    case 'objectId':
      return `ObjectId('${(value as { toHexString(): string }).toHexString()}')`;
    case 'int':
    case 'double':
    case 'decimal':
      return String((value as { valueOf(): unknown }).valueOf());
    case 'long':
      return (value as { toString(): string }).toString();
    case 'timestamp': {
      const ts = value as { t: number; i: number };
      return `Timestamp(${ts.t}, ${ts.i})`;
    }
    default:
      return String(value);
  }
}

export function formatDocument(doc: Document): string {
  const keys = Object.keys(doc);
  if (keys.length === 0) return '{}';
  return `{ ${keys.map((k) => `${k}: ${formatValue(doc[k])}`).join(', ')} }`;
}

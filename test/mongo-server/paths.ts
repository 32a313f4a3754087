/**
 * Reading dotted paths the way the query language does: `a.b` looks into `a` when it is a document,
 * into each document element when `a` is an array, and `a.2` also indexes into an array. A path can
 * therefore yield several values; `undefined` stands for a branch where the field is missing.
 */
import type { Document } from 'mongodb';
import { isPlainDocument } from './bson-values';

export function splitPath(path: string): string[] {
  return path.split('.');
}

export function isArrayIndex(part: string): boolean {
  return part.length > 0 && part.length < 10 && /^[0-9]+$/.test(part) && (part === '0' || part[0] !== '0');
}

/** Every value `parts` reaches inside `value` (leaf arrays are returned whole; callers expand them). */
export function collectPath(value: unknown, parts: readonly string[], from = 0, out: unknown[] = []): unknown[] {
  if (from === parts.length) {
    out.push(value);
    return out;
  }
  const part = parts[from]!;
  if (Array.isArray(value)) {
    const before = out.length;
    if (isArrayIndex(part)) {
      const index = Number(part);
      if (index < value.length) collectPath(value[index], parts, from + 1, out);
    }
    for (const element of value) if (isPlainDocument(element)) collectPath(element, parts, from, out);
    if (out.length === before) out.push(undefined);
    return out;
  }
  if (isPlainDocument(value)) return collectPath(value[part], parts, from + 1, out);
  out.push(undefined);
  return out;
}

/** The single value at a path without array traversal (what `$group` and `$project` field paths read). */
export function getPathPlain(doc: Document, parts: readonly string[]): unknown {
  let value: unknown = doc;
  for (const part of parts) {
    if (isPlainDocument(value)) value = value[part];
    else if (Array.isArray(value)) {
      // `$a.b` over an array of documents yields the array of each element's `b`, as in aggregation.
      value = value.filter(isPlainDocument).map((e) => e[part]).filter((v) => v !== undefined);
    } else return undefined;
  }
  return value;
}

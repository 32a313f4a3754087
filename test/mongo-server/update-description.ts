/**
 * The `updateDescription` of an update change event, computed from the document before and after
 * and the paths the update's operators wrote — so it reads like MongoDB's: `$set: { 'items.3': x }`
 * reports `items.3`; a field created under a missing parent is reported at the first missing level;
 * `$push` reports the appended elements by index (`tags.2`); a `$pop` of the last element (or any
 * change that leaves a prefix of the old array) is a `truncatedArrays` entry; any other change to an
 * array written by an array operator reports the whole array; `$unset` lists `removedFields`.
 * The spec leaves the choice between equivalent descriptions to the server: a consumer must apply
 * updatedFields/removedFields/truncatedArrays, not compare them with expected literals.
 */
import type { Document } from 'mongodb';
import { identical } from './bson-values';
import { getChild } from './document-writer';
import type { TouchedPath } from './update';

export interface UpdateDescription {
  updatedFields: Document;
  removedFields: string[];
  truncatedArrays: Array<{ field: string; newSize: number }>;
}

const ARRAY_OPERATORS = new Set(['$push', '$addToSet', '$pop', '$pull', '$pullAll']);

function valueAt(doc: unknown, parts: readonly string[], length = parts.length): unknown {
  let node = doc;
  for (let i = 0; i < length; i++) {
    node = getChild(node, parts[i]!);
    if (node === undefined) return undefined;
  }
  return node;
}

export function describeUpdate(before: Document, after: Document, touched: readonly TouchedPath[]): UpdateDescription {
  const description: UpdateDescription = { updatedFields: {}, removedFields: [], truncatedArrays: [] };
  const reported: string[] = [];
  const covered = (path: string): boolean => reported.some((r) => path === r || path.startsWith(r + '.'));
  const report = (path: string, value: unknown): void => {
    if (covered(path)) return;
    description.updatedFields[path] = value;
    reported.push(path);
  };
  for (const { path, operator } of touched) {
    const parts = path.split('.');
    // A write whose parent did not exist (or was an array that had to grow) shows up at the first
    // level that changed shape.
    let shallowest = -1;
    for (let i = 0; i < parts.length; i++) {
      const old = valueAt(before, parts, i + 1);
      if (old === undefined) {
        shallowest = i;
        break;
      }
    }
    for (let i = 0; i < parts.length - 1; i++) {
      const oldParent = valueAt(before, parts, i + 1);
      const newParent = valueAt(after, parts, i + 1);
      if (Array.isArray(oldParent) && Array.isArray(newParent) && newParent.length > oldParent.length + 1) {
        shallowest = shallowest === -1 ? i : Math.min(shallowest, i);
        break;
      }
    }
    if (shallowest !== -1 && shallowest < parts.length - 1) {
      const prefix = parts.slice(0, shallowest + 1);
      const value = valueAt(after, prefix);
      if (value !== undefined) report(prefix.join('.'), value);
      continue;
    }
    const oldValue = valueAt(before, parts);
    const newValue = valueAt(after, parts);
    if (newValue === undefined) {
      if (oldValue !== undefined && !covered(path)) {
        description.removedFields.push(path);
        reported.push(path);
      }
      continue;
    }
    if (oldValue !== undefined && identical(oldValue, newValue)) continue;
    if (ARRAY_OPERATORS.has(operator) && Array.isArray(oldValue) && Array.isArray(newValue)) {
      describeArray(path, oldValue, newValue, description, report);
      continue;
    }
    report(path, newValue);
  }
  return description;
}

function describeArray(
  path: string,
  before: unknown[],
  after: unknown[],
  description: UpdateDescription,
  report: (path: string, value: unknown) => void,
): void {
  const common = Math.min(before.length, after.length);
  let samePrefix = true;
  for (let i = 0; i < common; i++) {
    if (!identical(before[i], after[i])) {
      samePrefix = false;
      break;
    }
  }
  if (samePrefix && after.length > before.length) {
    for (let i = before.length; i < after.length; i++) report(`${path}.${i}`, after[i]);
  } else if (samePrefix && after.length < before.length) {
    description.truncatedArrays.push({ field: path, newSize: after.length });
  } else {
    report(path, after);
  }
}

export function isEmptyDescription(d: UpdateDescription): boolean {
  return Object.keys(d.updatedFields).length === 0 && d.removedFields.length === 0 && d.truncatedArrays.length === 0;
}


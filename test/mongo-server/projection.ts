/**
 * find/$project projections: inclusion (`{ a: 1, 'b.c': 1 }`, `_id` kept unless `_id: 0`) or
 * exclusion (`{ a: 0 }`), over dotted paths and arrays of documents. Projection operators ($slice,
 * $elemMatch, $meta, positional `a.$`) and computed fields are refused with NotImplemented.
 */
import type { Document } from 'mongodb';
import { isNumeric, isPlainDocument, toNumber } from './bson-values';
import { ErrorCode, fail, MongoCommandError } from './errors';

interface Tree {
  [field: string]: Tree | true;
}

export type Projector = (doc: Document) => Document;

export function compileProjection(spec: Document | undefined | null): Projector {
  if (spec == null) return (doc) => doc;
  if (!isPlainDocument(spec)) fail('TypeMismatch', 'projection must be an object');
  const keys = Object.keys(spec);
  if (keys.length === 0) return (doc) => doc;
  let mode: 'include' | 'exclude' | undefined;
  let includeId = true;
  const tree: Tree = {};
  for (const path of keys) {
    const value = spec[path];
    if (isPlainDocument(value) || typeof value === 'string' || path.includes('$')) {
      throw new MongoCommandError(ErrorCode.NotImplemented, `projection operators and expressions (${path}) are not implemented by the test server`);
    }
    const include = isNumeric(value) ? toNumber(value) !== 0 : Boolean(value);
    if (path === '_id') {
      includeId = include;
      if (include) continue;
      if (keys.length === 1) mode = 'exclude';
      continue;
    }
    if (mode === undefined) mode = include ? 'include' : 'exclude';
    else if ((mode === 'include') !== include) {
      throw new MongoCommandError(
        mode === 'include' ? 31254 : 31253,
        mode === 'include' ? `Cannot do exclusion on field ${path} in inclusion projection` : `Cannot do inclusion on field ${path} in exclusion projection`,
      );
    }
    addPath(tree, path);
  }
  if (mode === undefined) mode = 'include'; // `{ _id: 1 }` alone: only _id.
  if (mode === 'include') {
    return (doc) => {
      const out: Document = {};
      if (includeId && '_id' in doc) out._id = doc._id;
      Object.assign(out, include(doc, tree));
      return out;
    };
  }
  if (!includeId) tree._id = true;
  return (doc) => exclude(doc, tree);
}

function addPath(tree: Tree, path: string): void {
  const parts = path.split('.');
  let node = tree;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    const existing = node[part];
    if (existing === true || (last && existing !== undefined)) throw new MongoCommandError(31250, `Path collision at ${path}`);
    if (last) node[part] = true;
    else node = (node[part] ??= {}) as Tree;
  }
}

function include(doc: Document, tree: Tree): Document {
  const out: Document = {};
  for (const key of Object.keys(doc)) {
    const node = tree[key];
    if (node === undefined) continue;
    if (node === true) out[key] = doc[key];
    else {
      const projected = includeValue(doc[key], node);
      if (projected !== undefined) out[key] = projected;
    }
  }
  return out;
}

function includeValue(value: unknown, tree: Tree): unknown {
  if (isPlainDocument(value)) return include(value, tree);
  if (Array.isArray(value)) {
    return value.map((e) => (isPlainDocument(e) || Array.isArray(e) ? includeValue(e, tree) : undefined)).filter((e) => e !== undefined);
  }
  return undefined;
}

function exclude(doc: Document, tree: Tree): Document {
  const out: Document = {};
  for (const key of Object.keys(doc)) {
    const node = tree[key];
    if (node === true) continue;
    out[key] = node === undefined ? doc[key] : excludeValue(doc[key], node);
  }
  return out;
}

function excludeValue(value: unknown, tree: Tree): unknown {
  if (isPlainDocument(value)) return exclude(value, tree);
  if (Array.isArray(value)) return value.map((e) => excludeValue(e, tree));
  return value;
}

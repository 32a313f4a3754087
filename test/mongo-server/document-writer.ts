/**
 * Copy-on-write edits of a stored document. Stored documents are never mutated: the oplog, change
 * events, snapshots and pre-images all hold references to them. A DocumentWriter copies only the
 * containers along the paths it writes; everything else is shared with the original.
 */
import type { Document } from 'mongodb';
import { isPlainDocument } from './bson-values';
import { ErrorCode, MongoCommandError } from './errors';
import { isArrayIndex } from './paths';
import { formatDocument } from './value-format';

type Container = Document | unknown[];

export class DocumentWriter {
  readonly root: Document;
  private readonly owned = new Set<Container>();

  constructor(original: Document) {
    this.root = { ...original };
    this.owned.add(this.root);
  }

  private own(parent: Container, key: string, child: Container): Container {
    if (this.owned.has(child)) return child;
    const copy: Container = Array.isArray(child) ? child.slice() : { ...child };
    this.owned.add(copy);
    setChild(parent, key, copy);
    return copy;
  }

  /**
   * The (owned, writable) container holding the last part of `parts`, creating missing documents
   * on the way when `create` is set. Undefined when the path does not exist and `create` is unset.
   */
  parentOf(parts: readonly string[], create: boolean): { parent: Container; key: string } | undefined {
    let node: Container = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      let child = getChild(node, part);
      if (child === undefined) {
        if (!create) return undefined;
        if (Array.isArray(node) && !isArrayIndex(part)) throw notViable(parts, i, node);
        child = {};
        this.owned.add(child as Document);
        setChild(node, part, child);
      } else if (isPlainDocument(child) || Array.isArray(child)) {
        child = this.own(node, part, child as Container);
      } else {
        if (!create) return undefined;
        throw notViable(parts, i + 1, child);
      }
      node = child as Container;
    }
    const key = parts[parts.length - 1]!;
    if (Array.isArray(node) && !isArrayIndex(key)) {
      if (!create) return undefined;
      throw notViable(parts, parts.length - 1, node);
    }
    return { parent: node, key };
  }

  get(parts: readonly string[]): unknown {
    let node: unknown = this.root;
    for (const part of parts) {
      node = getChild(node, part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  set(parts: readonly string[], value: unknown): void {
    const at = this.parentOf(parts, true)!;
    setChild(at.parent, at.key, value);
  }

  /** Removes a field; an array element is set to null instead (MongoDB's $unset on `a.1`). */
  unset(parts: readonly string[]): boolean {
    const at = this.parentOf(parts, false);
    if (!at) return false;
    if (Array.isArray(at.parent)) {
      const index = Number(at.key);
      if (index >= at.parent.length) return false;
      at.parent[index] = null;
      return true;
    }
    if (!(at.key in at.parent)) return false;
    delete at.parent[at.key];
    return true;
  }

  /** A writable copy of the array at `parts` (which must hold an array). */
  ownArray(parts: readonly string[]): unknown[] {
    const at = this.parentOf(parts, true)!;
    const current = getChild(at.parent, at.key) as unknown[];
    return this.own(at.parent, at.key, current) as unknown[];
  }
}

export function getChild(node: unknown, key: string): unknown {
  if (Array.isArray(node)) return isArrayIndex(key) ? node[Number(key)] : undefined;
  if (isPlainDocument(node)) return Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
  return undefined;
}

function setChild(node: Container, key: string, value: unknown): void {
  if (Array.isArray(node)) {
    const index = Number(key);
    // MongoDB pads with nulls when setting past the end of an array.
    while (node.length < index) node.push(null);
    node[index] = value;
  } else node[key] = value;
}

function notViable(parts: readonly string[], at: number, element: unknown): MongoCommandError {
  const field = parts[at]!;
  const holder = parts[at - 1] ?? parts[0]!;
  const shown = isPlainDocument(element) ? formatDocument(element) : `{ ${holder}: ${JSON.stringify(element) ?? String(element)} }`;
  return new MongoCommandError(ErrorCode.PathNotViable, `Cannot create field '${field}' in element ${shown}`);
}

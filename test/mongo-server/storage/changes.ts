/**
 * A change to one document, before it is committed: what a write statement produces, what a
 * transaction accumulates, and what a commit turns into a document version plus an oplog entry.
 */
import type { Document } from 'mongodb';
import type { UpdateDescription } from '../update-description';

export type DocumentChange =
  | { kind: 'insert'; db: string; coll: string; key: string; after: Document }
  | { kind: 'update'; db: string; coll: string; key: string; before: Document; after: Document; description: UpdateDescription }
  | { kind: 'replace'; db: string; coll: string; key: string; before: Document; after: Document }
  | { kind: 'delete'; db: string; coll: string; key: string; before: Document };

export function namespaceKey(db: string, coll: string): string {
  return `${db}.${coll}`;
}

export function lockKey(db: string, coll: string, key: string): string {
  return `${db}.${coll}\u0000${key}`;
}

/**
 * Open cursors: the results of a find/aggregate not yet returned, or a change stream's reader.
 * A find cursor holds the matching documents as of its first batch (stored documents are never
 * mutated, so the array is a consistent snapshot — MongoDB's snapshot read-concern behaviour, and a
 * valid outcome of its default one). Idle cursors are closed after `cursorTimeoutMs`, like mongod's
 * cursorTimeoutMillis.
 */
import { Long } from 'mongodb';
import type { Document } from 'mongodb';
import type { ChangeStreamReader } from './change-stream/stream-cursor';

export type CursorSource =
  | { kind: 'documents'; documents: Document[]; offset: number }
  | { kind: 'changeStream'; reader: ChangeStreamReader };

export interface Cursor {
  id: Long;
  /** `db.collection` as reported in replies (`db.$cmd.aggregate` for database-level aggregates). */
  ns: string;
  source: CursorSource;
  /** The session that opened it (getMore must come from the same one). */
  sessionId: string | undefined;
  /** The transaction it belongs to, if any: it is closed when that transaction ends. */
  transactionKey: string | undefined;
  lastUsed: number;
  /** Set while a getMore is running on it (a second concurrent getMore is refused). */
  busy: boolean;
}

export class CursorRegistry {
  private readonly cursors = new Map<string, Cursor>();

  open(fields: Omit<Cursor, 'id' | 'lastUsed' | 'busy'>): Cursor {
    let id: Long;
    do {
      // Positive, non-zero 63-bit ids (0 means "no cursor" on the wire).
      id = Long.fromBits((Math.random() * 0x100000000) >>> 0, ((Math.random() * 0x7fffffff) >>> 0) | 1);
    } while (this.cursors.has(id.toString()));
    const cursor: Cursor = { ...fields, id, lastUsed: Date.now(), busy: false };
    this.cursors.set(id.toString(), cursor);
    return cursor;
  }

  get(id: Long): Cursor | undefined {
    return this.cursors.get(id.toString());
  }

  close(id: Long): boolean {
    return this.cursors.delete(id.toString());
  }

  closeWhere(predicate: (cursor: Cursor) => boolean): void {
    for (const [key, cursor] of this.cursors) if (predicate(cursor)) this.cursors.delete(key);
  }

  closeAll(): void {
    this.cursors.clear();
  }

  expire(idleMs: number, now = Date.now()): void {
    this.closeWhere((c) => !c.busy && now - c.lastUsed > idleMs);
  }

  get size(): number {
    return this.cursors.size;
  }
}

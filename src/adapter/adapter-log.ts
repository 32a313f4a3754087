import type { ExtensionStorage } from '../store';
import type { AdapterInstruction } from './instructions';

const DDL = `
CREATE TABLE IF NOT EXISTS adapter_log (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  origin         TEXT NOT NULL,
  instructions   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS adapter_cursor (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  processed  INTEGER NOT NULL
);
INSERT OR IGNORE INTO adapter_cursor (id, processed) VALUES (0, 0);
`;

/**
 * JSON with Date and ArrayBuffer tagged (instruction values never hold other objects). Without
 * either, plain JSON: a replacer or reviver is a call into JavaScript for every key and value, and
 * made encoding and decoding the log a twentieth of the connector's CPU per row.
 */
export function encodeLogged(instructions: AdapterInstruction[]): string {
  if (!hasTagged(instructions)) return JSON.stringify(instructions);
  return JSON.stringify(instructions, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: raw.getTime() };
    if (raw instanceof ArrayBuffer) return { $data: Buffer.from(raw).toString('base64') };
    return value;
  });
}

export function decodeLogged(text: string): AdapterInstruction[] {
  // A tag is an object key, `"$date"` or `"$data"` in the text (inside a string its quotes are
  // escaped); without one the reviver would change nothing.
  if (!text.includes('"$date"') && !text.includes('"$data"')) return JSON.parse(text) as AdapterInstruction[];
  return JSON.parse(text, (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === '$date') return new Date(value.$date);
      if (keys.length === 1 && keys[0] === '$data') {
        const b = Buffer.from(value.$data, 'base64');
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      }
    }
    return value;
  }) as AdapterInstruction[];
}

/** Whether a Date or an ArrayBuffer is anywhere in `value`. */
function hasTagged(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Date || value instanceof ArrayBuffer) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (hasTagged(v)) return true;
    return false;
  }
  for (const key in value) if (hasTagged((value as Record<string, unknown>)[key])) return true;
  return false;
}

export interface LoggedTransaction {
  seq: number;
  instructions: AdapterInstruction[];
  /** 'download' for a server transaction, 'snapshot' for a bootstrap or client reset (the whole state as INSERTs). */
  origin: string;
}

/**
 * The Adapter's transaction log and cursor, kept as tables of a replica extension in the local
 * copy's own SQLite file. Rows are appended inside the replica's integrate transaction (so a crash
 * keeps both or neither); the cursor moves in its own durable transaction, which also drops the
 * processed rows.
 */
export class AdapterLog {
  private readonly stmt;

  constructor(private readonly storage: ExtensionStorage) {
    storage.exec(DDL);
    this.stmt = {
      append: storage.prepare('INSERT INTO adapter_log (origin, instructions) VALUES (?, ?)'),
      next: storage.prepare('SELECT seq, origin, instructions FROM adapter_log WHERE seq > ? ORDER BY seq LIMIT 1'),
      cursor: storage.prepare('SELECT processed FROM adapter_cursor WHERE id = 0'),
      setCursor: storage.prepare('UPDATE adapter_cursor SET processed = ? WHERE id = 0'),
      trim: storage.prepare('DELETE FROM adapter_log WHERE seq <= ?'),
      pending: storage.prepare('SELECT COUNT(*) AS n FROM adapter_log WHERE seq > ?'),
      all: storage.prepare('SELECT seq, origin, instructions FROM adapter_log WHERE seq > ? ORDER BY seq LIMIT ?'),
    };
  }

  /** Call from the replica's remote applier: the row joins the transaction integrating it. */
  append(origin: string, instructions: AdapterInstruction[]): void {
    this.stmt.append.run(origin, encodeLogged(instructions));
  }

  get processed(): number {
    return (this.stmt.cursor.get() as { processed: number }).processed;
  }

  next(): LoggedTransaction | undefined {
    const row = this.stmt.next.get(this.processed) as { seq: number; origin: string; instructions: string } | undefined;
    return row ? { seq: row.seq, origin: row.origin, instructions: decodeLogged(row.instructions) } : undefined;
  }

  /** Unprocessed transactions, oldest first (at most `limit`; -1 = all). */
  pending(limit = -1): LoggedTransaction[] {
    return (this.stmt.all.all(this.processed, limit) as { seq: number; origin: string; instructions: string }[]).map((r) => ({ seq: r.seq, origin: r.origin, instructions: decodeLogged(r.instructions) }));
  }

  get pendingCount(): number {
    return (this.stmt.pending.get(this.processed) as { n: number }).n;
  }

  /** Marks `seq` processed, durably (fsync), and forgets the rows up to it (outside any replica write). */
  advanceTo(seq: number): void {
    this.storage.transaction(() => {
      this.stmt.setCursor.run(seq);
      this.stmt.trim.run(seq);
    });
  }
}

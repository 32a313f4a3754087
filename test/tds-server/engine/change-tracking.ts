/**
 * Change Tracking as SQL Server models it: one record per primary key in a table's side table,
 * holding the version of the last change, the version of the row's creation (when it was created
 * while tracked), the last operation, the columns updated (TRACK_COLUMNS_UPDATED) and the
 * CHANGE_TRACKING_CONTEXT of the last change. CHANGETABLE(CHANGES t, @v) derives the net
 * operation since @v from that: D if the row is gone, I if it was created after @v, U otherwise.
 */
import { SqlValue } from './sql-types';

export interface ChangeRecord {
  /** The primary key values, in key order. */
  key: SqlValue[];
  version: number;
  creationVersion: number | null;
  lastOperation: 'I' | 'U' | 'D';
  /** The updates since the row was last inserted, for SYS_CHANGE_COLUMNS (TRACK_COLUMNS_UPDATED). */
  updates: Array<{ version: number; columns: number[] }>;
  context: Buffer | null;
}

export interface ChangeEvent {
  table: string;
  keyText: string;
  key: SqlValue[];
  operation: 'I' | 'U' | 'D';
  columns?: number[];
  context: Buffer | null;
}

export interface TableTracking {
  trackColumnsUpdated: boolean;
  /** The database version when tracking was enabled on the table. */
  beginVersion: number;
  /** The oldest version a client may sync from (CHANGE_TRACKING_MIN_VALID_VERSION). */
  minValidVersion: number;
  /** The version through which records were cleaned up. */
  cleanupVersion: number;
}

/** Applies one committed change, at `version`, to the table's records (a new map; the old one may be in a snapshot). */
export function applyChange(records: Map<string, ChangeRecord>, e: ChangeEvent, version: number): void {
  const existing = records.get(e.keyText);
  switch (e.operation) {
    case 'I':
      records.set(e.keyText, { key: e.key, version, creationVersion: version, lastOperation: 'I', updates: [], context: e.context });
      return;
    case 'U':
      records.set(e.keyText, {
        key: e.key,
        version,
        creationVersion: existing && existing.lastOperation !== 'D' ? existing.creationVersion : null,
        lastOperation: existing?.lastOperation === 'I' ? 'I' : 'U',
        updates: [...(existing?.updates ?? []), { version, columns: e.columns ?? [] }],
        context: e.context,
      });
      return;
    case 'D':
      records.set(e.keyText, { key: e.key, version, creationVersion: existing?.creationVersion ?? null, lastOperation: 'D', updates: [], context: e.context });
      return;
  }
}

export interface ChangeRow {
  version: number;
  creationVersion: number | null;
  operation: 'I' | 'U' | 'D';
  columns: Set<number> | null;
  context: Buffer | null;
  key: SqlValue[];
}

/** The rows CHANGETABLE(CHANGES t, since) returns: every key changed after `since` (all when null). */
export function changesSince(records: Map<string, ChangeRecord>, since: number | null): ChangeRow[] {
  const out: ChangeRow[] = [];
  for (const r of records.values()) {
    if (since !== null && r.version <= since) continue;
    let operation: 'I' | 'U' | 'D';
    if (r.lastOperation === 'D') operation = 'D';
    else if (r.creationVersion !== null && (since === null || r.creationVersion > since)) operation = 'I';
    else operation = 'U';
    let columns: Set<number> | null = null;
    if (operation === 'U') {
      // The columns of the updates the client has not seen.
      const updates = r.updates.filter((u) => since === null || u.version > since);
      columns = updates.length > 0 ? new Set(updates.flatMap((u) => u.columns)) : null;
    }
    out.push({ version: r.version, creationVersion: r.creationVersion, operation, columns, context: r.context, key: r.key });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * SYS_CHANGE_COLUMNS. SQL Server's mask is opaque (read with CHANGE_TRACKING_IS_COLUMN_IN_MASK);
 * this one is the engine's own: a 4-byte little-endian count then each column id as 4 bytes.
 */
export function encodeColumnMask(columns: Set<number>): Buffer {
  const ids = [...columns].sort((a, b) => a - b);
  const b = Buffer.alloc(4 + ids.length * 4);
  b.writeUInt32LE(ids.length, 0);
  ids.forEach((id, i) => b.writeUInt32LE(id, 4 + i * 4));
  return b;
}

/** A NULL mask (inserts, deletes, or columns not tracked) counts every column as changed. */
export function columnInMask(columnId: number, mask: Buffer | null): boolean {
  if (mask === null) return true;
  if (mask.length < 4) return false;
  const n = mask.readUInt32LE(0);
  for (let i = 0; i < n && 4 + i * 4 + 4 <= mask.length; i++) if (mask.readUInt32LE(4 + i * 4) === columnId) return true;
  return false;
}

import { keyText, rowKey, type RawRow, type ResolvedMapping } from './mapping';

/**
 * The connector's own transactions (the ones apply commits with its replication origin) are not
 * echoed back into the realms — but PostgreSQL may have changed more rows in them than apply
 * wrote: `ON DELETE CASCADE` / `ON UPDATE CASCADE` children, rows a trigger inserted or updated.
 * Each apply batch therefore commits a transactional logical message listing the rows it wrote
 * (`APPLIED_PREFIX`); capture skips exactly those changes of the transaction and writes the rest.
 * A transaction with the origin but without the message (PostgreSQL 13, whose pgoutput sends no
 * messages, or another writer using the origin) is skipped whole, as before.
 */

/** The prefix of the message apply commits with each batch. */
export const APPLIED_PREFIX = 'tributary-applied';

/**
 * The content of an {@link APPLIED_PREFIX} message (JSON). Keys are listed, not used as object
 * properties: an object keyed by thousands of integer-like key texts is a slow dictionary to build,
 * stringify and parse (a fifth of apply's CPU on 1,000-row batches).
 */
export interface AppliedRows {
  /** Format 2. */
  v: 2;
  /** table → key texts (mapping.ts `keyText`) of rows inserted or updated. */
  w: Record<string, string[]>;
  /** table → key texts of rows deleted. */
  d: Record<string, string[]>;
  /** side table → identities (side-lists.ts) of rows written. */
  side: Record<string, string[]>;
  /** The realm path, and the last realm transaction, the batch applied (older messages lack them). */
  p?: string;
  t?: number;
}

/** The format before 2 (still read: such messages may be in the slot across an upgrade). */
interface AppliedRowsV1 {
  /** table → key text → 'w' (inserted or updated) or 'd' (deleted). */
  rows: Record<string, Record<string, 'w' | 'd'>>;
  side: Record<string, string[]>;
}

/**
 * The message's content for what a batch wrote — also when it wrote no row: it still says which
 * realm transactions it applied, which ends their realm-wins protection where capture reads it.
 */
export function appliedMessage(rows: Map<string, Map<string, 'w' | 'd'>>, side: Record<string, string[]>, path: string, through: number): string {
  const applied: AppliedRows = { v: 2, w: {}, d: {}, side, p: path, t: through };
  for (const [table, keys] of rows) {
    const w: string[] = [];
    const d: string[] = [];
    for (const [k, op] of keys) (op === 'w' ? w : d).push(k);
    if (w.length > 0) applied.w[table] = w;
    if (d.length > 0) applied.d[table] = d;
  }
  return JSON.stringify(applied);
}

/** A change of an own transaction, as capture buffers it (capture.ts `Change`). */
type OwnChange =
  | { op: 'upsert'; table: string; row: RawRow; oldKey: RawRow | null }
  | { op: 'delete'; table: string; key: RawRow }
  | { op: 'side-list'; table: string; kind: 'upsert'; row: RawRow; old: RawRow | null }
  | { op: 'side-list'; table: string; kind: 'delete'; old: RawRow }
  | { op: string; table?: string };

/** What one own transaction's messages say apply wrote; `covers` tells capture which changes to skip. */
export class OwnWrites {
  private readonly rows = new Map<string, Map<string, 'w' | 'd'>>();
  private readonly side = new Map<string, Set<string>>();
  /** The realm transactions the batch applied (capture tells the realm-wins protection). */
  applied: { path: string; through: number } | null = null;

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly sideIdentity: (table: string, row: RawRow) => string | null,
  ) {}

  /** Adds one message's content (a batch may commit more than one). */
  add(content: Buffer | string): void {
    const m = JSON.parse(content.toString()) as AppliedRows | AppliedRowsV1;
    const rows = (table: string) => this.rows.get(table) ?? this.rows.set(table, new Map()).get(table)!;
    if ('v' in m && typeof m.p === 'string' && typeof m.t === 'number') this.applied = { path: m.p, through: m.t };
    if ('v' in m) {
      for (const op of ['w', 'd'] as const) {
        for (const [table, keys] of Object.entries(m[op] ?? {})) {
          const t = rows(table);
          for (const k of keys) t.set(k, op);
        }
      }
    } else {
      for (const [table, keys] of Object.entries(m.rows ?? {})) {
        const t = rows(table);
        for (const [k, op] of Object.entries(keys)) t.set(k, op);
      }
    }
    for (const [table, ids] of Object.entries(m.side ?? {})) {
      let t = this.side.get(table);
      if (!t) this.side.set(table, (t = new Set()));
      for (const id of ids) t.add(id);
    }
  }

  /**
   * True when apply wrote this change itself: an insert or update of a row it inserted or
   * updated, a delete of a row it deleted, a change of a side row it wrote. A cascade's delete of
   * a row apply updated, a trigger's insert of a row apply deleted, and every row apply did not
   * touch are not covered.
   */
  covers(c: OwnChange): boolean {
    if (c.op === 'upsert' || c.op === 'delete') {
      const ch = c as { op: 'upsert'; table: string; row: RawRow } | { op: 'delete'; table: string; key: RawRow };
      const t = this.mapping.tables.get(ch.table);
      const written = this.rows.get(ch.table);
      if (!t || !written) return false;
      const key = rowKey(t, ch.op === 'upsert' ? ch.row : ch.key);
      return key !== null && written.get(keyText(key)) === (ch.op === 'upsert' ? 'w' : 'd');
    }
    if (c.op === 'side-list') {
      const ch = c as Extract<OwnChange, { op: 'side-list'; kind: 'upsert' | 'delete' }>;
      const ids = this.side.get(ch.table);
      if (!ids) return false;
      const rows = ch.kind === 'upsert' ? [{ ...(ch.old ?? {}), ...ch.row }, ch.old] : [ch.old];
      return rows.some((r) => {
        const id = r ? this.sideIdentity(ch.table, r) : null;
        return id !== null && ids.has(id);
      });
    }
    return false;
  }
}

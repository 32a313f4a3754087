import type { ObjectKey } from '../../src/model';
import { keyText, rowForPlacement, rowKey, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { SideLists } from './side-lists';

/**
 * Rows → realm paths. Fixed placements need no state; partitioned tables (path templates,
 * `follow`, functions) keep an in-memory index key → path, because deletes carry only the key
 * and `follow` needs the path of the referenced row. It costs about 100 bytes per partitioned row.
 *
 * The index says where each key's object *is* — it is filled by the initial load and, on a
 * restart, from the objects the realms hold (placement-index.ts), never from the tables as they
 * are now: changes replayed after a restart (a delete committed while the connector was down)
 * must find the realm that still holds the object. A key found in several realms (a crash between
 * the realm writes of a move) keeps every path, so a delete or a move reaches each.
 */
export class RealmRouter {
  private readonly index = new Map<string, Map<string, string>>();
  /** Further realms holding a key (found at start; rare), by table and key text. */
  private readonly extra = new Map<string, Map<string, Set<string>>>();
  /** The side-list index (side rows per owner), shared by capture, load and apply like the key → path index. */
  readonly lists: SideLists;

  constructor(private readonly mapping: ResolvedMapping) {
    for (const t of mapping.tables.values()) if (t.placement.kind !== 'fixed') this.index.set(t.table, new Map());
    this.lists = new SideLists(mapping, this);
  }

  /** The realm a row belongs in, or null when it cannot be placed (missing column, unknown followed row). */
  pathFor(t: ResolvedTable, row: RawRow): string | null {
    const p = t.placement;
    switch (p.kind) {
      case 'fixed':
        return p.path;
      case 'template': {
        let out = p.template;
        for (const c of p.columns) {
          const v = row[c];
          if (v === null || v === undefined) return null;
          out = out.split(`{${c}}`).join(encodeURIComponent(v));
        }
        return out;
      }
      case 'follow': {
        const text = row[p.column];
        if (text === null || text === undefined) return null;
        const target = this.mapping.tables.get(p.targetTable)!;
        const key = rowKey(target, { [target.keyColumns[0]]: text });
        return key === null ? null : this.pathOf(target, key);
      }
      case 'function': {
        const path = p.fn(rowForPlacement(t, row), t.table);
        return typeof path === 'string' && path.startsWith('/') ? path : null;
      }
    }
  }

  /** Where the row with this key is now (fixed path, or the index). */
  pathOf(t: ResolvedTable, key: ObjectKey): string | null {
    if (t.placement.kind === 'fixed') return t.placement.path;
    return this.index.get(t.table)!.get(keyText(key)) ?? null;
  }

  /** Every realm that may hold the key's object: `pathOf` first, then any other found at start. */
  pathsOfKey(t: ResolvedTable, key: ObjectKey): string[] {
    if (t.placement.kind === 'fixed') return [t.placement.path];
    const k = keyText(key);
    const first = this.index.get(t.table)!.get(k);
    if (first === undefined) return [];
    const more = this.extra.get(t.table)?.get(k);
    return more ? [first, ...more] : [first];
  }

  /** The key's object is now in `path` (only there). */
  remember(t: ResolvedTable, key: ObjectKey, path: string): void {
    const k = keyText(key);
    this.index.get(t.table)?.set(k, path);
    this.extra.get(t.table)?.delete(k);
  }

  /** At start: a realm holds the key's object (another realm may too). */
  found(t: ResolvedTable, key: ObjectKey, path: string): void {
    const idx = this.index.get(t.table);
    if (!idx) return;
    const k = keyText(key);
    const first = idx.get(k);
    if (first === undefined) idx.set(k, path);
    else if (first !== path) {
      let m = this.extra.get(t.table);
      if (!m) this.extra.set(t.table, (m = new Map()));
      let s = m.get(k);
      if (!s) m.set(k, (s = new Set()));
      s.add(path);
    }
  }

  forget(t: ResolvedTable, key: ObjectKey): void {
    const k = keyText(key);
    this.index.get(t.table)?.delete(k);
    this.extra.get(t.table)?.delete(k);
  }

  /** Every realm holding rows of the table (for TRUNCATE). */
  pathsOf(t: ResolvedTable): string[] {
    if (t.placement.kind === 'fixed') return [t.placement.path];
    const out = new Set(this.index.get(t.table)!.values());
    for (const s of this.extra.get(t.table)?.values() ?? []) for (const p of s) out.add(p);
    return [...out];
  }

  clear(t: ResolvedTable): void {
    this.index.get(t.table)?.clear();
    this.extra.get(t.table)?.clear();
  }

  get indexedRows(): number {
    let n = 0;
    for (const m of this.index.values()) n += m.size;
    return n + this.lists.size;
  }
}

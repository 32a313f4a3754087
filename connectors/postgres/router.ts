import type { ObjectKey } from '../../src/model';
import { keyText, rowForPlacement, rowKey, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { SideLists } from './side-lists';

/**
 * Rows → realm paths. Fixed placements need no state; partitioned tables (path templates,
 * `follow`, functions) keep an in-memory index key → path, because deletes carry only the key
 * and `follow` needs the path of the referenced row. The index is filled by the initial load or,
 * on a restart, by a scan of the partitioned tables; it costs about 100 bytes per partitioned row.
 */
export class RealmRouter {
  private readonly index = new Map<string, Map<string, string>>();
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

  remember(t: ResolvedTable, key: ObjectKey, path: string): void {
    this.index.get(t.table)?.set(keyText(key), path);
  }

  forget(t: ResolvedTable, key: ObjectKey): void {
    this.index.get(t.table)?.delete(keyText(key));
  }

  /** Every realm holding rows of the table (for TRUNCATE). */
  pathsOf(t: ResolvedTable): string[] {
    if (t.placement.kind === 'fixed') return [t.placement.path];
    return [...new Set(this.index.get(t.table)!.values())];
  }

  clear(t: ResolvedTable): void {
    this.index.get(t.table)?.clear();
  }

  get indexedRows(): number {
    let n = 0;
    for (const m of this.index.values()) n += m.size;
    return n + this.lists.size;
  }
}

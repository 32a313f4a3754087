import type { ResolvedColumn, ResolvedLink, ResolvedTable } from './mapping';
import type { RealmColumnType } from './types';

interface Detached {
  column: ResolvedColumn | null;
  links: ResolvedLink[];
  /** A realm holds the property with another type: detached for good. */
  conflict?: boolean;
}

/**
 * Columns schema evolution took off the shared mapping, so capture, apply and the sink stop
 * writing them: because their type changed (kept, to map them again if a replay misled us), or
 * because a realm holds their property with another type (`conflict`: for good). The mapping is
 * edited in place, always between realm write transactions.
 */
export class DetachedColumns {
  private readonly byId = new Map<string, Detached>();

  get(t: ResolvedTable, column: string): Detached | undefined {
    return this.byId.get(`${t.table}.${column}`);
  }

  has(t: ResolvedTable, column: string): boolean {
    return this.byId.has(`${t.table}.${column}`);
  }

  /** Forgets a detached column (it was dropped). */
  forget(t: ResolvedTable, column: string): void {
    this.byId.delete(`${t.table}.${column}`);
  }

  /** Takes `column` (and links through it) off the mapping; key columns stay. */
  detach(t: ResolvedTable, column: string): void {
    const id = `${t.table}.${column}`;
    if (this.byId.has(id) || t.keyColumns.includes(column)) return;
    const c = t.byColumn.get(column) ?? null;
    const links = t.links.filter((l) => l.column === column);
    if (!c && links.length === 0) return;
    this.byId.set(id, { column: c, links });
    if (c) {
      t.columns.splice(t.columns.indexOf(c), 1);
      t.byColumn.delete(column);
    }
    for (const l of links) t.links.splice(t.links.indexOf(l), 1);
  }

  /** Puts a detached column back on the mapping. */
  reattach(t: ResolvedTable, column: string): void {
    const d = this.byId.get(`${t.table}.${column}`);
    if (!d) return;
    this.byId.delete(`${t.table}.${column}`);
    if (d.column) {
      t.columns.push(d.column);
      t.byColumn.set(column, d.column);
    }
    t.links.push(...d.links);
  }
}

/** Records a column's new type where the mapping keeps it (a type its property can still hold). */
export function retype(t: ResolvedTable, column: string, type: RealmColumnType): void {
  const k = t.allColumns.find((c) => c.name === column);
  if (k) k.type = type;
  const c = t.byColumn.get(column);
  if (c) c.type = type;
}

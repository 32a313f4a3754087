import type { ObjectKey } from '../../src/model';
import { keyText } from './keys';

/**
 * Where rows live (CONNECTORS.md §1), whatever the database:
 * - a path (`'/pagila/catalog'`; `{schema}` and `{table}` are filled in): one realm for the table,
 *   e.g. one realm per database schema with `'/db/{schema}'`;
 * - a path template over the row's columns (`'/pagila/store/{store_id}'`): rows partitioned into
 *   realms by a column;
 * - `{ follow: 'rental_id' }`: the realm of the row this reference points at (a payment lives with
 *   its rental);
 * - a function of the row (JavaScript/TypeScript configs), like ROS's `mapPostgresChangeToRealmPath`.
 */
export type Placement = string | { follow: string } | ((row: Readonly<Record<string, unknown>>, table: string) => string);

/** A placement resolved against the database's catalog. */
export type ResolvedPlacement =
  | { kind: 'fixed'; path: string }
  | { kind: 'template'; template: string; columns: string[] }
  | { kind: 'follow'; column: string; targetTable: string }
  | { kind: 'function'; fn: (row: Readonly<Record<string, unknown>>, table: string) => string };

/** What the placement router needs of a mapped table. */
export interface PlacedTable {
  table: string;
  type: string;
  placement: ResolvedPlacement;
}

/** The columns a path template reads (`{schema}` and `{table}` are not columns). */
export function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).filter((c) => c !== 'schema' && c !== 'table');
}

/**
 * Resolves a placement of the config: `columns` are the table's, `followTarget` gives the table a
 * reference column points at (null: not a single-column reference), `fail` builds the error to
 * throw (with the path of the key). Connectors check that a followed table is mapped afterwards.
 */
export function resolvePlacement(
  input: Placement,
  at: { schema: string; table: string; columns: readonly string[]; followTarget(column: string): string | null; unknownColumn(column: string, where: string): Error; fail(where: string, message: string): Error },
): ResolvedPlacement {
  if (typeof input === 'function') return { kind: 'function', fn: input };
  if (typeof input === 'string') {
    const filled = input.replace(/\{schema\}/g, at.schema).replace(/\{table\}/g, at.table);
    const cs = templateColumns(filled);
    for (const col of cs) if (!at.columns.includes(col)) throw at.unknownColumn(col, 'realm');
    return cs.length === 0 ? { kind: 'fixed', path: filled } : { kind: 'template', template: filled, columns: cs };
  }
  const col = input.follow;
  if (!at.columns.includes(col)) throw at.unknownColumn(col, 'realm.follow');
  const target = at.followTarget(col);
  if (target === null) throw at.fail('realm.follow', `'${col}' is not a single-column foreign key`);
  return { kind: 'follow', column: col, targetTable: target };
}

/** The realm paths a placement can produce, as a pattern for the Adapter's filter (null: a function, any path). */
export function placementPattern(p: ResolvedPlacement, placementOf: (table: string) => ResolvedPlacement): RegExp | null {
  switch (p.kind) {
    case 'fixed':
      return new RegExp('^' + p.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');
    case 'template':
      return new RegExp('^' + p.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    case 'follow':
      return placementPattern(placementOf(p.targetTable), placementOf);
    case 'function':
      return null;
  }
}

/** How the router reads a row of the database's representation (PostgreSQL: column texts; MongoDB: documents). */
export interface PlacementRows<T extends PlacedTable, Row> {
  /** A column's value as path text for a template (escaped by the router), or null when it is null or absent. */
  templateValue(t: T, row: Row, column: string): string | null;
  /** The key of the `target` row the reference `column` of `row` points at, or null. */
  followedKey(t: T, row: Row, column: string, target: T): ObjectKey | null;
  /** The row's values by column name (converted, not renamed) for placement functions. */
  plainRow(t: T, row: Row): Record<string, unknown>;
}

/**
 * Rows → realm paths. Fixed placements need no state; partitioned tables (path templates,
 * `follow`, functions) keep an in-memory index key → path, because deletes carry only the key and
 * `follow` needs the path of the referenced row. It costs about 100 bytes per partitioned row.
 *
 * The index says where each key's object *is* — it is filled by the initial load and, on a
 * restart, from the objects the realms hold (placement-index.ts), never from the tables as they are
 * now: changes replayed after a restart (a delete committed while the connector was down) must find
 * the realm that still holds the object. A key found in several realms (a crash between the realm
 * writes of a move) keeps every path, so a delete or a move reaches each.
 */
export class PlacementRouter<T extends PlacedTable, Row> {
  private readonly index = new Map<string, Map<string, string>>();
  /** Further realms holding a key (found at start; rare), by table and key text. */
  private readonly extra = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly tables: ReadonlyMap<string, T>,
    private readonly rows: PlacementRows<T, Row>,
  ) {
    for (const t of tables.values()) if (t.placement.kind !== 'fixed') this.index.set(t.table, new Map());
  }

  /** The realm a row belongs in, or null when it cannot be placed (missing column, unknown followed row). */
  pathFor(t: T, row: Row): string | null {
    const p = t.placement;
    switch (p.kind) {
      case 'fixed':
        return p.path;
      case 'template': {
        let out = p.template;
        for (const c of p.columns) {
          const v = this.rows.templateValue(t, row, c);
          if (v === null) return null;
          out = out.split(`{${c}}`).join(encodeURIComponent(v));
        }
        return out;
      }
      case 'follow': {
        const target = this.tables.get(p.targetTable)!;
        const key = this.rows.followedKey(t, row, p.column, target);
        return key === null ? null : this.pathOf(target, key);
      }
      case 'function': {
        const path = p.fn(this.rows.plainRow(t, row), t.table);
        return typeof path === 'string' && path.startsWith('/') ? path : null;
      }
    }
  }

  /** Where the row with this key is now (fixed path, or the index). */
  pathOf(t: T, key: ObjectKey): string | null {
    if (t.placement.kind === 'fixed') return t.placement.path;
    return this.index.get(t.table)!.get(keyText(key)) ?? null;
  }

  /** Every realm that may hold the key's object: `pathOf` first, then any other found at start. */
  pathsOfKey(t: T, key: ObjectKey): string[] {
    if (t.placement.kind === 'fixed') return [t.placement.path];
    const k = keyText(key);
    const first = this.index.get(t.table)!.get(k);
    if (first === undefined) return [];
    const more = this.extra.get(t.table)?.get(k);
    return more ? [first, ...more] : [first];
  }

  /** The key's object is now in `path` (only there). */
  remember(t: T, key: ObjectKey, path: string): void {
    const k = keyText(key);
    this.index.get(t.table)?.set(k, path);
    this.extra.get(t.table)?.delete(k);
  }

  /** At start: a realm holds the key's object (another realm may too). */
  found(t: T, key: ObjectKey, path: string): void {
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

  forget(t: T, key: ObjectKey): void {
    const k = keyText(key);
    this.index.get(t.table)?.delete(k);
    this.extra.get(t.table)?.delete(k);
  }

  /** Every realm holding rows of the table (for TRUNCATE / a dropped collection). */
  pathsOf(t: T): string[] {
    if (t.placement.kind === 'fixed') return [t.placement.path];
    const out = new Set(this.index.get(t.table)!.values());
    for (const s of this.extra.get(t.table)?.values() ?? []) for (const p of s) out.add(p);
    return [...out];
  }

  clear(t: T): void {
    this.index.get(t.table)?.clear();
    this.extra.get(t.table)?.clear();
  }

  /** Keys in the index (status). */
  get indexedRows(): number {
    let n = 0;
    for (const m of this.index.values()) n += m.size;
    return n;
  }
}

import type { Client } from 'pg';
import type { Identity } from '../../src/adapter/instructions';
import { valuesEqual, type ObjectKey, type Value } from '../../src/model';
import { identityKey, objectIdOf, type Collected as KitCollected, type Touched as KitTouched } from '../kit/touched';
import type { Realm } from '../../src/realm';
import { decodeCompositeKey, encodeCompositeKey, keyText, rowKey, rowValues, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { RealmSink } from './realm-sink';
import { toParam } from './types';
import type { RealmRouter } from './router';

/**
 * The row side of realm → PostgreSQL apply (apply.ts): locking the touched rows, and writing the
 * realm's current state of the touched objects as INSERT / UPDATE / DELETE, with what PostgreSQL
 * stored differently written back into the realm.
 */

export type Touched = KitTouched<ResolvedTable>;
export type Collected = KitCollected<ResolvedTable>;

export const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';
export const TEXT = { getTypeParser: () => (v: string) => v };


/** An Adapter identity → the realm key of an object of `t`. */
export function keyFromIdentity(t: ResolvedTable, identity: Identity): ObjectKey {
  if (t.composite) return identityKey('composite', identity);
  const realm = t.byColumn.get(t.keyColumns[0])?.type.realm;
  return identityKey(realm === 'uuid' || realm === 'objectId' || realm === 'int' ? realm : 'string', identity);
}

export const objectId = (t: ResolvedTable, key: ObjectKey) => objectIdOf(t, key);

type Fill = { t: ResolvedTable; key: ObjectKey; changed: Record<string, unknown> };

/**
 * A row absent when the batch locked its rows was written by a database transaction before ours
 * (a concurrent INSERT of the same key). Locks cannot cover a row that does not exist yet, so the
 * batch is rolled back and run again: its lock then holds the row and the barrier brings the
 * database's write into the realm, where the conflict policy merges it.
 */
export class RowRace extends Error {
  constructor(readonly table: string, readonly key: ObjectKey, doing: string) {
    super(`row ${table} ${keyText(key)} appeared while the batch ${doing} it; the batch is run again`);
  }
}

/** Keys a failed multi-row INSERT wrote, kept on the error so apply can tell a race from a refusal. */
export interface InsertConflict {
  insertConflict: { t: ResolvedTable; keys: ObjectKey[] };
}

/**
 * The rows a batch wrote, by table and key text: 'w' inserted or updated, 'd' deleted. Capture
 * reads it from the batch's logical message and skips exactly those changes of the connector's
 * own transaction; every other change in it (cascades, trigger-written rows) reaches the realms.
 */
export type WrittenRows = Map<string, Map<string, 'w' | 'd'>>;

export class RowWriter {
  /** What the running batch wrote (reset by `startBatch`). */
  written: WrittenRows = new Map();
  /** The table of the batch's last statement (named in errors that do not name it). */
  lastTable: string | null = null;

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly status: { rows: number },
    private readonly warnOnce: (id: string, message: string, fields: Record<string, unknown>) => void,
  ) {}

  startBatch(): void {
    this.written = new Map();
    this.lastTable = null;
  }

  private wrote(t: ResolvedTable, key: ObjectKey, op: 'w' | 'd'): void {
    let m = this.written.get(t.table);
    if (!m) this.written.set(t.table, (m = new Map()));
    m.set(keyText(key), op);
  }

  async readRow(sql: Client, t: ResolvedTable, key: ObjectKey): Promise<RawRow | null> {
    const where = this.keyWhere(t, key, 1);
    const cols = t.allColumns.map((c) => quote(c.name)).join(', ');
    const r = await sql.query({ text: `SELECT ${cols} FROM ${t.qualified} WHERE ${where.clause}`, values: where.params, types: TEXT } as never);
    return ((r as unknown as { rows: RawRow[] }).rows[0] as RawRow | undefined) ?? null;
  }

  /** The first of `keys` that has a row now, or null. */
  async firstExisting(sql: Client, t: ResolvedTable, keys: ObjectKey[]): Promise<ObjectKey | null> {
    for (const key of keys) {
      const w = this.keyWhere(t, key, 1);
      if ((await sql.query(`SELECT 1 FROM ${t.qualified} WHERE ${w.clause}`, w.params)).rows.length > 0) return key;
    }
    return null;
  }

  /** Keys of the table's rows that live in `path` (for CLEAR). */
  async keysInRealm(sql: Client, path: string, t: ResolvedTable): Promise<ObjectKey[]> {
    const cols = t.keyColumns.map(quote).join(', ');
    const r = await sql.query({ text: `SELECT ${cols} FROM ${t.qualified}`, types: TEXT } as never);
    const out: ObjectKey[] = [];
    for (const row of (r as unknown as { rows: RawRow[] }).rows) {
      const texts = t.keyColumns.map((k) => row[k] as string);
      const key = t.composite ? encodeCompositeKey(texts) : (t.byColumn.get(t.keyColumns[0])!.type.fromText(texts[0]) as ObjectKey);
      if (this.router.pathOf(t, key) === path) out.push(key);
    }
    return out;
  }

  keyParams(t: ResolvedTable, key: ObjectKey): unknown[] {
    return t.composite ? decodeCompositeKey(String(key)) : [toParam(key)];
  }

  keyWhere(t: ResolvedTable, key: ObjectKey, from: number): { clause: string; params: unknown[] } {
    return { clause: t.keyColumns.map((c, n) => `${quote(c)} = $${from + n}`).join(' AND '), params: this.keyParams(t, key) };
  }

  /**
   * Row locks on every touched row, so no database write lands between the barrier and ours;
   * returns the rows that exist as they are before our write (by object id, as text).
   */
  async lock(sql: Client, c: Collected): Promise<Map<string, RawRow>> {
    const existing = new Map<string, RawRow>();
    const byTable = new Map<ResolvedTable, ObjectKey[]>();
    for (const o of c.objects.values()) {
      let keys = byTable.get(o.table);
      if (!keys) byTable.set(o.table, (keys = []));
      keys.push(o.key);
    }
    for (const [t, keys] of byTable) {
      this.lastTable = t.table;
      if (!t.composite) {
        const k = t.keyColumns[0];
        const r = (await sql.query({ text: `SELECT ${this.allColumns(t)} FROM ${t.qualified} WHERE ${quote(k)} = ANY($1) FOR UPDATE`, values: [keys.map(toParam)], types: TEXT } as never)) as unknown as { rows: RawRow[] };
        const type = t.byColumn.get(k)!.type;
        for (const row of r.rows) existing.set(objectId(t, type.fromText(row[k] as string) as ObjectKey), row);
        continue;
      }
      for (const key of keys) {
        const w = this.keyWhere(t, key, 1);
        const r = (await sql.query({ text: `SELECT ${this.allColumns(t)} FROM ${t.qualified} WHERE ${w.clause} FOR UPDATE`, values: w.params, types: TEXT } as never)) as unknown as { rows: RawRow[] };
        if (r.rows.length > 0) existing.set(objectId(t, key), r.rows[0]);
      }
    }
    await this.router.lists.lock(sql, c.objects.values()); // side rows of the owners whose lists are written
    return existing;
  }

  /**
   * Column → parameter for every mapped column of the object's current state; `read` holds the
   * column properties as read once from `obj` (`readColumns`: each read of a Realm object's
   * property looks its record up again).
   */
  rowOf(path: string, t: ResolvedTable, obj: Record<string, unknown>, props: Set<string> | 'all', read: Record<string, unknown> = readColumns(t, obj)): Map<string, { value: unknown; property: string; also?: string }> {
    const out = new Map<string, { value: unknown; property: string; also?: string }>();
    for (const c of t.columns) {
      if (t.keyColumns.includes(c.column) || c.generated) continue; // the key is written from the object's key; PostgreSQL computes generated columns
      if (c.toRealm && !c.fromRealm) {
        this.warnOnce(`conv:${t.table}.${c.column}`, `column ${t.table}.${c.column} has a toRealm converter without fromRealm; it is not written back`, { path });
        continue;
      }
      const v = read[c.property];
      let value: unknown;
      if (c.type.list) value = v === null || v === undefined ? null : Array.from(v as Iterable<unknown>, (e) => toParam(c.fromRealm ? c.fromRealm(e) : e));
      else value = toParam(c.fromRealm ? c.fromRealm(v) : v);
      out.set(c.column, { value, property: c.property });
    }
    for (const l of t.links) {
      if (t.keyColumns.includes(l.column)) continue; // a link on a key column follows the key (see linkFills)
      const target = this.mapping.tables.get(l.targetTable)!;
      const o = obj[l.property] as Record<string, unknown> | null | undefined;
      const plain = out.get(l.column);
      if (!plain) {
        out.set(l.column, { value: o ? toParam(o[target.keyProperty]) : null, property: l.property });
        continue;
      }
      // The foreign-key column is also a plain property (`staff_id` next to the link `staff`): a set link
      // gives the key; a null link gives way to the plain value unless only the link was written (cleared).
      const linkOnly = props !== 'all' && props.has(l.property) && !props.has(plain.property);
      out.set(l.column, { value: o ? toParam(o[target.keyProperty]) : linkOnly ? null : plain.value, property: plain.property, also: l.property });
    }
    return out;
  }

  /**
   * Writes the realm's current state of the touched objects: new rows first, as multi-row INSERTs
   * per table in load order (link targets first); then, in the order the realm touched them,
   * UPDATEs of the touched columns and DELETEs where the object is gone. What PostgreSQL stored
   * differently (triggers, defaults, rounding) is written back into the realm in one write.
   */
  async writeObjects(sql: Client, path: string, realm: Realm, c: Collected, existing: Map<string, RawRow>): Promise<void> {
    const fills: Fill[] = [];
    this.stored = [];
    const inserts = new Map<ResolvedTable, { o: Touched; obj: Record<string, unknown> }[]>();
    const later: { o: Touched; obj: Record<string, unknown> | null }[] = [];
    for (const o of c.objects.values()) {
      this.status.rows++;
      const obj = realm.objectForPrimaryKey<Record<string, unknown>>(o.table.type, o.key) ?? null;
      if (obj && !existing.has(objectId(o.table, o.key))) {
        let list = inserts.get(o.table);
        if (!list) inserts.set(o.table, (list = []));
        list.push({ o, obj });
      } else later.push({ o, obj });
    }
    for (const t of this.mapping.loadOrder) {
      const list = inserts.get(t);
      if (list) await this.insertRows(sql, path, t, list, fills);
    }
    for (const { o, obj } of later) {
      if (obj) await this.updateRow(sql, path, o, obj, existing.get(objectId(o.table, o.key)), fills);
      else {
        this.lastTable = o.table.table;
        await this.router.lists.write(sql, o, undefined); // its side rows first (foreign keys)
        const w = this.keyWhere(o.table, o.key, 1);
        const r = await sql.query(`DELETE FROM ${o.table.qualified} WHERE ${w.clause}`, w.params);
        // Absent at the lock yet deleted now: a database INSERT committed after the lock, unseen by the realm.
        if ((r.rowCount ?? 0) > 0 && !existing.has(objectId(o.table, o.key))) throw new RowRace(o.table.table, o.key, 'deleted');
        this.wrote(o.table, o.key, 'd');
        this.router.forget(o.table, o.key);
      }
    }
    for (const w of this.stored) this.linkFills(realm, w, fills);
    if (fills.length > 0) realm.write(() => {
      for (const f of fills) this.sink.fill(realm, f.t, f.key, f.changed);
    });
  }

  /** Rows as PostgreSQL stored them, with their objects, for `linkFills` (reset per batch). */
  private stored: { o: Touched; obj: Record<string, unknown>; row: RawRow }[] = [];

  /**
   * Links the batch wrote follow the foreign key PostgreSQL stored: a client that set only the
   * plain key property (`customer`) gets the link (`customer_link`) too. A link on a key column
   * (`membership.team_id` next to the link `team`) is written from the key, never from the link,
   * and is then set to the key's target whatever the client put there. Null when the target is not
   * in this realm. Links the batch did not write are left alone (the realm may hold a newer value).
   */
  linkFills(realm: Realm, w: { o: Touched; obj: Record<string, unknown>; row: RawRow }, fills: Fill[]): void {
    const { o, obj, row } = w;
    const t = o.table;
    for (const l of t.links) {
      const plain = t.byColumn.get(l.column);
      const wrote = o.props === 'all' || o.props.has(l.property) || (plain !== undefined && o.props.has(plain.property));
      const text = row[l.column];
      if ((!wrote && !t.keyColumns.includes(l.column)) || text === undefined) continue;
      const target = this.mapping.tables.get(l.targetTable)!;
      const targetKey = text === null ? null : rowKey(target, { [target.keyColumns[0]]: text });
      const want = targetKey === null ? null : (realm.objectForPrimaryKey<Record<string, unknown>>(target.type, targetKey) ?? null);
      const have = obj[l.property] as Record<string, unknown> | null | undefined;
      const same = want ? !!have && valuesEqual(have[target.keyProperty] as Value, targetKey as Value) : !have;
      if (!same) fills.push({ t, key: o.key, changed: { [l.property]: want } });
    }
  }

  warnUnknownProperties(path: string, o: Touched): void {
    if (o.props === 'all') return;
    const t = o.table;
    const known = new Set([t.keyProperty, ...t.columns.map((c) => c.property), ...t.links.map((l) => l.property), ...(t.lists ?? []).map((l) => l.property)]);
    for (const p of o.props) if (!known.has(p)) this.warnOnce(`prop:${t.type}.${p}`, `property ${t.type}.${p} has no column; its values stay in the realm`, { path });
  }

  /**
   * What PostgreSQL stored can differ from what was written (triggers such as Pagila's last_update
   * and film.fulltext, defaults, numeric scale, date truncation). Capture skips this transaction
   * (our origin), so the object takes those values here. Only what PostgreSQL changed: a written
   * column whose stored value differs from the value written, or an unwritten one that differs
   * from the row before the write (`preimage`) — never an unwritten column merely because the
   * realm holds a newer value not applied yet — and never a counter (its total arrives through
   * increments).
   */
  noteStored(t: ResolvedTable, key: ObjectKey, before: Record<string, unknown>, stored: RawRow | undefined, written: Set<string> | 'all', preimage: RawRow | undefined, fills: Fill[]): void {
    const changed = stored ? storedChanges(t, before, stored, written, preimage) : null;
    if (!changed) return;
    for (const c of t.columns) if (c.counter) delete changed[c.property];
    if (Object.keys(changed).length > 0) fills.push({ t, key, changed });
  }

  allColumns(t: ResolvedTable): string {
    return t.allColumns.map((c) => quote(c.name)).join(', ');
  }

  returning(t: ResolvedTable): string {
    return ` RETURNING ${this.allColumns(t)}`;
  }

  async insertRows(sql: Client, path: string, t: ResolvedTable, list: { o: Touched; obj: Record<string, unknown> }[], fills: Fill[]): Promise<void> {
    this.lastTable = t.table;
    const rows = list.map(({ o, obj }) => {
      const read = readColumns(t, obj);
      return { o, obj, row: this.rowOf(path, t, obj, o.props, read), before: realmValues(t, read) };
    });
    for (const { o } of rows) this.warnUnknownProperties(path, o);
    const cols = [...t.keyColumns, ...rows[0].row.keys()];
    const perStatement = Math.max(1, Math.floor(30_000 / cols.length)); // PostgreSQL takes at most 65,535 parameters
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      const values: unknown[] = [];
      const tuples = chunk.map(({ o, row }) => {
        const base = values.length;
        values.push(...this.keyParams(t, o.key), ...[...row.values()].map((v) => v.value));
        return `(${cols.map((_, n) => `$${base + n + 1}`).join(', ')})`;
      });
      let r: { rows: RawRow[] };
      try {
        r = (await sql.query({ text: `INSERT INTO ${t.qualified} (${cols.map(quote).join(', ')}) VALUES ${tuples.join(', ')}${this.returning(t)}`, values, types: TEXT } as never)) as unknown as { rows: RawRow[] };
      } catch (e) {
        // A unique violation: either a database INSERT of one of these keys since the lock (a race) or a refused value.
        if ((e as { code?: string }).code === '23505') (e as InsertConflict).insertConflict = { t, keys: chunk.map(({ o }) => o.key) };
        throw e;
      }
      const byKey = new Map<string, RawRow>();
      for (const stored of r.rows) {
        const key = t.composite ? encodeCompositeKey(t.keyColumns.map((k) => stored[k] as string)) : (t.byColumn.get(t.keyColumns[0])!.type.fromText(stored[t.keyColumns[0]] as string) as ObjectKey);
        byKey.set(keyText(key), stored);
      }
      for (const { o, obj, before } of chunk) {
        const stored = byKey.get(keyText(o.key));
        this.wrote(t, o.key, 'w');
        this.noteStored(t, o.key, before, stored, 'all', undefined, fills);
        if (stored) this.stored.push({ o, obj, row: stored });
      }
    }
    if (t.lists?.length) for (const { o, obj } of rows) await this.finishObject(sql, path, o, obj);
    else for (const { o } of rows) this.router.remember(t, o.key, path); // finishObject without side lists, and without an await per row
  }

  async updateRow(sql: Client, path: string, o: Touched, obj: Record<string, unknown>, preimage: RawRow | undefined, fills: Fill[]): Promise<void> {
    const t = o.table;
    this.lastTable = t.table;
    this.warnUnknownProperties(path, o);
    const read = readColumns(t, obj);
    const row = this.rowOf(path, t, obj, o.props, read);
    const update = [...row].filter(([, v]) => o.props === 'all' || o.props.has(v.property) || (v.also !== undefined && o.props.has(v.also)));
    if (update.length > 0) {
      // A counter column only incremented in this batch is written as `n = n + δ`: concurrent database increments add up.
      const counters = new Set(t.columns.filter((c) => c.counter).map((c) => c.column));
      const delta = (column: string, property: string): number | null =>
        o.props !== 'all' && counters.has(column) && o.deltas?.has(property) && !o.assigned?.has(property) ? o.deltas.get(property)! : null;
      const sets = update.map(([column, v], n) => (delta(column, v.property) !== null ? `${quote(column)} = ${quote(column)} + $${n + 1}` : `${quote(column)} = $${n + 1}`));
      const params = update.map(([column, v]) => delta(column, v.property) ?? v.value);
      const w = this.keyWhere(t, o.key, update.length + 1);
      const before = realmValues(t, read);
      const r = (await sql.query({ text: `UPDATE ${t.qualified} SET ${sets.join(', ')} WHERE ${w.clause}${this.returning(t)}`, values: [...params, ...w.params], types: TEXT } as never)) as unknown as { rows: RawRow[] };
      this.wrote(t, o.key, 'w');
      this.noteStored(t, o.key, before, r.rows[0], new Set(update.map(([column]) => column)), preimage, fills);
      if (r.rows[0]) this.stored.push({ o, obj, row: r.rows[0] });
    } else if (preimage) {
      // Nothing to write (only generated properties, or key-column links, were set): the row's values win.
      if (t.generated.some((c) => o.props === 'all' || o.props.has(c.property))) this.noteStored(t, o.key, realmValues(t, read), preimage, new Set(), undefined, fills);
      this.stored.push({ o, obj, row: preimage });
    }
    await this.finishObject(sql, path, o, obj);
  }

  async finishObject(sql: Client, path: string, o: Touched, obj: Record<string, unknown>): Promise<void> {
    await this.router.lists.write(sql, o, obj); // list properties ↔ side rows (side-lists.ts)
    this.router.remember(o.table, o.key, path);
  }
}

/** An object's column properties, each read once, keyed by property (lists are the live lists). */
function readColumns(t: ResolvedTable, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) out[c.property] = obj[c.property];
  return out;
}

/** An object's column values as the realm holds them (lists copied), keyed by property, from `readColumns`. */
function realmValues(t: ResolvedTable, read: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) {
    const v = read[c.property];
    out[c.property] = c.type.list ? Array.from((v ?? []) as Iterable<unknown>) : v;
  }
  return out;
}

/** The properties whose stored value (`row`, as PostgreSQL returned it) PostgreSQL changed (see noteStored), or null. */
function storedChanges(t: ResolvedTable, before: Record<string, unknown>, row: RawRow, written: Set<string> | 'all', preimage: RawRow | undefined): Record<string, unknown> | null {
  const now = rowValues(t, row, `${t.table} as stored`);
  const same = (a: unknown, b: unknown) => valuesEqual((a ?? null) as Value, (b ?? null) as Value);
  let out: Record<string, unknown> | null = null;
  for (const c of t.columns) {
    const b = now[c.property];
    if (written !== 'all' && !written.has(c.column) && !c.generated) {
      if (preimage && preimage[c.column] !== row[c.column]) (out ??= {})[c.property] = b; // a trigger or rule changed it
      continue;
    }
    const a = before[c.property];
    const equal = c.type.list ? (a as unknown[]).length === (b as unknown[]).length && (a as unknown[]).every((x, i) => same(x, (b as unknown[])[i])) : same(a, b);
    if (!equal) (out ??= {})[c.property] = b;
  }
  return out;
}


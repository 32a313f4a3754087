import type { Client } from 'pg';
import type { ObjectKey, Value } from '../../src/model';
import type { Realm } from '../../src/realm';
import { compareValues } from '../../src/realm/local-query';
import type { Logger } from '../../src/shared/logger';
import { connectorError } from './errors';
import type { LoadProgress } from './load-progress';
import { keyText, rowKey, type RawRow, type ResolvedTable } from './mapping';
import { toRow, type PgOutputMessage } from './pgoutput';
import { toParam } from './types';
import type { RealmSink } from './realm-sink';
import type { ResolvedSideList } from './side-list-mapping';
import { canonValue, groupBy, ListIndex, type DbRow, type ListProtection, type OwnerPaths, type RealmListLike, type SideListChange, type SideRow, type TouchedObject } from './side-list-types';

/**
 * Realm lists ↔ ordered side tables (CONNECTORS.md §1: "lists ↔ a side table (owner key,
 * position, value or target key), kept in order both ways").
 *
 * A list property of an owner type holds, in `position` order, the side table's rows whose owner
 * column points at the owner's row: links to the mapped type the value column references, or the
 * value column's primitives. Without a position column the list is ordered by value and edits are
 * set edits (Pagila's `film_actor` as `Film.actors`).
 *
 * Capture: a side row change updates an in-memory index (identity → owner, value, position, like
 * the router's key → path), and at the end of the database transaction each owner it touched gets
 * its whole ordered list rebuilt from the index in that transaction's realm write, with the fewest
 * list edits (erase / move / insert; never a clear, which would win over concurrent client edits).
 * Apply (state-based): the owner's side rows are made equal to the realm's current list — rows no
 * longer present deleted, new ones inserted, moved ones get their new position, unchanged rows are
 * not rewritten — and the index follows (capture skips the connector's own transactions).
 */

export { listPropertySchema, resolveSideLists, sideListTables, type ResolvedSideList, type TypeDescriber } from './side-list-mapping';

export { canonValue, type ListProtection, type OwnerPaths, type SideListChange, type TouchedObject } from './side-list-types';

const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';
const TEXT = { getTypeParser: () => (v: string) => v };
const INSERT_CHUNK = 1000;

/**
 * The side lists of a mapping: the index and its capture, load and apply operations. One per
 * connector run (owned by the RealmRouter, which capture, load and apply share).
 */
export class SideLists {
  readonly lists: ResolvedSideList[];
  private readonly byTable = new Map<string, ResolvedSideList>();
  private readonly index = new Map<ResolvedSideList, ListIndex>();
  private readonly relations = new Map<number, { list: ResolvedSideList; columns: string[] }>();
  /** Owners whose lists capture rebuilds at the end of the current database transaction. */
  private readonly dirty = new Map<string, { list: ResolvedSideList; key: ObjectKey }>();
  /** Apply: index entries as they were before the open PostgreSQL transaction changed them (restored on rollback). */
  private undo: Map<string, { list: ResolvedSideList; id: string; before: SideRow | undefined }> | null = null;
  /** Owners whose index entries may be wrong after a failed commit; re-read at the next apply. */
  private readonly suspects = new Map<ResolvedSideList, Map<string, ObjectKey>>();

  constructor(
    private readonly mapping: { tables: Map<string, ResolvedTable>; options: { schema: string; batchSize: number } },
    private readonly router: OwnerPaths,
  ) {
    this.lists = [...mapping.tables.values()].flatMap((t) => t.lists ?? []);
    for (const l of this.lists) {
      this.byTable.set(l.table, l);
      this.index.set(l, new ListIndex());
    }
  }

  /** Side rows held in the index. */
  get size(): number {
    let n = 0;
    for (const i of this.index.values()) n += i.rows.size;
    return n;
  }

  // ── index ──

  private identityOf(l: ResolvedSideList, row: RawRow): string | null {
    const texts: (string | null)[] = [];
    for (const c of l.identityColumns) {
      const v = row[c];
      if (v === undefined) return null;
      texts.push(v);
    }
    return JSON.stringify(texts);
  }

  private markDirty(l: ResolvedSideList, key: ObjectKey): void {
    this.dirty.set(`${l.table}\u0000${keyText(key)}`, { list: l, key });
  }

  /** Sets (row) or removes (undefined) an entry; `record`: apply's own write, undone if its transaction rolls back. */
  private set(l: ResolvedSideList, id: string, row: SideRow | undefined, record = false): void {
    const idx = this.index.get(l)!;
    const before = idx.rows.get(id);
    const u = `${l.table}\u0000${id}`;
    if (record && this.undo && !this.undo.has(u)) this.undo.set(u, { list: l, id, before });
    if (before) {
      const ids = idx.byOwner.get(before.owner);
      ids?.delete(id);
      if (ids && ids.size === 0) idx.byOwner.delete(before.owner);
    }
    if (!row) {
      idx.rows.delete(id);
      return;
    }
    idx.rows.set(id, row);
    let ids = idx.byOwner.get(row.owner);
    if (!ids) idx.byOwner.set(row.owner, (ids = new Set()));
    ids.add(id);
  }

  /** A raw side row → its index entry, columns it lacks (unchanged TOAST) taken from `previous`; null: the row belongs to no owner. */
  private entryOf(l: ResolvedSideList, row: RawRow, previous?: SideRow): SideRow | null {
    const ownerText = row[l.ownerColumn];
    const key = ownerText === undefined ? (previous?.key ?? null) : ownerText === null ? null : rowKey(l.owner, { [l.owner.keyColumns[0]]: ownerText });
    if (key === null) return null;
    const v = row[l.valueColumn];
    const p = l.positionColumn ? row[l.positionColumn] : null;
    return {
      owner: keyText(key),
      key,
      value: v === undefined ? (previous?.value ?? null) : v,
      position: p === undefined ? (previous?.position ?? null) : p === null ? null : Number(p),
    };
  }

  private put(l: ResolvedSideList, row: RawRow, record = false): void {
    const id = this.identityOf(l, row);
    const e = id === null ? null : this.entryOf(l, row);
    if (id !== null && e) this.set(l, id, e, record);
  }

  private clearList(l: ResolvedSideList): void {
    const idx = this.index.get(l)!;
    idx.rows.clear();
    idx.byOwner.clear();
  }

  private columnsOf(l: ResolvedSideList): string[] {
    return [...new Set([...l.identityColumns, l.ownerColumn, l.valueColumn, ...(l.positionColumn ? [l.positionColumn] : [])])];
  }

  /** Reads a list's rows into the index through a cursor; the caller holds a transaction. */
  private async scanList(sql: Client, l: ResolvedSideList, batchSize: number): Promise<number> {
    const cursor = `tributary_list_${l.table.replace(/[^a-z0-9_]/gi, '_')}`;
    await sql.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${this.columnsOf(l).map(quote).join(', ')} FROM ${l.qualified}`);
    let total = 0;
    for (;;) {
      const r = (await sql.query({ text: `FETCH ${batchSize} FROM ${cursor}`, types: TEXT } as never)) as unknown as { rows: RawRow[] };
      if (r.rows.length === 0) break;
      total += r.rows.length;
      for (const row of r.rows) this.put(l, row);
    }
    await sql.query(`CLOSE ${cursor}`);
    return total;
  }

  /** Restart (or `initialLoad: 'none'`): rebuilds the index from the tables, in the caller's transaction or (`own`) one of its own. */
  async scan(sql: Client, own = false): Promise<void> {
    if (this.lists.length === 0) return;
    if (own) await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      for (const l of this.lists) {
        this.clearList(l);
        await this.scanList(sql, l, this.mapping.options.batchSize * 5);
      }
      if (own) await sql.query('COMMIT');
    } catch (e) {
      if (own) await sql.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** Initial load (inside the snapshot, after the owner and target tables): the index, then every owner's list. Returns the realms written. */
  async load(sql: Client, sink: Pick<RealmSink, 'realm'>, log: Logger, onProgress?: (p: LoadProgress) => void): Promise<string[]> {
    const touched = new Set<string>();
    const batch = this.mapping.options.batchSize;
    for (const l of this.lists) {
      const started = Date.now();
      this.clearList(l);
      const rows = await this.scanList(sql, l, batch);
      const byPath = new Map<string, ObjectKey[]>();
      const idx = this.index.get(l)!;
      for (const ids of idx.byOwner.values()) {
        const key = idx.rows.get(ids.values().next().value!)!.key;
        const p = this.router.pathOf(l.owner, key);
        if (p === null) continue;
        (byPath.get(p) ?? byPath.set(p, []).get(p)!).push(key);
      }
      for (const [p, keys] of byPath) {
        touched.add(p);
        const realm = sink.realm(p);
        for (let i = 0; i < keys.length; i += batch) realm.write(() => keys.slice(i, i + batch).forEach((k) => this.writeList(realm, l, k)));
      }
      onProgress?.({ table: l.table, rows, estimate: null, done: true });
      log.info('postgres connector: initial load: side table copied into lists', { table: l.table, list: `${l.owner.type}.${l.property}`, rows, ms: Date.now() - started });
    }
    return [...touched];
  }

  // ── capture (database → realm) ──

  /**
   * Capture's first look at every pgoutput message: changes of side tables are buffered as
   * side-list changes (true: handled). Relation and truncate messages are noted and passed on.
   */
  handleMessage(m: PgOutputMessage, buffer: { add(c: SideListChange): void } | null): boolean {
    switch (m.tag) {
      case 'relation': {
        const l = m.schema === this.mapping.options.schema ? this.byTable.get(m.name) : undefined;
        if (l) this.relations.set(m.relationId, { list: l, columns: m.columns.map((c) => c.name) });
        else this.relations.delete(m.relationId);
        return false;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const rel = this.relations.get(m.relationId);
        if (!rel) return false;
        const table = rel.list.table;
        if (m.tag === 'delete') buffer?.add({ op: 'side-list', table, kind: 'delete', old: toRow(rel.columns, (m.keyTuple ?? m.oldTuple)!) });
        else {
          const old = m.tag === 'update' ? (m.keyTuple ?? m.oldTuple) : null;
          buffer?.add({ op: 'side-list', table, kind: 'upsert', row: toRow(rel.columns, m.newTuple), old: old ? toRow(rel.columns, old) : null });
        }
        return true;
      }
      case 'truncate':
        for (const id of m.relationIds) {
          const rel = this.relations.get(id);
          if (rel) buffer?.add({ op: 'side-list', table: rel.list.table, kind: 'truncate' });
        }
        return false;
      default:
        return false;
    }
  }

  /**
   * Capture's first look at every buffered change, inside the realm transactions: side-list
   * changes update the index (true: handled); an upsert of an owner marks its lists for a rebuild
   * (a re-created or moved owner object gets its list back).
   */
  observe(change: Readonly<{ op: string }>): boolean {
    if (change.op === 'upsert') {
      const c = change as unknown as { table: string; row: RawRow };
      const t = this.mapping.tables.get(c.table);
      if (!t?.lists) return false;
      const key = rowKey(t, c.row);
      if (key !== null) for (const l of t.lists) if (this.index.get(l)!.byOwner.has(keyText(key))) this.markDirty(l, key);
      return false;
    }
    if (change.op !== 'side-list') return false;
    const c = change as unknown as SideListChange;
    const l = this.byTable.get(c.table)!;
    const idx = this.index.get(l)!;
    if (c.kind === 'truncate') {
      for (const row of idx.rows.values()) this.markDirty(l, row.key);
      this.clearList(l);
      return true;
    }
    const oldId = c.old ? this.identityOf(l, c.old) : null;
    const previous = oldId === null ? undefined : idx.rows.get(oldId);
    if (previous) this.markDirty(l, previous.key);
    if (c.kind === 'delete') {
      if (oldId !== null) this.set(l, oldId, undefined);
      return true;
    }
    // A key tuple carries the identity; the new tuple the rest (minus unchanged TOAST).
    const id = this.identityOf(l, { ...(c.old ?? {}), ...c.row });
    if (id === null) return true;
    if (oldId !== null && oldId !== id) this.set(l, oldId, undefined);
    const prev = previous ?? idx.rows.get(id);
    if (prev) this.markDirty(l, prev.key);
    const e = this.entryOf(l, c.row, prev);
    this.set(l, id, e ?? undefined);
    if (e) this.markDirty(l, e.key);
    return true;
  }

  /** End of a database transaction's realm writes: rebuilds the list of every owner it touched. */
  flush(realmFor: (path: string | null) => Realm | null, protection: ListProtection | null): void {
    const dirty = [...this.dirty.values()];
    this.dirty.clear();
    for (const { list, key } of dirty) {
      const path = this.router.pathOf(list.owner, key);
      if (path === null) continue;
      const guard = protection?.protectedProperties(path, list.owner, key);
      if (guard === 'all' || guard?.has(list.property)) continue; // realm-wins: apply writes the realm's list over the rows
      const realm = realmFor(path);
      if (realm) this.writeList(realm, list, key);
    }
  }

  /** A side row's value as the realm holds it: the primitive, or the target's key for a list of links. */
  private convert(l: ResolvedSideList, text: string | null): Value {
    if (text === null) return null;
    try {
      return l.target ? rowKey(l.target, { [l.target.keyColumns[0]]: text }) : l.valueType.fromText(text);
    } catch (e) {
      throw connectorError('CONNECTOR_MAPPING_INVALID', `side table ${l.table}: column ${l.valueColumn} (${l.valueType.pgType}): ${(e as Error).message}`, e);
    }
  }

  /** A realm list element's value in the same form (a linked object → its key). */
  private elementValue(l: ResolvedSideList, element: unknown): unknown {
    return l.target ? (element as Record<string, unknown>)[l.target.keyProperty] : element;
  }

  /** An owner's values in list order: position (nulls last), then value, then identity. */
  private ordered(l: ResolvedSideList, key: ObjectKey): Value[] {
    const idx = this.index.get(l)!;
    const entries = [...(idx.byOwner.get(keyText(key)) ?? [])].map((id) => ({ id, row: idx.rows.get(id)!, value: this.convert(l, idx.rows.get(id)!.value) }));
    entries.sort((a, b) => {
      const pa = a.row.position;
      const pb = b.row.position;
      if (pa !== pb) return pa === null ? 1 : pb === null ? -1 : pa - pb;
      return compareValues(a.value, b.value) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    });
    return entries.map((e) => e.value);
  }

  /** Inside a realm write: makes the owner's list equal its ordered side rows with the fewest edits. */
  writeList(realm: Realm, l: ResolvedSideList, key: ObjectKey): void {
    const obj = realm.objectForPrimaryKey<Record<string, unknown>>(l.owner.type, key);
    if (!obj) return;
    const desired = this.desired(realm, l, key);
    const list = obj[l.property] as RealmListLike;
    const current = Array.from(list, (e) => canonValue(this.elementValue(l, e)));
    const need = new Map<string, number>();
    for (const d of desired) need.set(d.canon, (need.get(d.canon) ?? 0) + 1);
    const kept = new Map<string, number>();
    const extra: number[] = [];
    current.forEach((c, i) => {
      const k = kept.get(c) ?? 0;
      if (k < (need.get(c) ?? 0)) kept.set(c, k + 1);
      else extra.push(i);
    });
    for (let r = extra.length - 1; r >= 0; r--) {
      list.splice(extra[r], 1);
      current.splice(extra[r], 1);
    }
    for (let i = 0; i < desired.length; i++) {
      if (current[i] === desired[i].canon) continue;
      const j = current.indexOf(desired[i].canon, i + 1);
      if (j >= 0) {
        list.move(j, i);
        current.splice(i, 0, current.splice(j, 1)[0]);
      } else {
        list.splice(i, 0, desired[i].value);
        current.splice(i, 0, desired[i].canon);
      }
    }
  }

  /** The owner's list as its side rows say, in order (a link target missing from the realm is left out). */
  private desired(realm: Realm, l: ResolvedSideList, key: ObjectKey): { canon: string; value: unknown }[] {
    const out: { canon: string; value: unknown }[] = [];
    for (const v of this.ordered(l, key)) {
      if (!l.target) out.push({ canon: canonValue(v), value: v });
      else {
        const target = v === null ? undefined : realm.objectForPrimaryKey(l.target.type, v as ObjectKey);
        if (target) out.push({ canon: canonValue(v), value: target }); // a target missing from this realm cannot be linked
      }
    }
    return out;
  }

  /**
   * At a start without a load (the index was just read from the side tables): makes every owner's
   * list in `paths` equal its side rows as they are now, unless a realm edit of that list waits to
   * be applied (`pending`). A side row's delete carries only its identity, so one committed while
   * the connector was stopped finds no index entry when it is replayed and could not say whose list
   * it left. Capture rebuilds lists from the index (the rows as they are now) anyway, so this is
   * what the replay would converge to. Returns the lists written.
   */
  reconcile(paths: string[], realmOf: (path: string) => Realm, pending: ListProtection): number {
    let written = 0;
    for (const path of paths) {
      const realm = realmOf(path);
      const types = new Set(realm.schema.map((s) => s.name));
      const stale: { l: ResolvedSideList; key: ObjectKey }[] = [];
      for (const l of this.lists) {
        if (!types.has(l.owner.type)) continue;
        for (const obj of realm.objects<Record<string, unknown>>(l.owner.type)) {
          const key = obj[l.owner.keyProperty] as ObjectKey;
          const current = Array.from(obj[l.property] as Iterable<unknown>, (e) => canonValue(this.elementValue(l, e)));
          const want = this.desired(realm, l, key).map((d) => d.canon);
          if (current.length === want.length && current.every((c, i) => c === want[i])) continue;
          const guard = pending.protectedProperties(path, l.owner, key);
          if (guard === 'all' || guard?.has(l.property)) continue;
          stale.push({ l, key });
        }
      }
      if (stale.length === 0) continue;
      realm.write(() => stale.forEach(({ l, key }) => this.writeList(realm, l, key)));
      written += stale.length;
    }
    return written;
  }

  /** Inside a realm write (apply's reject path): resets the owner's lists to the database's rows. */
  rebuild(realm: Realm, t: ResolvedTable, key: ObjectKey): void {
    for (const l of t.lists ?? []) this.writeList(realm, l, key);
  }

  // ── apply (realm → database) ──

  /** Locks the side rows of the touched owners whose lists are written; starts recording index changes. */
  async lock(sql: Client, objects: Iterable<TouchedObject>): Promise<void> {
    if (this.lists.length === 0) return;
    await this.refreshSuspects(sql);
    this.undo = new Map();
    const owners = new Map<ResolvedSideList, unknown[]>();
    for (const o of objects) {
      for (const l of o.table.lists ?? []) if (o.props === 'all' || o.props.has(l.property)) (owners.get(l) ?? owners.set(l, []).get(l)!).push(toParam(o.key));
    }
    for (const [l, keys] of owners) await sql.query(`SELECT 1 FROM ${l.qualified} WHERE ${quote(l.ownerColumn)} = ANY($1) FOR UPDATE`, [keys]);
  }

  /** Apply: the identities of the side rows the open transaction wrote, by side table (for capture's own-transaction filter). */
  writtenIdentities(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const { list, id } of this.undo?.values() ?? []) (out[list.table] ??= []).push(id);
    return out;
  }

  /** Capture: the identity of a row of side table `table` (null when it lacks an identity column). */
  identity(table: string, row: RawRow): string | null {
    const l = this.byTable.get(table);
    return l ? this.identityOf(l, row) : null;
  }

  /** The apply transaction committed: its index changes stand. */
  committed(): void {
    this.undo = null;
  }

  /**
   * The apply transaction failed: restores the index. Its owners are re-read at the next apply as
   * well, in case the failure hid a commit (a connection lost during COMMIT).
   */
  rolledBack(): void {
    const undo = this.undo;
    this.undo = null;
    if (!undo) return;
    for (const { list, id, before } of undo.values()) {
      let s = this.suspects.get(list);
      if (!s) this.suspects.set(list, (s = new Map()));
      for (const r of [this.index.get(list)!.rows.get(id), before]) if (r) s.set(r.owner, r.key);
      this.set(list, id, before);
    }
  }

  private async refreshSuspects(sql: Client): Promise<void> {
    for (const [l, owners] of [...this.suspects]) {
      this.suspects.delete(l);
      const idx = this.index.get(l)!;
      for (const owner of owners.keys()) for (const id of [...(idx.byOwner.get(owner) ?? [])]) this.set(l, id, undefined);
      const r = (await sql.query({ text: `SELECT ${this.columnsOf(l).map(quote).join(', ')} FROM ${l.qualified} WHERE ${quote(l.ownerColumn)} = ANY($1)`, values: [[...owners.values()].map(toParam)], types: TEXT } as never)) as unknown as {
        rows: RawRow[];
      };
      for (const row of r.rows) this.put(l, row);
    }
  }

  /**
   * Writes the realm's current lists of one touched object. `obj` undefined: the object is gone —
   * its side rows, and the rows of lists linking to it, are deleted (before its own row, for the
   * foreign keys).
   */
  async write(sql: Client, o: TouchedObject, obj: Record<string, unknown> | undefined): Promise<void> {
    if (!obj) {
      for (const l of o.table.lists ?? []) await this.deleteWhere(sql, l, l.ownerColumn, o.key);
      for (const l of this.lists) if (l.target === o.table) await this.deleteWhere(sql, l, l.valueColumn, o.key);
      return;
    }
    for (const l of o.table.lists ?? []) if (o.props === 'all' || o.props.has(l.property)) await this.sync(sql, l, o.key, obj);
  }

  private async deleteWhere(sql: Client, l: ResolvedSideList, column: string, key: ObjectKey): Promise<void> {
    const r = (await sql.query({ text: `DELETE FROM ${l.qualified} WHERE ${quote(column)} = $1 RETURNING ${this.columnsOf(l).map(quote).join(', ')}`, values: [toParam(key)], types: TEXT } as never)) as unknown as { rows: RawRow[] };
    for (const row of r.rows) {
      const id = this.identityOf(l, row);
      if (id !== null) this.set(l, id, undefined, true);
    }
  }

  /** Makes the owner's side rows equal the realm list: deletes, position moves, inserts; unchanged rows are left alone. */
  private async sync(sql: Client, l: ResolvedSideList, key: ObjectKey, obj: Record<string, unknown>): Promise<void> {
    const ownerParam = toParam(key);
    const cols = this.columnsOf(l);
    const read = (await sql.query({
      text: `SELECT tableoid::text AS tributary_tableoid, ctid::text AS tributary_ctid, ${cols.map(quote).join(', ')} FROM ${l.qualified} WHERE ${quote(l.ownerColumn)} = $1 FOR UPDATE`,
      values: [ownerParam],
      types: TEXT,
    } as never)) as unknown as { rows: RawRow[] };
    const current: DbRow[] = read.rows.map((raw) => {
      const p = l.positionColumn ? raw[l.positionColumn] : null;
      return { tableoid: raw.tributary_tableoid!, ctid: raw.tributary_ctid!, raw, canon: canonValue(this.convert(l, raw[l.valueColumn] ?? null)), position: p === null || p === undefined ? null : Number(p) };
    });
    current.sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity) || (a.ctid < b.ctid ? -1 : 1));
    let desired = Array.from(obj[l.property] as Iterable<unknown>, (e) => {
      const v = this.elementValue(l, e);
      return { canon: canonValue(v), param: toParam(v) };
    });
    if (!l.positionColumn) {
      const seen = new Set<string>();
      desired = desired.filter((d) => !seen.has(d.canon) && !!seen.add(d.canon)); // a set
    }

    // Pair each element with a row holding its value: first one already at its position, then any.
    const paired: (DbRow | null)[] = desired.map(() => null);
    const used = new Set<DbRow>();
    const pair = (i: number, c: DbRow | undefined) => {
      if (!c) return;
      paired[i] = c;
      used.add(c);
    };
    if (l.positionColumn) {
      const atPosition = new Map<number, DbRow[]>();
      for (const c of current) if (c.position !== null) (atPosition.get(c.position) ?? atPosition.set(c.position, []).get(c.position)!).push(c);
      desired.forEach((d, i) => pair(i, atPosition.get(i)?.find((x) => !used.has(x) && x.canon === d.canon)));
    }
    const pools = groupBy(
      current.filter((c) => !used.has(c)),
      (c) => c.canon,
    );
    desired.forEach((d, i) => paired[i] || pair(i, pools.get(d.canon)?.shift()));

    const deletes = current.filter((c) => !used.has(c));
    const moves = l.positionColumn ? paired.flatMap((c, i) => (c && c.position !== i ? [{ row: c, to: i }] : [])) : [];
    const inserts = desired.flatMap((d, i) => (paired[i] ? [] : [{ param: d.param, at: i }]));

    for (const [tableoid, rows] of groupBy(deletes, (d) => d.tableoid)) {
      await sql.query(`DELETE FROM ${l.qualified} WHERE tableoid = $1::oid AND ctid = ANY($2::tid[])`, [tableoid, rows.map((r) => r.ctid)]);
    }
    if (l.positionColumn) {
      const pos = quote(l.positionColumn);
      for (const [tableoid, group] of groupBy(moves, (m) => m.row.tableoid)) {
        const ctids = group.map((m) => m.row.ctid);
        const to = group.map((m) => m.to);
        if (!l.positionUnique) {
          await sql.query(`UPDATE ${l.qualified} SET ${pos} = ($3::int8[])[array_position($2::tid[], ctid)] WHERE tableoid = $1::oid AND ctid = ANY($2::tid[])`, [tableoid, ctids, to]);
          continue;
        }
        // A unique index on the position is checked row by row: park the moved rows on negative positions first.
        const parked = await sql.query(`UPDATE ${l.qualified} SET ${pos} = -1 - ($3::int8[])[array_position($2::tid[], ctid)] WHERE tableoid = $1::oid AND ctid = ANY($2::tid[]) RETURNING ctid::text AS c`, [tableoid, ctids, to]);
        await sql.query(`UPDATE ${l.qualified} SET ${pos} = -1 - ${pos} WHERE tableoid = $1::oid AND ctid = ANY($2::tid[])`, [tableoid, parked.rows.map((r) => r.c)]);
      }
    }
    const inserted: RawRow[] = [];
    const insertColumns = [l.ownerColumn, l.valueColumn, ...(l.positionColumn ? [l.positionColumn] : [])];
    for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
      const values: unknown[] = [];
      const tuples = inserts.slice(i, i + INSERT_CHUNK).map((x) => {
        const row = l.positionColumn ? [ownerParam, x.param, x.at] : [ownerParam, x.param];
        const from = values.length;
        values.push(...row);
        return `(${row.map((_, n) => `$${from + n + 1}`).join(', ')})`;
      });
      const r = (await sql.query({ text: `INSERT INTO ${l.qualified} (${insertColumns.map(quote).join(', ')}) VALUES ${tuples.join(', ')} RETURNING ${cols.map(quote).join(', ')}`, values, types: TEXT } as never)) as unknown as { rows: RawRow[] };
      inserted.push(...r.rows);
    }

    // The index follows what this transaction wrote (capture skips the connector's own transactions).
    const idx = this.index.get(l)!;
    for (const id of [...(idx.byOwner.get(keyText(key)) ?? [])]) this.set(l, id, undefined, true);
    const moved = new Map(moves.map((m) => [m.row, m.to]));
    for (const c of current) {
      if (!used.has(c)) continue;
      const to = moved.get(c);
      this.put(l, to === undefined ? c.raw : { ...c.raw, [l.positionColumn!]: String(to) }, true);
    }
    for (const row of inserted) this.put(l, row, true);
  }
}

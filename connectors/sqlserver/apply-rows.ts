import sql from 'mssql';
import { valuesEqual, type ObjectKey, type Value } from '../../src/model';
import type { Realm } from '../../src/realm';
import { keyText } from '../kit/keys';
import { objectIdOf, type Collected as KitCollected, type Touched as KitTouched } from '../kit/touched';
import { COUNTER_TYPE, keyParams, rowKey, rowValues, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { Param, Row, Sql } from './db';
import type { RealmRouter, RealmSink } from './sink';
import { shape } from './load';
import { APPLIED_KEY, COUNTER_TABLE, deleteOldApplyCommits, deleteStatement, foreignChangesQuery, identityInsert, insertApplyCommit, insertStatement, keyAlias, mergeCounterApplied, qualify, rowQuery, rowsByKeysQuery, updateStatement } from './tsql';
import { realmToParam } from './types';

/**
 * The row side of realm → SQL Server apply (apply.ts): the realm's current state of the touched
 * objects written as INSERT / UPDATE / DELETE tagged with the connector's CHANGE_TRACKING_CONTEXT,
 * `OUTPUT` reading back what SQL Server stored (identity, computed and rowversion columns, rounding)
 * to fill into the realm after the commit, and the counters' applied totals.
 */

export type Touched = KitTouched<ResolvedTable>;
export type Collected = KitCollected<ResolvedTable>;
export type Fill = { t: ResolvedTable; key: ObjectKey; changed: Record<string, unknown> };

/** A database write raced the batch (a row changed by someone else since the barrier): the batch runs again. */
export class RowRace extends Error {
  constructor(
    readonly table: string,
    readonly key: string,
    doing: string,
  ) {
    super(`row ${table} ${key} ${doing} while the batch wrote it; the batch is run again`);
  }
}

const keyInputs = (t: ResolvedTable, key: ObjectKey): Record<string, Param> => {
  const out: Record<string, Param> = {};
  keyParams(t, key).forEach((v, i) => {
    const c = t.byColumn.get(t.keyColumns[i]!)!;
    out[`k${i}`] = { type: c.type.param, value: realmToParam(c.type, v) };
  });
  return out;
};

/** An object's column values now (a copy: the live object changes when a client's write syncs in). */
const snapshot = (t: ResolvedTable, obj: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(t.columns.map((c) => [c.property, obj[c.property]]));

export class RowWriter {
  lastTable: string | null = null;
  /** Keys written by the running batch, per table (the race check). */
  private written = new Map<ResolvedTable, Set<string>>();

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly status: { rows: number },
    private readonly warnOnce: (id: string, message: string, fields: Record<string, unknown>) => void,
  ) {}

  private get ctx(): string {
    return this.mapping.options.contextHex;
  }

  startBatch(): void {
    this.written = new Map();
    this.lastTable = null;
  }

  async readRow(db: Sql, t: ResolvedTable, key: ObjectKey): Promise<Row | null> {
    return (await db.query(rowQuery(shape(t)), keyInputs(t, key))).rows[0] ?? null;
  }

  /** The writable columns of an object's current state, with their parameters. */
  private columnsOf(path: string, t: ResolvedTable, obj: Record<string, unknown>, props: Set<string> | 'all'): { column: string; property: string; param: Param; counter: boolean }[] {
    const out: { column: string; property: string; param: Param; counter: boolean }[] = [];
    for (const c of t.columns) {
      if (t.keyColumns.includes(c.column) || c.readOnly || (c.identity && !t.keyColumns.includes(c.column))) continue;
      if (c.toRealm && !c.fromRealm) {
        this.warnOnce(`conv:${t.table}.${c.column}`, `column ${t.table}.${c.column} has a toRealm converter without fromRealm; it is not written back`, { path });
        continue;
      }
      let v = obj[c.property];
      const link = t.links.find((l) => l.column === c.column);
      if (link && (props === 'all' || props.has(link.property)) && !(props !== 'all' && props.has(c.property))) {
        const target = this.mapping.tables.get(link.targetTable)!;
        const o = obj[link.property] as Record<string, unknown> | null | undefined;
        if (o) v = o[target.keyProperty];
        else if (props !== 'all') v = null;
      }
      if (c.fromRealm) v = c.fromRealm(v);
      const wrote = props === 'all' || props.has(c.property) || (link !== undefined && props.has(link.property));
      if (!wrote) continue;
      out.push({ column: c.column, property: c.property, param: { type: c.type.param, value: realmToParam(c.type, v) }, counter: c.counter });
    }
    return out;
  }

  private noteWritten(t: ResolvedTable, key: ObjectKey): void {
    let s = this.written.get(t);
    if (!s) this.written.set(t, (s = new Set()));
    s.add(keyText(key));
  }

  /** Writes the realm's state of every touched object, table by table in load order (deletes last, in reverse); returns what to fill back into the realm after the commit. */
  async writeObjects(db: Sql, path: string, realm: Realm, c: Collected): Promise<Fill[]> {
    const fills: Fill[] = [];
    const byTable = new Map<ResolvedTable, Touched[]>();
    for (const o of c.objects.values()) {
      let list = byTable.get(o.table);
      if (!list) byTable.set(o.table, (list = []));
      list.push(o);
    }
    const deletes: Touched[] = [];
    for (const t of this.mapping.loadOrder) {
      const list = byTable.get(t);
      if (!list) continue;
      const live: { o: Touched; obj: Record<string, unknown> }[] = [];
      for (const o of list) {
        this.status.rows++;
        const obj = realm.objectForPrimaryKey<Record<string, unknown>>(t.type, o.key) ?? null;
        if (obj) live.push({ o, obj });
        else deletes.push(o);
      }
      if (live.length === 0) continue;
      const existing = await this.readRows(db, t, live.map((x) => x.o.key));
      const inserts: { o: Touched; obj: Record<string, unknown> }[] = [];
      for (const x of live) {
        this.warnUnknownProperties(path, x.o);
        const row = existing.get(keyText(x.o.key));
        if (row) await this.update(db, path, x.o, x.obj, row, fills);
        else inserts.push(x);
      }
      if (inserts.length > 0) await this.insert(db, path, t, inserts, fills);
      for (const x of live) this.router.remember(t, x.o.key, path);
    }
    for (const o of deletes.reverse()) await this.remove(db, o);
    return fills;
  }

  private warnUnknownProperties(path: string, o: Touched): void {
    if (o.props === 'all') return;
    const t = o.table;
    const known = new Set([t.keyProperty, ...t.columns.map((c) => c.property), ...t.links.map((l) => l.property)]);
    for (const p of o.props) if (!known.has(p)) this.warnOnce(`prop:${t.type}.${p}`, `property ${t.type}.${p} has no column; its values stay in the realm`, { path });
  }

  /** The rows of `keys` that exist, by key text (a few keys per statement). */
  async readRows(db: Sql, t: ResolvedTable, keys: ObjectKey[]): Promise<Map<string, Row>> {
    const out = new Map<string, Row>();
    const per = Math.max(1, Math.floor(1000 / t.keyColumns.length));
    for (let at = 0; at < keys.length; at += per) {
      const chunk = keys.slice(at, at + per);
      const params: Record<string, Param> = {};
      chunk.forEach((key, i) => {
        for (const [name, p] of Object.entries(keyInputs(t, key))) params[`${name.replace(/^k(\d+)$/, `k${i}_$1`)}`] = p;
      });
      for (const row of (await db.query(rowsByKeysQuery(shape(t), chunk.length), params)).rows) {
        const key = rowKey(t, row);
        if (key !== null) out.set(keyText(key), row);
      }
    }
    return out;
  }

  /** New rows of a table as multi-row INSERTs (identity keys with IDENTITY_INSERT), the stored rows read back by OUTPUT. */
  private async insert(db: Sql, path: string, t: ResolvedTable, list: { o: Touched; obj: Record<string, unknown> }[], fills: Fill[]): Promise<void> {
    this.lastTable = t.table;
    const keyCols = t.keyColumns.filter((k) => !t.byColumn.get(k)!.readOnly);
    const rows = list.map(({ o, obj }) => {
      const keyValues = keyParams(t, o.key);
      const keyParamsOf = keyCols.map((k): Param => {
        const c = t.byColumn.get(k)!;
        return { type: c.type.param, value: realmToParam(c.type, keyValues[t.keyColumns.indexOf(k)]) };
      });
      const cols = this.columnsOf(path, t, obj, 'all');
      return { o, before: snapshot(t, obj), cols, params: [...keyParamsOf, ...cols.map((c) => c.param)] };
    });
    const columns = [...keyCols, ...rows[0]!.cols.map((c) => c.column)];
    const identityKey = t.keyColumns.some((k) => t.byColumn.get(k)!.identity);
    const per = Math.max(1, Math.min(500, Math.floor(2000 / Math.max(1, columns.length))));
    for (let at = 0; at < rows.length; at += per) {
      const chunk = rows.slice(at, at + per);
      const params: Record<string, Param> = {};
      chunk.forEach((r, ri) => r.params.forEach((p, ci) => (params[chunk.length === 1 ? `v${ci}` : `r${ri}_${ci}`] = p)));
      const insert = insertStatement(shape(t), columns, this.ctx, chunk.length);
      // In one request: SET options made inside sp_executesql end with it.
      const text = identityKey ? `${identityInsert(t.schema, t.table, true)}; ${insert}; ${identityInsert(t.schema, t.table, false)}` : insert;
      let stored: Row[];
      try {
        stored = (await db.query(text, params)).rows;
      } catch (e) {
        const n = (e as { number?: number }).number;
        if (n === 2627 || n === 2601) {
          const now = await this.readRows(db, t, chunk.map((r) => r.o.key)).catch(() => new Map<string, Row>());
          const raced = chunk.find((r) => now.has(keyText(r.o.key)));
          if (raced) throw new RowRace(t.table, keyText(raced.o.key), 'was inserted');
        }
        throw e;
      } finally {
        if (identityKey) await db.query(identityInsert(t.schema, t.table, false)).catch(() => undefined);
      }
      const byKey = new Map<string, Row>();
      for (const row of stored) {
        const key = rowKey(t, row);
        if (key !== null) byKey.set(keyText(key), row);
      }
      for (const r of chunk) {
        this.noteWritten(t, r.o.key);
        const row = byKey.get(keyText(r.o.key));
        for (const c of t.columns.filter((x) => x.counter)) await this.counterApplied(db, t, r.o.key, c.column, Number(row?.[c.column] ?? 0), true);
        if (row) this.noteStored(t, r.o.key, r.before, row, 'all', fills);
      }
    }
  }

  private async update(db: Sql, path: string, o: Touched, obj: Record<string, unknown>, existing: Row, fills: Fill[]): Promise<void> {
    const t = o.table;
    this.lastTable = t.table;
    const cols = this.columnsOf(path, t, obj, o.props);
    // The values as written: the live object may take a client's newer value while the statement runs.
    const before = snapshot(t, obj);
    const hasReadOnly = t.columns.some((c) => c.readOnly);
    if (cols.length === 0) {
      if (hasReadOnly) this.noteStored(t, o.key, before, existing, new Set(), fills);
      return;
    }
    // A counter only incremented in this batch is written as `n = n + δ`: concurrent database increments add up.
    const delta = (c: { counter: boolean; property: string }) => (c.counter && o.props !== 'all' && o.deltas?.has(c.property) && !o.assigned?.has(c.property) ? o.deltas.get(c.property)! : null);
    const set = cols.map((c) => ({ column: c.column, add: delta(c) !== null }));
    const params: Record<string, Param> = { ...keyInputs(t, o.key) };
    cols.forEach((c, i) => (params[`v${i}`] = delta(c) !== null ? { type: sql.BigInt, value: delta(c) } : c.param));
    const counters = cols.filter((c) => c.counter).map((c) => c.column);
    const r = await db.query(updateStatement(shape(t), set, this.ctx, counters), params);
    const stored = r.rows[0];
    if (!stored) throw new RowRace(t.table, keyText(o.key), 'was deleted');
    this.noteWritten(t, o.key);
    for (const col of counters) await this.counterApplied(db, t, o.key, col, Number(stored[col] ?? 0) - Number(stored[`__old_${col}`] ?? 0), false);
    this.noteStored(t, o.key, before, stored, new Set(cols.map((c) => c.column)), fills);
  }

  private async remove(db: Sql, o: Touched): Promise<void> {
    const t = o.table;
    this.lastTable = t.table;
    await db.query(deleteStatement(shape(t), this.ctx), keyInputs(t, o.key));
    this.noteWritten(t, o.key);
    if (t.columns.some((c) => c.counter)) await db.query(`DELETE FROM ${qualify(t.schema, COUNTER_TABLE)} WHERE connector = @connector AND table_name = @table AND key_text = @key`, { connector: this.mapping.options.name, table: t.table, key: keyText(o.key) });
    this.router.forget(t, o.key);
  }

  private async counterApplied(db: Sql, t: ResolvedTable, key: ObjectKey, column: string, delta: number, reset: boolean): Promise<void> {
    if (reset) await db.query(`DELETE FROM ${qualify(t.schema, COUNTER_TABLE)} WHERE connector = @connector AND table_name = @table AND key_text = @key AND column_name = @column`, { connector: this.mapping.options.name, table: t.table, key: keyText(key), column });
    else if (delta === 0) return;
    await db.query(mergeCounterApplied(t.schema), { connector: this.mapping.options.name, table: t.table, key: keyText(key), column, delta: { type: sql.BigInt, value: delta } });
  }

  /**
   * What SQL Server stored that the realm does not hold: identity, computed and rowversion
   * columns, and written values it rounded or padded (datetime, char(n), decimal scale). Never a
   * counter (its total arrives through increments).
   */
  private noteStored(t: ResolvedTable, key: ObjectKey, before: Record<string, unknown>, stored: Row, written: Set<string> | 'all', fills: Fill[]): void {
    const now = rowValues(t, stored, `${t.table} as stored`);
    let changed: Record<string, unknown> | null = null;
    for (const c of t.columns) {
      if (c.counter || t.keyColumns.includes(c.column)) continue;
      const generated = c.readOnly || c.identity;
      if (!generated && written !== 'all' && !written.has(c.column)) continue;
      if (!valuesEqual((before[c.property] ?? null) as Value, (now[c.property] ?? null) as Value)) (changed ??= {})[c.property] = now[c.property];
    }
    if (changed) fills.push({ t, key, changed });
  }

  private commits = 0;
  /** When the last poll capture confirmed started (ms since the epoch): markers older than it were read. */
  captureConfirmedAt: () => number = () => 0;

  /**
   * The batch's marker row: capture counts the own commit by it and skips exactly the rows it lists,
   * writing the commit's other changes (ON DELETE CASCADE, triggers) into the realms. Markers
   * capture has read past are removed now and then.
   */
  async markCommit(db: Sql, path: string, through: number): Promise<void> {
    const o = this.mapping.options;
    const now = BigInt(Date.now());
    // Also which realm transactions the commit applied (under a name no table has; a reader that
    // does not know it takes it for a table nothing belongs to): capture tells the realm-wins
    // protection when it passes the commit (kit conflict.ts).
    const written = JSON.stringify({ ...Object.fromEntries([...this.written].map(([t, keys]) => [t.table, [...keys]])), [APPLIED_KEY]: [path, String(through)] });
    await db.query(insertApplyCommit(o.schema, o.contextHex), { connector: o.name, seq: { type: sql.BigInt, value: (now * 1000n + BigInt(this.commits++ % 1000)).toString() }, written: { type: sql.NVarChar(sql.MAX), value: written } });
    // Only markers capture has read past: older than a minute before the start of its last confirmed poll.
    const readUpTo = BigInt(Math.floor(Math.min(Date.now(), this.captureConfirmedAt())));
    if (this.commits % 100 === 1) await db.query(deleteOldApplyCommits(o.schema, o.contextHex), { connector: o.name, old: { type: sql.BigInt, value: ((readUpTo - 60_000n) * 1000n).toString() } });
  }

  /** Keys of the batch's rows that someone else changed since `since` (committed): a race. */
  async raced(db: Sql, since: bigint): Promise<RowRace | null> {
    for (const [t, keys] of this.written) {
      // READ UNCOMMITTED for this one read (a SET inside sp_executesql ends with it): no wait on other sessions'
      // uncommitted change records, which cannot touch our locked rows and which CHANGETABLE leaves out anyway.
      const r = await db.query(`SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; ${foreignChangesQuery(shape(t), this.ctx)}; SET TRANSACTION ISOLATION LEVEL READ COMMITTED`, { since: { type: sql.BigInt, value: since.toString() } });
      for (const x of r.rows) {
        const key = rowKey(t, Object.fromEntries(t.keyColumns.map((k, i) => [k, x[keyAlias(i)]])));
        if (key !== null && keys.has(keyText(key))) return new RowRace(t.table, keyText(key), 'was changed by another session');
      }
    }
    return null;
  }

  /** After the commit: the stored values into the realm (one write). */
  fill(realm: Realm, fills: Fill[]): void {
    if (fills.length === 0) return;
    realm.write(() => {
      for (const f of fills) this.sink.fill(realm, f.t, f.key, f.changed);
    });
  }

  /** The realm's counter bases of a deleted object go with it. */
  dropBases(realm: Realm, t: ResolvedTable, key: ObjectKey): void {
    if (!t.columns.some((c) => c.counter) || !realm.schema.some((s) => s.name === COUNTER_TYPE)) return;
    realm.write(() => this.sink.dropCounterBases(realm, t, key));
  }

  objectId(t: ResolvedTable, key: ObjectKey): string {
    return objectIdOf(t, key);
  }
}

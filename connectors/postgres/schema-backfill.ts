import type { Client } from 'pg';
import type { Adapter } from '../../src/adapter';
import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import { keyText, rowKey, type RawRow, type ResolvedColumn, type ResolvedLink, type ResolvedMapping, type ResolvedTable } from './mapping';
import { stateSchema } from './position';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import { TributaryError } from '../../src/errors';

/** The control-realm type that makes a pending backfill survive a crash (`/tributary-connectors/<name>`). */
export const BACKFILL_TYPE = 'TributaryBackfill';
const backfillSchema = { name: BACKFILL_TYPE, primaryKey: 'id', properties: { id: 'string', table: 'string', column: 'string', createdAt: 'date' } };

const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';
const TEXT = { getTypeParser: () => (v: string) => v };

/** A realm value that is still what a property holds before anything was written to it. */
function isUnset(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'string') return v === '';
  if (typeof v === 'boolean') return v === false;
  if (v instanceof Date) return v.getTime() === 0;
  if (v instanceof ArrayBuffer) return v.byteLength === 0;
  if (ArrayBuffer.isView(v)) return v.byteLength === 0;
  if (typeof v === 'object' && typeof (v as { length?: unknown }).length === 'number') return (v as { length: number }).length === 0;
  return /^[0.-]+$/.test(String(v)); // Decimal128 0, the zero UUID and ObjectId
}

/** What the backfills use of schema evolution (schema-evolution.ts). */
export interface BackfillHost {
  mapping: ResolvedMapping;
  sink: RealmSink;
  router: RealmRouter;
  adapter: Adapter;
  controlPath: string;
  log: Logger;
  status: { rowsBackfilled: number; backfillsPending: number };
  /** The schema connection (never apply's or capture's). */
  db(): Promise<Client>;
  dropConnection(): void;
  /** Runs `fn` after the schema work queued before it (one connection, one thing at a time). */
  enqueue(fn: () => Promise<void>): void;
}

/**
 * Existing rows' values of columns that became properties, copied into the realms: a column
 * added with a DEFAULT (or an identity) has values in rows that never appear in the WAL, and so
 * does one added while the connector was stopped. Pending backfills are recorded in the control
 * realm before the property can appear in any realm, so a crash re-runs them at the next start.
 */
export class Backfills {
  /** Waiting to run: table → column → scan even without a default. */
  private readonly pending = new Map<string, Map<string, boolean>>();
  private running = 0;
  /** Keys capture wrote since a column's backfill was scheduled: table → column → keys. */
  private readonly touched = new Map<string, Map<string, Set<string>>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private control: Realm | null = null;
  private started = false;
  private closed = false;

  constructor(private readonly h: BackfillHost) {}

  /** Nothing queued or running. */
  get idle(): boolean {
    return this.pending.size === 0 && this.running === 0;
  }

  /** `ready` was called (backfills run from then on). */
  get isReady(): boolean {
    return this.started;
  }

  /** Something waits for a retry timer. */
  get waiting(): boolean {
    return this.retryTimers.size > 0;
  }

  close(): void {
    this.closed = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    if (this.control && !this.control.isClosed) this.control.close();
    this.control = null;
  }

  /** Starts the backfills found so far and those an earlier run recorded (none after an initial load). */
  ready(loaded: boolean): void {
    this.started = true;
    const control = this.controlRealm();
    if (loaded) {
      this.pending.clear();
      this.touched.clear();
      control.write(() => control.delete(control.objects(BACKFILL_TYPE)));
    } else {
      for (const m of [...control.objects<{ table: string; column: string }>(BACKFILL_TYPE)]) {
        const t = this.h.mapping.tables.get(m.table);
        if (t && t.allColumns.some((c) => c.name === m.column)) this.schedule(t, [m.column], true, false);
        else control.write(() => control.delete(m));
      }
    }
    this.updatePending();
    this.kick();
  }

  /** A row was written into a realm: its key no longer needs the scanned value of tracked columns. */
  upserted(t: ResolvedTable, row: RawRow): void {
    const byColumn = this.touched.get(t.table);
    if (!byColumn) return;
    let key: string | null = null;
    for (const [column, keys] of byColumn) {
      if (row[column] === undefined) continue;
      if (key === null) {
        const k = rowKey(t, row);
        if (k === null) return;
        key = keyText(k);
      }
      keys.add(key);
    }
  }

  /**
   * Queues a backfill of `columns` (`always`: scan even if the column has no default) and starts
   * tracking the keys capture writes from now on. `record` writes the durable marker first, before
   * any realm can hold the new property: a crash then re-runs the backfill at the next start.
   */
  schedule(t: ResolvedTable, columns: string[], always: boolean, record: boolean): void {
    if (record) {
      const control = this.controlRealm();
      control.write(() => {
        for (const c of columns) control.create(BACKFILL_TYPE, { id: `${t.table}.${c}`, table: t.table, column: c, createdAt: new Date() }, 'modified');
      });
    }
    let p = this.pending.get(t.table);
    if (!p) this.pending.set(t.table, (p = new Map()));
    let tracked = this.touched.get(t.table);
    if (!tracked) this.touched.set(t.table, (tracked = new Map()));
    for (const c of columns) {
      p.set(c, (p.get(c) ?? false) || always);
      if (!tracked.has(c)) tracked.set(c, new Set());
    }
    this.updatePending();
  }

  kick(): void {
    if (!this.started || this.closed || this.pending.size === 0) return;
    this.h.enqueue(() => this.runPending());
  }

  private async runPending(): Promise<void> {
    for (const [table, columns] of [...this.pending]) {
      if (this.closed) return;
      this.pending.delete(table);
      this.running += columns.size;
      const t = this.h.mapping.tables.get(table)!;
      try {
        await this.backfill(t, columns);
      } catch (e) {
        if (this.closed) return;
        const again = this.pending.get(table) ?? new Map<string, boolean>();
        for (const [c, always] of columns) again.set(c, (again.get(c) ?? false) || always);
        this.pending.set(table, again);
        this.h.dropConnection();
        this.h.log.warn(`postgres connector: backfill of ${table} failed; retrying in 5 s`, { error: String(e) });
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.kick();
        }, 5_000);
        timer.unref();
        this.retryTimers.add(timer);
      } finally {
        this.running -= columns.size;
        this.updatePending();
      }
    }
  }

  /**
   * Existing rows' values of new columns → realms. A column added with a DEFAULT (or an identity,
   * or while the connector was stopped) has values in existing rows that never appear in the WAL.
   *
   * Why this converges: key tracking started when the property was added, before the snapshot
   * this scan reads. Every change to a row after that point is in the WAL with the column's value
   * (the Relation message precedes the first change after the DDL), and capture applies those
   * changes in commit order. For each row the scan returns, the value is written only if the
   * object exists, capture has not written the column for that key since tracking started, and the
   * realm still holds the property's unset value. If capture wrote the row, the realm holds a value
   * from the WAL and every later change follows it there. If not, the scanned value is the row's
   * value as of the snapshot, and any later change still reaches the realm through capture after
   * this write, so the last write is the database's latest value either way. Rows are never created
   * here, so a row deleted meanwhile stays deleted.
   */
  private async backfill(t: ResolvedTable, wanted: Map<string, boolean>): Promise<void> {
    const db = await this.h.db();
    let columns = [...wanted.keys()].filter((c) => t.allColumns.some((k) => k.name === c));
    const check = columns.filter((c) => !wanted.get(c));
    if (check.length > 0) {
      // Added with no default and no identity: existing rows are NULL, every value is in the WAL.
      const r = await db.query("SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attname = ANY($2) AND NOT attisdropped AND (atthasdef OR attidentity <> '')", [t.qualified, check]);
      const filled = new Set((r.rows as { attname: string }[]).map((x) => x.attname));
      columns = columns.filter((c) => wanted.get(c) || filled.has(c));
    }
    const fills = columns.map((column) => ({ column, plain: t.byColumn.get(column) ?? null, links: t.links.filter((l) => l.column === column) })).filter((f) => f.plain || f.links.length > 0);
    const paths = new Set<string>();
    if (fills.length > 0) {
      await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const select = [...new Set([...t.keyColumns, ...fills.map((f) => f.column)])].map(quote).join(', ');
        await db.query(`DECLARE tributary_backfill NO SCROLL CURSOR FOR SELECT ${select} FROM ${t.qualified} WHERE ${fills.map((f) => `${quote(f.column)} IS NOT NULL`).join(' OR ')}`);
        for (;;) {
          const r = await db.query({ text: `FETCH ${this.h.mapping.options.batchSize} FROM tributary_backfill`, types: TEXT } as never);
          const rows = (r as unknown as { rows: RawRow[] }).rows;
          if (rows.length === 0) break;
          this.writeBatch(t, fills, rows, paths);
          if (this.closed) throw new TributaryError('INVALID_STATE', 'the connector is stopping');
        }
        await db.query('COMMIT');
      } catch (e) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      for (const p of paths) await this.h.sink.uploaded(p);
    }
    const done = [...wanted.keys()].filter((c) => !this.pending.get(t.table)?.has(c));
    const tracked = this.touched.get(t.table);
    for (const c of done) tracked?.delete(c);
    if (tracked?.size === 0) this.touched.delete(t.table);
    const control = this.controlRealm();
    control.write(() => {
      for (const c of done) {
        const m = control.objectForPrimaryKey(BACKFILL_TYPE, `${t.table}.${c}`);
        if (m) control.delete(m);
      }
    });
  }

  private writeBatch(t: ResolvedTable, fills: { column: string; plain: ResolvedColumn | null; links: ResolvedLink[] }[], rows: RawRow[], paths: Set<string>): void {
    const tracked = this.touched.get(t.table);
    const byPath = new Map<string, { key: NonNullable<ReturnType<typeof rowKey>>; values: Record<string, unknown> }[]>();
    for (const row of rows) {
      const key = rowKey(t, row);
      if (key === null) continue;
      const path = this.h.router.pathOf(t, key);
      if (path === null) continue;
      const realm = this.h.sink.realm(path);
      const obj = realm.objectForPrimaryKey<Record<string, unknown>>(t.type, key);
      if (!obj) continue;
      const values: Record<string, unknown> = {};
      for (const f of fills) {
        const text = row[f.column];
        if (text === null || text === undefined || tracked?.get(f.column)?.has(keyText(key))) continue;
        if (f.plain && isUnset(obj[f.plain.property])) {
          try {
            let v: unknown = f.plain.type.fromText(text);
            if (f.plain.toRealm) v = f.plain.toRealm(v);
            values[f.plain.property] = v;
          } catch (e) {
            this.h.log.warn(`postgres connector: backfill: ${t.table}.${f.column} = '${text.slice(0, 80)}' does not convert to ${f.plain.type.realm}; skipped`, { error: String(e) });
          }
        }
        for (const l of f.links) {
          if (!isUnset(obj[l.property])) continue;
          const target = this.h.mapping.tables.get(l.targetTable)!;
          const targetKey = rowKey(target, { [target.keyColumns[0]]: text });
          const targetObj = targetKey === null ? undefined : realm.objectForPrimaryKey(target.type, targetKey);
          if (targetObj) values[l.property] = targetObj;
        }
      }
      if (Object.keys(values).length === 0) continue;
      let list = byPath.get(path);
      if (!list) byPath.set(path, (list = []));
      list.push({ key, values });
    }
    for (const [path, list] of byPath) {
      const realm = this.h.sink.realm(path);
      let n = 0;
      realm.write(() => {
        for (const w of list) if (this.h.sink.fill(realm, t, w.key, w.values)) n++;
      });
      this.h.status.rowsBackfilled += n;
      paths.add(path);
    }
  }

  private updatePending(): void {
    let n = this.running;
    for (const p of this.pending.values()) n += p.size;
    this.h.status.backfillsPending = n;
  }

  private controlRealm(): Realm {
    if (!this.control || this.control.isClosed) this.control = this.h.adapter.realmAtPath(this.h.controlPath, [stateSchema as never, backfillSchema as never]);
    return this.control;
  }
}

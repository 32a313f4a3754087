import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import { keyText } from '../kit/keys';
import type { Row, Sql } from './db';
import type { ResolvedTable } from './mapping';
import type { RealmSink } from './sink';
import { COUNTER_TABLE, qualify } from './tsql';

/**
 * Counters over Change Tracking. Change Tracking gives the row as it is, never its old values, so a
 * database increment is recovered as a difference: each realm keeps, per counter, a base — the
 * column's value and the connector's applied total (`tributary_counter.applied`, the sum of the
 * realm increments apply wrote) as of the last capture — written in the same realm transaction as
 * the data and the position. A captured value N with applied total A then reaches the realm as
 * the increment (N − base) − (A − applied): what the database's own writers added, never the
 * realm's own increments again, exactly once across crashes on both sides.
 */

/** Applied totals by `table \0 keyText \0 column`, read in the capture's snapshot. */
export type AppliedTotals = Map<string, number>;

export const appliedId = (t: ResolvedTable, key: ObjectKey, column: string) => `${t.table}\u0000${keyText(key)}\u0000${column}`;

export async function readAppliedTotals(db: Sql, schema: string, connector: string, tables: readonly ResolvedTable[]): Promise<AppliedTotals> {
  const out: AppliedTotals = new Map();
  if (tables.length === 0) return out;
  const r = await db.query(`SELECT table_name, key_text, column_name, applied FROM ${qualify(schema, COUNTER_TABLE)} WHERE connector = @connector`, { connector });
  const byName = new Set(tables.map((t) => t.table));
  for (const x of r.rows) if (byName.has(String(x.table_name))) out.set(`${String(x.table_name)}\u0000${String(x.key_text)}\u0000${String(x.column_name)}`, Number(x.applied));
  return out;
}

/**
 * Inside the realm write of a captured row whose object exists: takes the counter columns out of
 * `row` and returns the increments to apply after the upsert (and records the new bases).
 */
export function counterIncrements(o: { sink: RealmSink; realm: Realm; t: ResolvedTable; key: ObjectKey; row: Row; applied: AppliedTotals; version: number; creationVersion: number | null }): { row: Row; increments: [string, number][] } {
  const { sink, realm, t, key } = o;
  let row = o.row;
  const increments: [string, number][] = [];
  for (const c of t.columns) {
    if (!c.counter) continue;
    const v = row[c.column];
    if (v === undefined || v === null) continue;
    const now = Number(v);
    const applied = o.applied.get(appliedId(t, key, c.column)) ?? 0;
    const b = sink.counterBase(realm, t, key, c.property);
    const valid = b !== null && !(o.creationVersion !== null && o.creationVersion > b.version);
    const delta = valid ? now - b!.base - (applied - b!.applied) : now - applied;
    if (row === o.row) row = { ...row };
    delete row[c.column];
    if (delta !== 0) increments.push([c.property, delta]);
    sink.setCounterBase(realm, t, key, c.property, { base: now, applied, version: o.version });
  }
  return { row, increments };
}

/** Inside the realm write of a row written whole (a new object, a load, a move): records the bases. */
export function recordCounterBases(o: { sink: RealmSink; realm: Realm; t: ResolvedTable; key: ObjectKey; row: Row; applied: AppliedTotals; version: number }): void {
  for (const c of o.t.columns) {
    if (!c.counter) continue;
    const v = o.row[c.column];
    if (v === undefined || v === null) continue;
    o.sink.setCounterBase(o.realm, o.t, o.key, c.property, { base: Number(v), applied: o.applied.get(appliedId(o.t, o.key, c.column)) ?? 0, version: o.version });
  }
}

import type { Client } from 'pg';
import type { Logger } from '../../src/shared/logger';
import type { ObjectKey } from '../../src/model';
import { rowKey, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { Lsn } from './position';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import type { LoadProgress } from './load-progress';
import { recordLoadPosition, writeLoadBatch } from '../kit/load';

export type { LoadProgress } from './load-progress';


const TEXT = { getTypeParser: () => (v: string) => v };

/** Reads a table (every column, or `columns`) in batches through a cursor, every value as text (the same form pgoutput sends). */
export async function scanTable(sql: Client, t: ResolvedTable, batchSize: number, onBatch: (rows: RawRow[]) => void | Promise<void>, columns: string[] = t.allColumns.map((c) => c.name)): Promise<number> {
  const cursor = `tributary_scan_${t.table.replace(/[^a-z0-9_]/gi, '_')}`;
  const cols = columns.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
  await sql.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${cols} FROM ${t.qualified}`);
  let total = 0;
  for (;;) {
    const r = await sql.query({ text: `FETCH ${batchSize} FROM ${cursor}`, types: TEXT } as never);
    const rows = (r as unknown as { rows: RawRow[] }).rows;
    if (rows.length === 0) break;
    total += rows.length;
    await onBatch(rows);
  }
  await sql.query(`CLOSE ${cursor}`);
  return total;
}

async function estimate(sql: Client, t: ResolvedTable): Promise<number | null> {
  const r = await sql.query(
    `SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(greatest(p.reltuples, 0)) FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhrelid WHERE h.inhparent = c.oid) ELSE greatest(c.reltuples, 0) END AS n FROM pg_class c WHERE c.oid = $1::regclass`,
    [t.qualified],
  );
  const n = Number(r.rows[0]?.n);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/**
 * `from-database`: copies every mapped table into its realms inside the slot's exported
 * snapshot (SET TRANSACTION SNAPSHOT), so the load and the stream meet at the slot's consistent
 * point with nothing lost or doubled. Batches of `batchSize` rows go through the kit's
 * `writeLoadBatch` (one realm transaction per realm each); each realm then records
 * `resumeFrom = consistentPoint`.
 */
export async function initialLoad(args: {
  sql: Client;
  snapshotName: string;
  consistentPoint: Lsn;
  mapping: ResolvedMapping;
  sink: RealmSink;
  router: RealmRouter;
  log: Logger;
  onProgress?: (p: LoadProgress) => void;
}): Promise<string[]> {
  const { sql, mapping, sink, router, log } = args;
  const touched = new Set<string>();
  for (const t of mapping.tables.values()) if (t.placement.kind === 'fixed') touched.add(t.placement.path);
  await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await sql.query(`SET TRANSACTION SNAPSHOT '${args.snapshotName.replace(/'/g, "''")}'`);
    for (const t of mapping.loadOrder) {
      const est = await estimate(sql, t);
      let rows = 0;
      const started = Date.now();
      await scanTable(sql, t, mapping.options.batchSize, async (batch) => {
        for (const p of writeLoadBatch({ t, rows: batch, router, sink, key: rowKey, log, label: 'postgres connector' })) touched.add(p);
        rows += batch.length;
        args.onProgress?.({ table: t.table, rows, estimate: est, done: false });
      });
      args.onProgress?.({ table: t.table, rows, estimate: est, done: true });
      log.info('postgres connector: initial load: table copied', { table: t.table, rows, ms: Date.now() - started });
    }
    await resolveLateLinks(sql, mapping, sink, router);
    for (const p of await router.lists.load(sql, sink, log, args.onProgress)) touched.add(p); // side tables → lists, after their owners and targets
    await sql.query('COMMIT');
  } catch (e) {
    await sql.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  recordLoadPosition(sink, touched, args.consistentPoint);
  return [...touched];
}

/**
 * Links to rows loaded after the row pointing at them: a table's own rows (a manager stored after
 * the employee), and the tables of a cycle (loaded in some order, one of them first). Load order
 * puts every other link's target first. A second pass over those tables, in the same snapshot,
 * reads only the key and those link columns and sets each link that is still null and whose
 * target is in the row's realm. One batch in memory at a time, as the load.
 */
async function resolveLateLinks(sql: Client, mapping: ResolvedMapping, sink: RealmSink, router: RealmRouter): Promise<void> {
  const order = new Map(mapping.loadOrder.map((t, i) => [t.table, i]));
  for (const t of mapping.loadOrder) {
    const late = t.links.filter((l) => order.get(l.targetTable)! >= order.get(t.table)!);
    if (late.length === 0) continue;
    await scanTable(
      sql,
      t,
      mapping.options.batchSize,
      (batch) => {
        const byPath = new Map<string, { key: ObjectKey; values: Record<string, unknown> }[]>();
        for (const row of batch) {
          const key = rowKey(t, row);
          const path = key === null ? null : router.pathOf(t, key);
          if (key === null || path === null) continue;
          const realm = sink.realm(path);
          const obj = sink.find(realm, t, key);
          if (!obj) continue;
          const values: Record<string, unknown> = {};
          for (const l of late) {
            const text = row[l.column];
            if (text === null || text === undefined || obj[l.property]) continue;
            const target = mapping.tables.get(l.targetTable)!;
            const targetKey = rowKey(target, { [target.keyColumns[0]]: text });
            const targetObj = targetKey === null ? undefined : realm.objectForPrimaryKey(target.type, targetKey);
            if (targetObj) values[l.property] = targetObj;
          }
          if (Object.keys(values).length > 0) (byPath.get(path) ?? byPath.set(path, []).get(path)!).push({ key, values });
        }
        for (const [path, list] of byPath) {
          const realm = sink.realm(path);
          realm.write(() => {
            for (const { key, values } of list) sink.fill(realm, t, key, values);
          });
        }
      },
      [...new Set([...t.keyColumns, ...late.map((l) => l.column)])],
    );
  }
}

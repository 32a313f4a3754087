import sql, { type ConnectionPool } from 'mssql';
import type { Logger } from '../../src/shared/logger';
import { recordLoadPosition, writeLoadBatch } from '../kit/load';
import type { LoadProgress } from '../kit/load-progress';
import { readAppliedTotals, recordCounterBases, type AppliedTotals } from './counters';
import { inTransaction, type Row, type Sql } from './db';
import { rowKey, type ResolvedMapping, type ResolvedTable } from './mapping';
import { versionOf, type Version } from './position';
import type { RealmRouter, RealmSink } from './sink';
import { CURRENT_VERSION, scanQuery } from './tsql';

export type { LoadProgress } from '../kit/load-progress';

/** The columns a statement reads of a table, with their SELECT expressions. */
export const shape = (t: ResolvedTable) => ({ schema: t.schema, table: t.table, keyColumns: t.keyColumns, columns: t.allColumns.map((c) => ({ name: c.name, select: c.type.select })) });

/** Reads a table in key order, `batchSize` rows at a time (inside the caller's transaction). */
export async function scanTable(db: Sql, t: ResolvedTable, batchSize: number, onBatch: (rows: Row[]) => void | Promise<void>): Promise<number> {
  const text = scanQuery(shape(t));
  let total = 0;
  for (;;) {
    const r = await db.query(text, { skip: { type: sql.BigInt, value: total }, take: { type: sql.Int, value: batchSize } });
    if (r.rows.length === 0) break;
    total += r.rows.length;
    await onBatch(r.rows);
    if (r.rows.length < batchSize) break;
  }
  return total;
}

/**
 * Writes a batch of loaded rows (the kit's `writeLoadBatch`: one realm transaction per realm), then
 * records the counter bases of those rows.
 */
export function writeRows(o: { t: ResolvedTable; rows: Row[]; mapping: ResolvedMapping; sink: RealmSink; router: RealmRouter; applied: AppliedTotals; version: Version; log: Logger }): string[] {
  const paths = writeLoadBatch({ t: o.t, rows: o.rows, router: o.router, sink: o.sink as never, key: (t, row) => rowKey(t, row), log: o.log, label: 'sqlserver connector' });
  if (o.t.columns.some((c) => c.counter)) {
    for (const p of paths) {
      const realm = o.sink.realm(p);
      realm.write(() => {
        for (const row of o.rows) {
          const key = rowKey(o.t, row);
          if (key !== null && o.router.pathOf(o.t, key) === p) recordCounterBases({ sink: o.sink, realm, t: o.t, key, row, applied: o.applied, version: Number(o.version) });
        }
      });
    }
  }
  return paths;
}

/**
 * `from-database`: copies every mapped table into its realms from ONE snapshot transaction that
 * also reads `CHANGE_TRACKING_CURRENT_VERSION()`, so the load and the change stream meet at that
 * version with nothing lost or doubled. Each realm then records `resumeFrom = version + 1`.
 */
export async function initialLoad(args: { pool: ConnectionPool; mapping: ResolvedMapping; sink: RealmSink; router: RealmRouter; log: Logger; onProgress?: (p: LoadProgress) => void }): Promise<{ version: Version; paths: string[] }> {
  const { mapping, sink, router, log } = args;
  const touched = new Set<string>();
  const version = await inTransaction(args.pool, 'SNAPSHOT', async (db) => {
    const v = versionOf((await db.query(CURRENT_VERSION)).rows[0]?.v) ?? 0n;
    const counterTables = mapping.loadOrder.filter((t) => t.columns.some((c) => c.counter));
    const applied = await readAppliedTotals(db, mapping.options.schema, mapping.options.name, counterTables);
    for (const t of mapping.loadOrder) {
      const estimate = Number((await db.query(`SELECT COUNT_BIG(*) AS n FROM ${t.qualified}`)).rows[0]?.n ?? 0);
      let rows = 0;
      args.onProgress?.({ table: t.table, rows: 0, estimate, done: false });
      await scanTable(db, t, mapping.options.batchSize, (batch) => {
        for (const p of writeRows({ t, rows: batch, mapping, sink, router, applied, version: v, log })) touched.add(p);
        rows += batch.length;
        args.onProgress?.({ table: t.table, rows, estimate, done: false });
      });
      args.onProgress?.({ table: t.table, rows, estimate, done: true });
      log.info('sqlserver connector: table loaded', { table: t.table, rows });
    }
    return v;
  });
  recordLoadPosition(sink as never, touched, version + 1n);
  return { version, paths: [...touched] };
}

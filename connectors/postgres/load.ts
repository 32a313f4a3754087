import type { Client } from 'pg';
import type { Logger } from '../../src/shared/logger';
import { rowKey, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import type { Lsn } from './position';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import type { LoadProgress } from './load-progress';

export type { LoadProgress } from './load-progress';


const TEXT = { getTypeParser: () => (v: string) => v };

/** Reads a table in batches through a cursor, every value as text (the same form pgoutput sends). */
export async function scanTable(sql: Client, t: ResolvedTable, batchSize: number, onBatch: (rows: RawRow[]) => void | Promise<void>): Promise<number> {
  const cursor = `tributary_scan_${t.table.replace(/[^a-z0-9_]/gi, '_')}`;
  const cols = t.allColumns.map((c) => `"${c.name.replace(/"/g, '""')}"`).join(', ');
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
 * point with nothing lost or doubled. Batches of `batchSize` rows: at most one batch is in
 * memory, written as one realm transaction per realm it touches. Each realm then records
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
        const byPath = new Map<string, RawRow[]>();
        for (const row of batch) {
          const p = router.pathFor(t, row);
          const key = rowKey(t, row);
          if (p === null || key === null) {
            log.warn('postgres connector: initial load: row has no realm; skipped', { table: t.table });
            continue;
          }
          router.remember(t, key, p);
          let list = byPath.get(p);
          if (!list) byPath.set(p, (list = []));
          list.push(row);
        }
        for (const [p, list] of byPath) {
          touched.add(p);
          const realm = sink.realm(p);
          realm.write(() => {
            for (const row of list) sink.upsert(realm, t, row);
          });
        }
        rows += batch.length;
        args.onProgress?.({ table: t.table, rows, estimate: est, done: false });
      });
      args.onProgress?.({ table: t.table, rows, estimate: est, done: true });
      log.info('postgres connector: initial load: table copied', { table: t.table, rows, ms: Date.now() - started });
    }
    for (const p of await router.lists.load(sql, sink, log, args.onProgress)) touched.add(p); // side tables → lists, after their owners and targets
    await sql.query('COMMIT');
  } catch (e) {
    await sql.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  for (const p of touched) {
    const realm = sink.realm(p);
    realm.write(() => sink.writePosition(p, args.consistentPoint));
  }
  return [...touched];
}

/** On a restart without a load: rebuilds the router's key → realm index of partitioned tables. */
export async function indexPartitionedTables(sql: Client, mapping: ResolvedMapping, router: RealmRouter): Promise<Set<string>> {
  const paths = new Set<string>();
  await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    for (const t of mapping.loadOrder) {
      if (t.placement.kind === 'fixed') {
        paths.add(t.placement.path);
        continue;
      }
      await scanTable(sql, t, mapping.options.batchSize * 5, (batch) => {
        for (const row of batch) {
          const p = router.pathFor(t, row);
          const key = rowKey(t, row);
          if (p !== null && key !== null) {
            router.remember(t, key, p);
            paths.add(p);
          }
        }
      });
    }
    await router.lists.scan(sql); // side rows per owner (after the partitioned owners are placed)
    await sql.query('COMMIT');
  } catch (e) {
    await sql.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return paths;
}

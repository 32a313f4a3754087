import type { Db, Document, MongoClient } from 'mongodb';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { keyText } from '../kit/keys';
import { recordLoadPosition, writeLoadBatch } from '../kit/load';
import type { LoadProgress } from '../kit/load-progress';
import type { PlacementRouter } from '../kit/placement';
import type { RealmSink } from '../kit/realm-sink';
import type { Doc, ResolvedMapping, ResolvedTable } from './mapping';
import { nextTime, timePosition, type MongoPosition } from './position';

/**
 * The initial load (and the resync after ChangeStreamHistoryLost): every mapped collection read in
 * batches of `batchSize` from ONE snapshot (a `snapshot: true` session: every read at the same
 * `atClusterTime` T), each batch placed and written (one realm transaction per realm), then every
 * touched realm records T + 1 as its position, and capture starts at T + 1 (`startAtOperationTime`):
 * nothing is missed and nothing doubled. Memory holds one batch.
 *
 * A resync (`resync: true`) also removes what the realms hold but the snapshot does not (documents
 * deleted, or moved to another realm, while the history was lost).
 */

/** Collections in load order: a followed or linked collection before the ones that need its objects. */
export function loadOrder(mapping: ResolvedMapping): ResolvedTable[] {
  const out: ResolvedTable[] = [];
  const seen = new Set<string>();
  const visit = (t: ResolvedTable, depth: number) => {
    if (seen.has(t.table) || depth > mapping.tables.size) return;
    const deps = [...t.links.map((l) => l.targetTable), ...(t.placement.kind === 'follow' ? [t.placement.targetTable] : [])];
    for (const d of deps) if (d !== t.table) visit(mapping.tables.get(d)!, depth + 1);
    if (seen.has(t.table)) return;
    seen.add(t.table);
    out.push(t);
  };
  for (const t of mapping.tables.values()) visit(t, 0);
  return out;
}

export async function loadSnapshot(a: {
  client: MongoClient;
  db: Db;
  mapping: ResolvedMapping;
  sink: RealmSink<ResolvedTable, Doc, MongoPosition>;
  router: PlacementRouter<ResolvedTable, Doc>;
  log: Logger;
  onProgress?: (p: LoadProgress) => void;
  resync?: boolean;
}): Promise<{ touched: string[]; position: MongoPosition; removed: number }> {
  const { mapping, sink, router, log } = a;
  const touched = new Set<string>();
  for (const t of mapping.tables.values()) if (t.placement.kind === 'fixed') touched.add(t.placement.path);
  const loaded = new Map<string, Set<string>>();
  const session = a.client.startSession({ snapshot: true });
  try {
    for (const t of loadOrder(mapping)) {
      const coll = a.db.collection(t.table);
      const estimate = await coll.estimatedDocumentCount().catch(() => null);
      const keys = new Set<string>();
      loaded.set(t.table, keys);
      let rows = 0;
      const started = Date.now();
      const flush = (batch: Document[]) => {
        if (a.resync) moveAway(t, batch, a);
        for (const doc of batch) {
          const k = mapping.key(t, doc);
          if (k !== null) keys.add(keyText(k));
        }
        for (const p of writeLoadBatch({ t, rows: batch, router, sink, key: (x, d) => mapping.key(x, d), log, label: 'mongodb connector' })) touched.add(p);
        rows += batch.length;
        a.onProgress?.({ table: t.table, rows, estimate, done: false });
      };
      let batch: Document[] = [];
      for await (const doc of coll.find({}, { session, batchSize: mapping.options.batchSize, promoteValues: false })) {
        batch.push(doc);
        if (batch.length >= mapping.options.batchSize) {
          flush(batch);
          batch = [];
        }
      }
      if (batch.length > 0) flush(batch);
      a.onProgress?.({ table: t.table, rows, estimate, done: true });
      log.info('mongodb connector: initial load: collection copied', { collection: t.table, documents: rows, ms: Date.now() - started, resync: !!a.resync });
    }
    const at = (session as unknown as { snapshotTime?: import('mongodb').Timestamp }).snapshotTime;
    if (!at) throw new Error('the snapshot read returned no atClusterTime');
    const removed = a.resync ? removeMissing(a, loaded, touched) : 0;
    const position = timePosition(nextTime(at));
    recordLoadPosition(sink, touched, position);
    return { touched: [...touched], position, removed };
  } finally {
    await session.endSession().catch(() => undefined);
  }
}

/** Resync: a document now placed in another realm than the one holding its object leaves the old one. */
function moveAway(t: ResolvedTable, batch: Document[], a: { mapping: ResolvedMapping; sink: RealmSink<ResolvedTable, Doc, MongoPosition>; router: PlacementRouter<ResolvedTable, Doc> }): void {
  if (t.placement.kind === 'fixed') return;
  const byPath = new Map<string, ObjectKey[]>();
  for (const doc of batch) {
    const key = a.mapping.key(t, doc);
    const now = a.router.pathFor(t, doc);
    if (key === null) continue;
    for (const p of a.router.pathsOfKey(t, key)) {
      if (p === now) continue;
      let l = byPath.get(p);
      if (!l) byPath.set(p, (l = []));
      l.push(key);
    }
  }
  for (const [p, keys] of byPath) {
    const r = a.sink.realm(p);
    r.write(() => {
      for (const k of keys) a.sink.remove(r, t, k);
    });
  }
}

/** Resync: objects whose documents are gone are deleted from every realm known to hold their type. */
function removeMissing(a: { mapping: ResolvedMapping; sink: RealmSink<ResolvedTable, Doc, MongoPosition>; router: PlacementRouter<ResolvedTable, Doc>; log: Logger }, loaded: Map<string, Set<string>>, touched: Set<string>): number {
  let removed = 0;
  const paths = new Set<string>([...a.sink.openPaths]);
  for (const t of a.mapping.tables.values()) for (const p of a.router.pathsOf(t)) paths.add(p);
  for (const p of paths) {
    const r = a.sink.realm(p);
    const types = new Set(r.schema.map((s) => s.name));
    const gone: [ResolvedTable, ObjectKey][] = [];
    for (const t of a.mapping.tables.values()) {
      if (!types.has(t.type)) continue;
      const keys = loaded.get(t.table)!;
      for (const obj of r.objects<Record<string, unknown>>(t.type)) {
        const k = obj[t.keyProperty] as ObjectKey;
        if (!keys.has(keyText(k))) gone.push([t, k]);
      }
    }
    if (gone.length === 0) continue;
    r.write(() => {
      for (const [t, k] of gone) {
        a.sink.remove(r, t, k);
        a.router.forget(t, k);
      }
    });
    touched.add(p);
    removed += gone.length;
  }
  if (removed > 0) a.log.warn('mongodb connector: resync removed objects whose documents are gone', { removed });
  return removed;
}

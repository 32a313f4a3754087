import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import type { PlacedTable, PlacementRouter } from './placement';
import type { RealmSink, SinkTable } from './realm-sink';

/**
 * The realm half of an initial load (`initialLoad: 'from-database'`): the connector reads each
 * table in batches from one consistent snapshot and hands every batch here. Each row is placed (its
 * key remembered for partitioned tables), and the batch becomes one realm transaction per realm it
 * touches, so at most one batch is in memory. When every table is loaded, `recordLoadPosition`
 * writes into each touched realm the position the snapshot corresponds to.
 */
export function writeLoadBatch<T extends PlacedTable & SinkTable, Row>(o: {
  t: T;
  rows: readonly Row[];
  router: PlacementRouter<T, Row>;
  sink: RealmSink<T, Row, unknown>;
  key: (t: T, row: Row) => ObjectKey | null;
  log: Logger;
  label: string;
}): string[] {
  const byPath = new Map<string, Row[]>();
  for (const row of o.rows) {
    const p = o.router.pathFor(o.t, row);
    const key = o.key(o.t, row);
    if (p === null || key === null) {
      o.log.warn(`${o.label}: initial load: row has no realm; skipped`, { table: o.t.table });
      continue;
    }
    o.router.remember(o.t, key, p);
    let list = byPath.get(p);
    if (!list) byPath.set(p, (list = []));
    list.push(row);
  }
  for (const [p, list] of byPath) {
    const realm = o.sink.realm(p);
    realm.write(() => {
      for (const row of list) o.sink.upsert(realm, o.t, row);
    });
  }
  return [...byPath.keys()];
}

/** After the load: each touched realm records, in a realm transaction, that it holds everything before `position`. */
export function recordLoadPosition<P>(sink: RealmSink<SinkTable, unknown, P>, paths: Iterable<string>, position: P): void {
  for (const p of paths) {
    const realm = sink.realm(p);
    realm.write(() => sink.writePosition(p, position));
  }
}

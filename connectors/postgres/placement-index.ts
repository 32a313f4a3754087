import type { Client } from 'pg';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { scanTable } from './load';
import { rowKey, type ResolvedMapping } from './mapping';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';

/**
 * Rebuilds the router's key → realm index of partitioned tables (templates, `follow`, functions)
 * at a start that does not load, from what the realms hold — never from the tables as they are
 * now. The slot replays what the realms may not have yet (everything after its confirmed
 * position), and a replayed delete must find the realm that holds the object: a row deleted
 * while the connector was stopped is no longer in its table, but its object is still in a realm.
 * So the index is recovered from the realms themselves — each local copy, downloaded first — which
 * are exactly where the objects are, at their own positions.
 *
 * `paths`: every realm a placement can produce (the Adapter's realms matching the placement
 * patterns); the fixed ones are downloaded too, before their stored positions are trusted.
 * Realms of function placements match no pattern; for those the realms the tables' current rows
 * map to are read as well. Returns every realm downloaded.
 */
export async function indexFromRealms(args: { sql: Client; paths: string[]; mapping: ResolvedMapping; sink: RealmSink; router: RealmRouter; log: Logger }): Promise<string[]> {
  const { sql, mapping, sink, router } = args;
  const partitioned = [...mapping.tables.values()].filter((t) => t.placement.kind !== 'fixed');
  // Fixed realms too: each is downloaded before its stored position is trusted.
  const paths = new Set([...args.paths, ...[...mapping.tables.values()].flatMap((t) => (t.placement.kind === 'fixed' ? [t.placement.path] : []))]);
  const functions = partitioned.filter((t) => t.placement.kind === 'function');
  if (functions.length > 0) {
    await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      for (const t of functions) {
        await scanTable(sql, t, mapping.options.batchSize * 5, (batch) => {
          for (const row of batch) {
            const p = rowKey(t, row) === null ? null : router.pathFor(t, row);
            if (p !== null) paths.add(p);
          }
        });
      }
      await sql.query('COMMIT');
    } catch (e) {
      await sql.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
  let objects = 0;
  const started = Date.now();
  for (const p of [...paths].sort()) {
    await sink.download(p);
    const realm = sink.realm(p);
    const types = new Set(realm.schema.map((s) => s.name));
    for (const t of partitioned) {
      if (!types.has(t.type)) continue;
      for (const obj of realm.objects<Record<string, unknown>>(t.type)) {
        router.found(t, obj[t.keyProperty] as ObjectKey, p);
        objects++;
      }
    }
  }
  if (partitioned.length > 0) args.log.info('postgres connector: placement index rebuilt from the realms', { realms: paths.size, objects, ms: Date.now() - started });
  return [...paths];
}

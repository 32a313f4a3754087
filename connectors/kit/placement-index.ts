import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import type { PlacedTable } from './placement';

/**
 * Rebuilds the router's key → realm index of partitioned tables (templates, `follow`, functions)
 * at a start that does not load, from what the realms hold — never from the tables as they are
 * now. The source replays what the realms may not have yet (everything after its confirmed
 * position), and a replayed delete must find the realm that holds the object: a row deleted while
 * the connector was stopped is no longer in its table, but its object is still in a realm. So the
 * index is recovered from the realms themselves — each local copy, downloaded first — which are
 * exactly where the objects are, at their own positions.
 *
 * `paths`: every realm a placement can produce (the Adapter's realms matching the placement
 * patterns); the fixed ones are downloaded too, before their stored positions are trusted. Realms
 * of function placements match no pattern; for those `functionPaths` gives the realms the tables'
 * current rows map to (read in one consistent snapshot by the connector). Returns every realm
 * downloaded.
 */
export async function indexFromRealms<T extends PlacedTable & { keyProperty: string }>(args: {
  paths: string[];
  tables: Iterable<T>;
  functionPaths?: (tables: T[]) => Promise<Iterable<string>>;
  sink: { download(path: string): Promise<void>; realm(path: string): Realm };
  router: { found(t: T, key: ObjectKey, path: string): void };
  log: Logger;
  label: string;
}): Promise<string[]> {
  const tables = [...args.tables];
  const partitioned = tables.filter((t) => t.placement.kind !== 'fixed');
  const paths = new Set([...args.paths, ...tables.flatMap((t) => (t.placement.kind === 'fixed' ? [t.placement.path] : []))]);
  const functions = partitioned.filter((t) => t.placement.kind === 'function');
  if (functions.length > 0 && args.functionPaths) for (const p of await args.functionPaths(functions)) paths.add(p);
  let objects = 0;
  const started = Date.now();
  for (const p of [...paths].sort()) {
    await args.sink.download(p);
    const realm = args.sink.realm(p);
    const types = new Set(realm.schema.map((s) => s.name));
    for (const t of partitioned) {
      if (!types.has(t.type)) continue;
      for (const obj of realm.objects<Record<string, unknown>>(t.type)) {
        args.router.found(t, obj[t.keyProperty] as ObjectKey, p);
        objects++;
      }
    }
  }
  if (partitioned.length > 0) args.log.info(`${args.label}: placement index rebuilt from the realms`, { realms: paths.size, objects, ms: Date.now() - started });
  return [...paths];
}

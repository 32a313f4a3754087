import { TributaryError } from '../../src/errors';
import { validateConfig, type PostgresConnectorConfig } from './config';
import { resolveMapping, type ResolvedMapping } from './mapping';
import { withDatabase } from './operations';
import { STATE_TYPE } from './position';
import { mappingRealmSchema } from './schema-cache';
import { placementPattern } from './setup';

/**
 * The schema of a mapped realm as clients should declare it (docs: "A realm that does not exist
 * yet"): the realm-js object schemas of the types the connector's placement puts at `path`, with
 * the property types, optionality, links and primary keys it writes. A client that opens a realm
 * no row has reached yet (`/shop/region/9`) with this schema can create its first objects; the
 * connector adopts the realm and writes them to the tables. Without it, insert a row for the
 * realm first: the connector creates the realm with this schema.
 */
export function publishedRealmSchema(mapping: ResolvedMapping, path: string): object[] {
  const patterns = [...mapping.tables.values()].map((t) => placementPattern(mapping, t.placement));
  if (!patterns.some((p) => p === null || p.test(path))) {
    throw new TributaryError('CONFIG_INVALID', `realm ${path} is not a realm of this connector: no table's placement produces it`);
  }
  return mappingRealmSchema(mapping, path).filter((s) => (s as { name: string }).name !== STATE_TYPE);
}

/** `publishedRealmSchema` for a connector that is not running: reads the mapping from the database's catalog. */
export async function realmSchemaOfConfig(config: PostgresConnectorConfig, path: string): Promise<object[]> {
  const c = validateConfig(config);
  return withDatabase(c.database, async (sql) => publishedRealmSchema(await resolveMapping(sql, c, c.resolved), path));
}

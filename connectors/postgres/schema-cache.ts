import { realmSchemaFor, type ResolvedMapping } from './mapping';

/** The realm schema of a path: the types of the fixed placement at that path, else of the partitioned family. */
export function mappingRealmSchema(mapping: ResolvedMapping, path: string): object[] {
  const fixed = [...mapping.tables.values()].some((t) => t.family === path);
  return realmSchemaFor(mapping, fixed ? path : '*');
}

import type { Client } from 'pg';
import type { Logger } from '../../src/shared/logger';
import { indexFromRealms as kitIndexFromRealms } from '../kit/placement-index';
import { scanTable } from './load';
import { rowKey, type ResolvedMapping } from './mapping';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';

/**
 * The kit's durable placement index (connectors/kit/placement-index.ts) for PostgreSQL: the realms
 * of function placements are found by scanning those tables in one REPEATABLE READ snapshot.
 */
export async function indexFromRealms(args: { sql: Client; paths: string[]; mapping: ResolvedMapping; sink: RealmSink; router: RealmRouter; log: Logger }): Promise<string[]> {
  const { sql, mapping, router } = args;
  return kitIndexFromRealms({
    paths: args.paths,
    tables: mapping.tables.values(),
    sink: args.sink,
    router,
    log: args.log,
    label: 'postgres connector',
    async functionPaths(functions) {
      const paths = new Set<string>();
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
      return paths;
    },
  });
}

/**
 * Runs the Pagila bridge until Ctrl-C: `npx tsx examples/legacy-postgres-bridge/run.ts`
 * (the same as `tributary connector postgres --config examples/legacy-postgres-bridge/pagila.config.ts`
 * once the CLI has the command).
 */
import * as path from 'node:path';
import { runPostgresConnector } from '../../connectors/postgres';

runPostgresConnector(path.join(__dirname, 'pagila.config.ts')).catch((e: Error & { code?: string }) => {
  console.error(`postgres connector: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
  process.exit(1);
});

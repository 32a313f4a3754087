import { defineConnectorModule } from '../kit/module';
import { validateConfig, type PostgresConnectorConfig, type ResolvedOptions } from './config';
import { PostgresConnector, type PostgresConnectorResetResult } from './connector';
import { classify } from './errors';
import { formatDatabaseStatus, inspectPostgresConnector, testPostgresConnection } from './operations';
import { realmSchemaOfConfig } from './realm-schema';

type Config = PostgresConnectorConfig & { resolved: ResolvedOptions };

/** The PostgreSQL connector as `connectors/registry.ts` hands it to the CLI (the kit's `defineConnectorModule`). */
export const postgresModule = defineConnectorModule<Config, PostgresConnector, PostgresConnectorResetResult>({
  type: 'postgres',
  docs: 'docs/connectors/postgres.md',
  label: 'postgres connector',
  validate: validateConfig,
  create: (config, options) => new PostgresConnector(config, options),
  classify,
  testConnection: testPostgresConnection,
  stoppedFields: (c) => ({ slot: c.status().slot, confirmedLsn: c.status().confirmedLsn }),
  inspect: async (config) => {
    const status = await inspectPostgresConnector(config);
    return { status, text: formatDatabaseStatus(status, config.resolved) };
  },
  reset: async (config, log) => {
    const r = await PostgresConnector.reset(config, { log });
    return {
      result: r,
      text: `reset connector: slot ${r.slot} ${r.slotDropped ? 'dropped' : 'did not exist'}, ${r.applyPositionsDeleted} apply position(s) deleted, completed-load record ${r.loadMarkCleared ? 'removed' : 'absent'}; the next start loads from the database\n`,
    };
  },
  clearDeadLetters: (config, ids) => new PostgresConnector(config).clearDeadLetters(ids === 'all' ? undefined : ids),
  realmSchema: (config, realmPath) => realmSchemaOfConfig(config, realmPath),
});

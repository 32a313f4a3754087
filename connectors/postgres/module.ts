import type { ConnectorModule } from '../contract';
import { clearPostgresDeadLetters, postgresConnectorStatus, postgresRealmSchema, resetPostgresConnector, runPostgresConnector } from './run';

/** The PostgreSQL connector as `connectors/registry.ts` hands it to the CLI. */
export const postgresModule: ConnectorModule = {
  type: 'postgres',
  docs: 'docs/connectors/postgres.md',
  run: (configPath, log) => runPostgresConnector(configPath, log),
  inspect: (configPath) => postgresConnectorStatus(configPath),
  realmSchema: async (configPath, realmPath) => {
    const schema = await postgresRealmSchema(configPath, realmPath);
    return { schema, text: JSON.stringify(schema, null, 2) + '\n' };
  },
  clearDeadLetters: async (configPath, ids) => {
    const cleared = await clearPostgresDeadLetters(configPath, ids);
    return { cleared, text: `cleared ${cleared} dead letter${cleared === 1 ? '' : 's'}\n` };
  },
  reset: async (configPath, log) => {
    const r = await resetPostgresConnector(configPath, log);
    return {
      result: r,
      text: `reset connector: slot ${r.slot} ${r.slotDropped ? 'dropped' : 'did not exist'}, ${r.applyPositionsDeleted} apply position(s) deleted, completed-load record ${r.loadMarkCleared ? 'removed' : 'absent'}; the next start loads from the database\n`,
    };
  },
};

import { defineConnectorModule } from '../kit/module';
import { validateConfig, type ResolvedOptions, type SqlServerConnectorConfig } from './config';
import { SqlServerConnector, type SqlServerConnectorResetResult } from './connector';
import { classify } from './errors';
import { formatDatabaseStatus, inspectSqlServerConnector, realmSchemaOfConfig, testSqlServerConnection } from './operations';

type Config = SqlServerConnectorConfig & { resolved: ResolvedOptions };

/** The SQL Server connector as `connectors/registry.ts` hands it to the CLI (the kit's `defineConnectorModule`). */
export const sqlserverModule = defineConnectorModule<Config, SqlServerConnector, SqlServerConnectorResetResult>({
  type: 'sqlserver',
  docs: 'docs/connectors/sqlserver.md',
  label: 'sqlserver connector',
  validate: validateConfig,
  create: (config, options) => new SqlServerConnector(config, options),
  classify,
  testConnection: testSqlServerConnection,
  stoppedFields: (c) => ({ confirmedVersion: c.status().confirmedVersion, reloads: c.status().reloads }),
  inspect: async (config) => {
    const status = await inspectSqlServerConnector(config);
    return { status, text: formatDatabaseStatus(status) };
  },
  reset: async (config, log) => {
    const r = await SqlServerConnector.reset(config, { log });
    return {
      result: r,
      text: `reset connector: capture position ${r.capturePositionDeleted ? 'deleted' : 'absent'}, ${r.applyPositionsDeleted} apply position(s) deleted, completed-load record ${r.loadMarkCleared ? 'removed' : 'absent'}; the next start loads from the database\n`,
    };
  },
  clearDeadLetters: (config, ids) => new SqlServerConnector(config).clearDeadLetters(ids === 'all' ? undefined : ids),
  realmSchema: (config, realmPath) => realmSchemaOfConfig(config, realmPath),
});

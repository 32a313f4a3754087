import { defineConnectorModule } from '../kit/module';
import { validateConfig, type MongoConnectorConfig, type ResolvedOptions } from './config';
import { MongoConnector } from './connector';
import { classify } from './errors';
import { clearMongoDeadLetters, formatStatus, inspectMongoConnector, resetMongoConnector, testMongoConnection, withClient, type MongoResetResult } from './operations';
import { resolveMapping } from './mapping';

type Config = MongoConnectorConfig & { resolved: ResolvedOptions };

/** The MongoDB connector as `connectors/registry.ts` hands it to the CLI (the kit's `defineConnectorModule`). */
export const mongodbModule = defineConnectorModule<Config, MongoConnector, MongoResetResult>({
  type: 'mongodb',
  docs: 'docs/connectors/mongodb.md',
  label: 'mongodb connector',
  validate: validateConfig,
  create: (config, options) => new MongoConnector(config, options),
  classify,
  testConnection: testMongoConnection,
  stoppedFields: (c) => ({ confirmed: c.status().confirmed, resyncs: c.status().resyncs }),
  inspect: async (config) => {
    const status = await inspectMongoConnector(config);
    return { status, text: formatStatus(status, config.resolved) };
  },
  reset: async (config, log) => {
    const r = await resetMongoConnector(config, log);
    return { result: r, text: `reset connector: ${r.applyPositionsDeleted} apply position(s) deleted, completed-load record and resume point ${r.loadMarkCleared ? 'removed' : 'absent'}; the next start loads from the database\n` };
  },
  clearDeadLetters: (config, ids) => clearMongoDeadLetters(config, ids),
  realmSchema: (config, realmPath) => withClient(config, async (client) => (await resolveMapping(client.db(config.resolved.database), config, config.resolved, null)).realmSchema(realmPath)),
});

import type { Logger } from '../../src/shared/logger';
import type { Connector, ConnectorModule, ConnectorOptions } from '../contract';
import { loadConfigFile, type CommonConnectorConfig } from './config';
import { adminTokenOf } from './realm-side';
import type { Classification } from './errors';
import { runConnector } from './run';
import { checkSyncServer, formatChecks, type ConnectionCheck } from './test-connection';

/** What a connector implements for the CLI and embedders (everything else the module does is the kit's). */
export interface ConnectorDefinition<Config, C extends Connector, Reset> {
  type: string;
  docs: string;
  /** Names the connector in log lines and messages (`postgres connector`). */
  label: string;
  /** Validates a config object (throws CONFIG_INVALID listing every problem). */
  validate(input: unknown): Config;
  create(config: Config, options: ConnectorOptions): C;
  classify(e: unknown): Classification;
  /** Fields of the run's `… stopped` log line. */
  stoppedFields?(connector: C): Record<string, unknown>;
  /**
   * The database's checks of `testConnection` (reachable, prerequisites, the mapping against the
   * catalog), in order (the kit's `runChecks`); the kit adds the sync server's.
   */
  testConnection(config: Config): Promise<ConnectionCheck[]>;
  /** The database side without starting (`status`). */
  inspect(config: Config): Promise<{ status: unknown; text: string }>;
  /** Removes the connector's database state and load mark (`reset`), with a line saying what was removed. */
  reset(config: Config, log: Logger): Promise<{ result: Reset; text: string }>;
  clearDeadLetters?(config: Config, ids: number[] | 'all'): Promise<number>;
  realmSchema?(config: Config, realmPath: string): Promise<object[]>;
}

/**
 * A connector type's module (connectors/registry.ts lists them) from its definition: config files
 * read (`.json`, `.js`, `.ts`; relative paths against the file), validated once with every problem
 * reported, `run` with signals and start retries, and the CLI's commands.
 *
 * @example
 * export const mongodbModule = defineConnectorModule({ type: 'mongodb', docs: 'docs/connectors/mongodb.md', label: 'mongodb connector', validate, create: (c, o) => new MongoConnector(c, o), classify, inspect, reset });
 */
export function defineConnectorModule<Config, C extends Connector, Reset>(def: ConnectorDefinition<Config, C, Reset>): ConnectorModule {
  const read = (configPath: string) => def.validate(loadConfigFile(configPath));
  const m: ConnectorModule = {
    type: def.type,
    docs: def.docs,
    create: (config, options = {}) => def.create(def.validate(config), options),
    classify: (e) => def.classify(e),
    run: (configPath, log) => {
      const config = read(configPath);
      return runConnector({ create: (onProgress) => def.create(config, { log, onProgress }), classify: def.classify, log, label: def.label, stoppedFields: def.stoppedFields });
    },
    testConnection: async (config) => {
      const c = typeof config === 'string' ? read(config) : def.validate(config);
      const checks = await def.testConnection(c);
      if (checks.every((x) => x.ok)) checks.push(await checkSyncServer(c as CommonConnectorConfig, () => adminTokenOf(c as CommonConnectorConfig, def.label)));
      const result = { ok: checks.every((x) => x.ok), checks };
      return { ...result, text: formatChecks(result) };
    },
    inspect: (configPath) => def.inspect(read(configPath)),
    reset: (configPath, log) => def.reset(read(configPath), log),
  };
  if (def.clearDeadLetters) {
    const clear = def.clearDeadLetters;
    m.clearDeadLetters = async (configPath, ids) => {
      const cleared = await clear(read(configPath), ids);
      return { cleared, text: `cleared ${cleared} dead letter${cleared === 1 ? '' : 's'}\n` };
    };
  }
  if (def.realmSchema) {
    const schema = def.realmSchema;
    m.realmSchema = async (configPath, realmPath) => {
      const s = await schema(read(configPath), realmPath);
      return { schema: s, text: JSON.stringify(s, null, 2) + '\n' };
    };
  }
  return m;
}

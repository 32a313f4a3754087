import { JsonLogger, type Logger } from '../../src/shared/logger';
import { loadConfigFile } from '../kit/config';
import { runConnector } from '../kit/run';
import { validateConfig, type PostgresConnectorConfig } from './config';
import { PostgresConnector, type PostgresConnectorResetResult } from './connector';
import { classify } from './errors';
import { formatDatabaseStatus, inspectPostgresConnector, type DatabaseStatus } from './operations';
import { realmSchemaOfConfig } from './realm-schema';

/** Reads a connector config: `.json`, or a `.js`/`.ts` module exporting it (default or `config`); the kit's `loadConfigFile`. */
export function loadConnectorConfig(configPath: string): PostgresConnectorConfig {
  return loadConfigFile<PostgresConnectorConfig>(configPath);
}

/**
 * `tributary connector postgres --config <file>`: the kit's `runConnector` (signals, start retries,
 * progress lines) with a PostgresConnector; the stop line names the slot and its confirmed LSN.
 */
export async function runPostgresConnector(configPath: string, log: Logger = new JsonLogger('info')): Promise<PostgresConnector> {
  const config = loadConnectorConfig(configPath);
  return runConnector({
    create: (onProgress) => new PostgresConnector(config, { log, onProgress }),
    classify,
    log,
    label: 'postgres connector',
    stoppedFields: (c) => ({ slot: c.status().slot, confirmedLsn: c.status().confirmedLsn }),
  });
}

/** `tributary connector postgres status --config <file>`: the database's side, without starting the connector. */
export async function postgresConnectorStatus(configPath: string): Promise<{ status: DatabaseStatus; text: string }> {
  const config = validateConfig(loadConnectorConfig(configPath));
  const status = await inspectPostgresConnector(config);
  return { status, text: formatDatabaseStatus(status, config.resolved) };
}

/** `tributary connector postgres clear-dead-letters --config <file> (--id <n>… | --all)`: deletes dead letters; returns how many. */
export async function clearPostgresDeadLetters(configPath: string, ids: number[] | 'all'): Promise<number> {
  return new PostgresConnector(loadConnectorConfig(configPath)).clearDeadLetters(ids === 'all' ? undefined : ids);
}

/** `tributary connector postgres realm-schema --config <file> --realm <path>`: the schema clients declare for that realm (realm-schema.ts). */
export async function postgresRealmSchema(configPath: string, realmPath: string): Promise<object[]> {
  return realmSchemaOfConfig(loadConnectorConfig(configPath), realmPath);
}

/** `tributary connector postgres reset --config <file>`: see `PostgresConnector.reset`. */
export async function resetPostgresConnector(configPath: string, log?: Logger): Promise<PostgresConnectorResetResult> {
  return PostgresConnector.reset(loadConnectorConfig(configPath), { log });
}

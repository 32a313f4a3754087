import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../../src/errors';
import { JsonLogger, type Logger } from '../../src/shared/logger';
import { validateConfig, type PostgresConnectorConfig } from './config';
import { PostgresConnector, type PostgresConnectorResetResult } from './connector';
import { realmSchemaOfConfig } from './realm-schema';
import { startWithRetry } from './start-retry';
import { formatDatabaseStatus, inspectPostgresConnector, type DatabaseStatus } from './operations';

/** Reads a connector config: `.json`, or a `.js`/`.ts` module exporting it (default or `config`). */
export function loadConnectorConfig(configPath: string): PostgresConnectorConfig {
  const file = path.resolve(configPath);
  if (!fs.existsSync(file)) throw new TributaryError('CONFIG_INVALID', `connector config ${file} not found`);
  let mod: unknown;
  try {
    mod = require(file);
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `cannot read connector config ${file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const m = mod as { default?: unknown; config?: unknown };
  const config = (m.default ?? m.config ?? mod) as PostgresConnectorConfig;
  // Relative paths in a config file are relative to the file.
  if (typeof config.localPath === 'string') config.localPath = path.resolve(path.dirname(file), config.localPath);
  if (typeof config.adminTokenFile === 'string') config.adminTokenFile = path.resolve(path.dirname(file), config.adminTokenFile);
  return config;
}

/**
 * `tributary connector postgres --config <file>`: runs the connector until SIGINT/SIGTERM,
 * printing load progress, status and slot warnings as JSON lines. A signal stops it cleanly
 * (acknowledged writes confirmed to the slot, slot kept) and exits 0; a signal during the start
 * (e.g. the initial load) abandons the start, which the next start redoes. A start that fails
 * for a transient reason (database down, slot still held by a process that just died) is retried
 * with back-off (start-retry.ts); a permanent one exits with its error code.
 */
export async function runPostgresConnector(configPath: string, log: Logger = new JsonLogger('info')): Promise<PostgresConnector> {
  const config = loadConnectorConfig(configPath);
  let last = 0;
  const create = () =>
    new PostgresConnector(config, {
      log,
      onProgress: (p) => {
        if (!p.done && Date.now() - last < 1000) return;
        last = Date.now();
        log.info('initial load', { table: p.table, rows: p.rows, estimate: p.estimate, done: p.done });
      },
    });
  let connector: PostgresConnector | null = null;
  let stopping: Promise<never> | null = null;
  const stop = (signal: string) => {
    if (stopping) return;
    log.info('postgres connector stopping', { signal });
    stopping = (connector ? connector.stop() : Promise.resolve()).then(
      () => {
        const s = connector?.status();
        log.info('postgres connector stopped', { slot: s?.slot, confirmedLsn: s?.confirmedLsn, transactions: s?.transactions });
        process.exit(0);
      },
      (e: unknown) => {
        log.error('postgres connector: stop failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    // A database that is down or restarting at start is waited for, like a connection lost later.
    connector = await startWithRetry({ create, log, stopping: () => stopping !== null, onAttempt: (c) => (connector = c) });
  } catch (e) {
    if (stopping) await stopping; // exits
    throw e;
  }
  if (!stopping) log.info('postgres connector streaming', connector.status() as unknown as Record<string, unknown>);
  return connector;
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

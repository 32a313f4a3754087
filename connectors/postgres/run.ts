import * as path from 'node:path';
import { TributaryError } from '../../src/errors';
import { JsonLogger, type Logger } from '../../src/server/logger';
import type { PostgresConnectorConfig } from './config';
import { PostgresConnector } from './connector';

/** Reads a connector config: `.json`, or a `.js`/`.ts` module exporting it (default or `config`). */
export function loadConnectorConfig(configPath: string): PostgresConnectorConfig {
  const file = path.resolve(configPath);
  let mod: unknown;
  try {
    mod = require(file);
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `cannot read connector config ${file}: ${(e as Error).message}`, { cause: e });
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
 * printing load progress and status as JSON lines.
 */
export async function runPostgresConnector(configPath: string, log: Logger = new JsonLogger('info')): Promise<PostgresConnector> {
  const config = loadConnectorConfig(configPath);
  let last = 0;
  const connector = new PostgresConnector(config, {
    log,
    onProgress: (p) => {
      if (!p.done && Date.now() - last < 1000) return;
      last = Date.now();
      log.info('initial load', { table: p.table, rows: p.rows, estimate: p.estimate, done: p.done });
    },
  });
  await connector.start();
  log.info('postgres connector streaming', connector.status() as unknown as Record<string, unknown>);
  const stop = () => {
    void connector.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return connector;
}

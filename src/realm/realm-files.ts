import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { TributaryError } from '../errors';
import { Replica, defaultReplicaPath, parseRealmUrl } from '../store';
import { isOpen } from './registry';
import type { SyncConfiguration } from './sync-types';

/**
 * realm-js's file-level statics — `Realm.defaultPath`, `Realm.schemaVersion(path)`,
 * `Realm.deleteFile(config)` — and the schema-version check of an opening realm.
 */

let defaultPath = 'default.db';

/** The file of a local realm opened without `path` (realm-js `Realm.defaultPath`; absolute). */
export function getDefaultPath(): string {
  return nodePath.resolve(defaultPath);
}

export function setDefaultPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'Realm.defaultPath must be a file path');
  defaultPath = path;
}

/** The file a configuration opens. */
export function pathOf(config: { path?: string; sync?: Pick<SyncConfiguration, 'url' | 'directory'> & { user: { identity: string } } } = {}): string {
  if (config.path) return config.path;
  if (config.sync) return defaultReplicaPath(parseRealmUrl(config.sync.url), config.sync.user.identity, config.sync.directory);
  return getDefaultPath();
}

/** realm-js `Realm.schemaVersion(path)`: the version recorded in the file; -1 when there is no file. */
export function schemaVersionOf(path: string): number {
  if (typeof path !== 'string' || path.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'Realm.schemaVersion expects a file path');
  if (!fs.existsSync(path)) return -1;
  const replica = Replica.open({ path });
  try {
    return Math.max(0, replica.schemaVersion);
  } finally {
    replica.close();
  }
}

/** realm-js `Realm.deleteFile(config)`: removes the realm's file; INVALID_STATE while it is open in this process. */
export function deleteRealmFile(config: Parameters<typeof pathOf>[0]): void {
  if (!config || typeof config !== 'object') throw new TributaryError('INVALID_ARGUMENT', 'Realm.deleteFile expects a configuration');
  const path = pathOf(config);
  if (isOpen(path)) throw new TributaryError('INVALID_STATE', `the realm at ${path} is open; close every instance first`);
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(path + suffix, { force: true });
}

/**
 * The schema-version rule of realm-js for a local realm: a new file takes the configured
 * version; an older file is migrated (the `migration` callback runs) and takes it; a newer one
 * is an error. Returns whether a migration is due. Without a configured version nothing is
 * checked (realm-js took 0 and refused any file with a higher one).
 */
export function schemaVersionStep(stored: number, configured: number | undefined, path: string): 'none' | 'set' | 'migrate' {
  if (configured === undefined) return 'none';
  if (!Number.isSafeInteger(configured) || configured < 0) throw new TributaryError('INVALID_ARGUMENT', `schemaVersion must be a non-negative integer, not ${configured}`);
  if (stored < 0) return 'set';
  if (configured < stored) throw new TributaryError('SCHEMA_INVALID', `Provided schema version ${configured} is less than last set version ${stored} (${path}).`);
  return configured > stored ? 'migrate' : 'none';
}

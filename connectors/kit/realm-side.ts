import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adapter } from '../../src/adapter';
import { User } from '../../src/client';
import { TributaryError } from '../../src/errors';
import { Realm } from '../../src/realm';
import { readAdminTokenFile } from '../../src/shared/admin-token';
import type { Logger } from '../../src/shared/logger';
import { connectorError } from './errors';
import { controlRealmPath, stateSchema, STATE_TYPE } from './position';

/**
 * The realm side of a connector, the same for every database: the admin user it runs as, the
 * Adapter over the mapped realms (realm → database: apply reads its stream; database → realm: the
 * sink writes through `realmAtPath`, never returned by `current()` — no echo), and the control realm
 * `/tributary-connectors/<name>` recording that the initial load completed.
 */

/** `realm://host` → `http://host` (the REST endpoints). */
export function httpUrl(serverUrl: string): string {
  return serverUrl.replace(/^realm(s?):/, 'http$1:');
}

/** The admin token of a config (`adminToken`, or read from `adminTokenFile`); `label` names the connector in the error. */
export function adminTokenOf(config: { adminToken?: string; adminTokenFile?: string }, label: string): string {
  if (config.adminToken) return config.adminToken;
  if (config.adminTokenFile) return readAdminTokenFile(config.adminTokenFile);
  throw new TributaryError('CONFIG_INVALID', `${label} config: give adminToken or adminTokenFile (data/keys/admin.json), or pass options.adminUser`);
}

/** The admin user of a config. */
export function adminUserOf(config: { adminToken?: string; adminTokenFile?: string; serverUrl: string }, label: string): User {
  return User.adminUser(adminTokenOf(config, label), httpUrl(config.serverUrl));
}

/**
 * The Adapter over the realms the placement patterns match (`null`: a function placement, whose
 * realms are any path). `onChange` is the apply loop's `schedule`.
 */
export function openAdapter(o: { localPath: string; serverUrl: string; admin: User; patterns: (RegExp | null)[]; onChange: (path: string) => void; log: Logger }): Adapter {
  const patterns = o.patterns.filter((r): r is RegExp => !!r);
  return new Adapter(o.localPath, o.serverUrl, o.admin, (p: string) => patterns.some((r) => r.test(p)), o.onChange, undefined, { log: o.log });
}

/** Waits until the Adapter knows the server's list of realms (before indexing them at a start without a load). */
export async function adapterReady(adapter: Adapter, timeoutMs = 60_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([adapter.ready, new Promise((_, reject) => (timer = setTimeout(() => reject(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', `the list of realms did not download from the sync server in ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The control realm, downloaded; its {@link STATE_TYPE} object for the connector is the completed-load record. */
export class ControlRealm {
  readonly realm: Realm;

  private constructor(
    adapter: Adapter,
    private readonly connector: string,
  ) {
    this.realm = adapter.realmAtPath(controlRealmPath(connector), [stateSchema as never]);
  }

  static async open(adapter: Adapter, connector: string, timeoutMs = 60_000): Promise<ControlRealm> {
    const c = new ControlRealm(adapter, connector);
    await c.realm.syncSession?.downloadAllServerChanges(timeoutMs);
    return c;
  }

  /** The position the completed load recorded, or null: no load completed (or the connector was reset). */
  get loadedFrom(): string | null {
    return this.realm.objectForPrimaryKey<{ resumeFrom: string }>(STATE_TYPE, this.connector)?.resumeFrom ?? null;
  }

  /** Records the completed load (with the position it reached) and waits for the server's acknowledgement. */
  async markLoaded(resumeFrom: string, timeoutMs = 60_000): Promise<void> {
    this.realm.write(() => this.realm.create(STATE_TYPE, { connector: this.connector, resumeFrom, updatedAt: new Date() }, 'modified'));
    await this.realm.syncSession?.uploadAllLocalChanges(timeoutMs);
  }

  close(): void {
    if (!this.realm.isClosed) this.realm.close();
  }
}

/**
 * Deletes the connector's record of a completed initial load from its control realm (`url`: the
 * realm's full URL), through a temporary local copy, for a reset. Returns whether there was one.
 */
export async function clearLoadMark(admin: User, url: string, connector: string): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-reset-'));
  const control = new Realm({ schema: [stateSchema as never], sync: { user: admin, url }, path: path.join(dir, 'control.db') });
  try {
    await control.syncSession!.downloadAllServerChanges(60_000);
    const mark = control.objectForPrimaryKey(STATE_TYPE, connector);
    if (!mark) return false;
    control.write(() => control.delete(mark));
    await control.syncSession!.uploadAllLocalChanges(60_000);
    return true;
  } finally {
    if (!control.isClosed) control.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A reset's realm half, after the connector's database state is gone: clears the load mark in the
 * control realm with the config's admin user (or `admin`). `databaseCleared` and `nextStart` say,
 * in the error, what the database half did and why the next start reloads anyway.
 */
export async function resetControlRealm(o: { config: { adminToken?: string; adminTokenFile?: string; serverUrl: string }; name: string; admin?: User; label: string; databaseCleared: string; nextStart: string }): Promise<boolean> {
  const admin = o.admin ?? adminUserOf(o.config, o.label);
  try {
    return await clearLoadMark(admin, o.config.serverUrl.replace(/\/+$/, '') + controlRealmPath(o.name), o.name);
  } catch (e) {
    throw connectorError(
      'CONNECTOR_SOURCE_UNAVAILABLE',
      `reset: ${o.databaseCleared}, but the control realm ${controlRealmPath(o.name)} could not be updated (${(e as Error).message}); ${o.nextStart}`,
      e,
    );
  } finally {
    if (!o.admin) admin.logout();
  }
}

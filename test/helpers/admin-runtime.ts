import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger, type ServerConfig } from '../../src/server';

/** An in-process server, an admin user and temp directories for notifier / Adapter tests. */
export interface AdminFixture {
  server: Server;
  admin: User;
  /** `realm://127.0.0.1:<port>` */
  realmUrl: string;
  dir: string;
  adminToken: string;
  /** A non-admin user writing through its own connection; its realms live under /<identity>/. */
  writer: User;
  /** `/<writer identity>/<name>` */
  userPath(name: string): string;
  /** A writer realm (as the admin user, its own local file). */
  open(realmPath: string, schema: unknown[], user?: User): Realm;
  /** Waits until the writer's changes reached the server. */
  upload(realm: Realm): Promise<void>;
  dispose(): Promise<void>;
}

let counter = 0;

/**
 * `tmp`: where the server data and local copies go (default the OS temp dir). Scale tests pass a
 * tmpfs (`/dev/shm`) when there is one: creating a SQLite file costs ~30 ms of fsyncs on a VM disk.
 */
export async function adminFixture(config: ServerConfig = {}, tmp = os.tmpdir()): Promise<AdminFixture> {
  const dataPath = fs.mkdtempSync(path.join(tmp, 'trib-admin-srv-'));
  const dir = fs.mkdtempSync(path.join(tmp, 'trib-admin-cli-'));
  const server = new Server({ dataPath, port: 0, logger: silentLogger, ...config });
  await server.start();
 const adminToken = readAdminToken(dataPath);
  const admin = User.adminUser(adminToken, server.url, { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
  const realmUrl = `realm://127.0.0.1:${server.port}`;
  const realms: Realm[] = [];
  // Writers use their own user object so that the admin user's connection is the notifier's alone.
  const writer = await User.register(server.url, `writer${counter++}`, 'pw', { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
  return {
    server,
    admin,
    realmUrl,
    dir,
    adminToken,
    writer,
    userPath: (name) => `/${writer.identity}/${name}`,
    open(realmPath, schema, user = writer) {
      const r = new Realm({ schema: schema as any, sync: { user, url: realmUrl + realmPath }, path: path.join(dir, 'writers', `w${counter++}.db`) });
      realms.push(r);
      return r;
    },
    async upload(realm) {
      await realm.syncSession!.uploadAllLocalChanges(20_000);
    },
    async dispose() {
      for (const r of realms.splice(0)) if (!r.isClosed) r.close();
      for (const u of Object.values(User.all)) u.logout();
      await server.stop();
      fs.rmSync(dataPath, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

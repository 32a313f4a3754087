import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Instruction } from '../../src/changeset/instructions';
import Realm, { User } from '../../src/index';
import { readAdminToken, Server, silentLogger } from '../../src/server';
import { writeServerChangeset } from '../../src/server/admin-realm';
import { SqliteDriver } from '../../src/server/storage/sqlite';

// A data directory of the first release (database schema 1, /__admin with RealmFile.owner as a
// string and no accounts) starts on this server: the tables are migrated and /__admin is rebuilt
// in the ROS layout from them.

const OLD_ADMIN_SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'RealmFile',
    primaryKey: 'path',
    properties: [
      { name: 'path', type: 'string', optional: false },
      { name: 'owner', type: 'string', optional: true },
      { name: 'createdAt', type: 'date', optional: false },
      { name: 'deleted', type: 'bool', optional: false },
    ],
  },
  {
    op: 'AddType',
    type: 'User',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'string', optional: false },
      { name: 'username', type: 'string', optional: true },
      { name: 'isAdmin', type: 'bool', optional: false },
      { name: 'createdAt', type: 'date', optional: false },
    ],
  },
];

let dir: string;
afterAll(async () => {
  for (const u of Object.values(User.all)) await u.logout();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a schema-1 data directory upgrades: accounts, grants and /__admin in the ROS layout', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-upgrade-'));
  const data = path.join(dir, 'data');
  const alice = 'a'.repeat(32);
  const bob = 'b'.repeat(32);
  const driver = new SqliteDriver(data);
  let tick = 1;
  await driver.write((tx) => {
    tx.createUser({ id: alice, username: 'alice', passwordHash: 'scrypt$x', isAdmin: false, createdAt: 1 });
    tx.createUser({ id: bob, username: 'bob', passwordHash: 'scrypt$x', isAdmin: true, createdAt: 2 });
    const admin = tx.createRealm('/__admin', null, 1);
    tx.createRealm(`/${alice}/notes`, alice, 3);
    writeServerChangeset(tx, admin.id, OLD_ADMIN_SCHEMA, () => tick++);
    writeServerChangeset(
      tx,
      admin.id,
      [
        { op: 'Create', type: 'User', id: alice, values: { username: 'alice', isAdmin: false, createdAt: new Date(1) } },
        { op: 'Create', type: 'RealmFile', id: `/${alice}/notes`, values: { owner: alice, createdAt: new Date(3), deleted: false } },
      ],
      () => tick++,
    );
    tx.setPermission(`/${alice}/notes`, bob, 'read');
  });
  await driver.close();
  const db = new Database(path.join(data, 'tributary.db'));
  db.exec("ALTER TABLE permissions DROP COLUMN updated_at; DELETE FROM accounts; UPDATE meta SET value = '1' WHERE key = 'schema_version';");
  db.close();

  const server = new Server({ dataPath: data, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  try {
    const admin = User.adminUser(readAdminToken(data), server.url);
    const realm = await Realm.open({ sync: { user: admin, url: `${server.url.replace('http', 'realm')}/__admin` }, path: path.join(dir, 'admin-copy.db') });
    const file: any = realm.objectForPrimaryKey('RealmFile', `/${alice}/notes`);
    expect([file.realmType, file.owner.userId, file.owner.username]).toEqual(['full', alice, 'alice']);
    const users = realm.objects<any>('User').sorted('username');
    expect(users.map((u) => [u.username, u.isAdmin, u.accounts.map((a: any) => `${a.provider}:${a.provider_id}`).join()])).toEqual([
      ['alice', false, 'password:alice'],
      ['bob', true, 'password:bob'],
    ]);
    const grant: any = realm.objects('Permission')[0];
    expect([grant.path, grant.user.username, grant.mayRead, grant.mayWrite]).toEqual([`/${alice}/notes`, 'bob', true, false]);
    realm.close();
    // The migrated password account logs in.
    const res = await fetch(`${server.url}/admin/users/alice`, { headers: { authorization: `Bearer ${readAdminToken(data)}` } });
    expect(((await res.json()) as { user: { accounts: unknown[] } }).user.accounts).toEqual([{ provider: 'password', providerId: 'alice' }]);
  } finally {
    await server.stop();
  }
});

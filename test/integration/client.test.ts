import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { canonicalState } from '../../src/changeset';
import { User, type Session } from '../../src/client';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';
import { Prng } from '../helpers/prng';

const Task = {
  name: 'Task',
  primaryKey: 'id',
  properties: { id: 'string', title: 'string', done: { type: 'bool', default: false }, count: { type: 'int', default: 0 }, notes: 'string[]' },
};
const schema = [Task];

let server: Server;
let dataPath: string;
let clientDir: string;
const realms: Realm[] = [];
const users: User[] = [];

async function startServer(): Promise<void> {
  server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
}

function realmUrl(p: string): string {
  return `realm://127.0.0.1:${server.port}${p}`;
}

let nextFile = 0;
function openRealm(user: User, p: string, file = `c${nextFile++}.db`): Realm {
  const realm = new Realm({ schema, sync: { user, url: realmUrl(p) }, path: path.join(clientDir, file) });
  realms.push(realm);
  return realm;
}

async function register(name: string): Promise<User> {
  const u = await User.register(server.url, name, 'pw-' + name, { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
  users.push(u);
  return u;
}

function session(realm: Realm): Session {
  return realm.syncSession as Session;
}

async function sync(...rs: Realm[]): Promise<void> {
  for (const r of rs) await r.syncSession!.uploadAllLocalChanges(10_000);
  for (const r of rs) await r.syncSession!.downloadAllServerChanges(10_000);
}

function titles(realm: Realm): string[] {
  return realm.objects<any>('Task').map((t) => `${t.id}:${t.title}`).sort();
}

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-srv-'));
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-cli-'));
  await startServer();
});

afterEach(async () => {
  for (const r of realms.splice(0)) r.close();
  for (const u of users.splice(0)) u.logout();
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(clientDir, { recursive: true, force: true });
});

describe('users', () => {
  test('register, login, duplicate and bad password, adminUser', async () => {
    const alice = await register('alice');
    expect(alice.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(alice.isAdmin).toBe(false);
    expect(alice.server).toBe(server.url);
    expect(JSON.stringify(alice)).not.toContain(alice.token);
    await expect(User.register(server.url, 'alice', 'x')).rejects.toMatchObject({ code: 'USER_EXISTS' });
    await expect(User.login(server.url, 'alice', 'wrong')).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const again = await User.login(server.url, 'alice', 'pw-alice');
    expect(again).toBe(alice); // one User (and so one connection) per identity and server
    expect(User.current).toBe(alice);
    const refreshed = await alice.refreshAccessToken();
    expect(typeof refreshed).toBe('string');

    const admin = User.adminUser(readAdminToken(dataPath), server.url);
    users.push(admin);
    expect(admin.isAdmin).toBe(true);
    expect(Object.keys(User.all).sort()).toEqual([admin.identity, alice.identity].sort());
    expect(() => User.current).toThrow(/Multiple users/);
    alice.logout();
    expect(User.all[alice.identity]).toBeUndefined();
  });

  test('an admin user syncs directly with the admin token', async () => {
    const admin = User.adminUser(readAdminToken(dataPath), server.url);
    users.push(admin);
    const realm = openRealm(admin, '/shared/admin-test');
    realm.write(() => realm.create('Task', { id: 'a', title: 'from admin' }));
    await sync(realm);
    expect(session(realm).isReady).toBe(true);
  });
});

describe('sync', () => {
  test('two clients sync a realm both ways over one connection per user', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/tasks');
    const b = openRealm(alice, '/~/tasks');
    const other = openRealm(alice, '/~/other');
    a.write(() => a.create('Task', { id: '1', title: 'from a', notes: ['x'] }));
    await sync(a, b);
    expect(titles(b)).toEqual(['1:from a']);
    b.write(() => {
      const t = b.objectForPrimaryKey<any>('Task', '1')!;
      t.done = true;
      t.notes.push('y');
      b.create('Task', { id: '2', title: 'from b' });
    });
    await sync(b, a);
    expect(titles(a)).toEqual(['1:from a', '2:from b']);
    const t = a.objectForPrimaryKey<any>('Task', '1')!;
    expect(t.done).toBe(true);
    expect([...t.notes]).toEqual(['x', 'y']);
    expect(canonicalState(a._replica)).toEqual(canonicalState(b._replica));
    await other.syncSession!.downloadAllServerChanges(10_000);
    expect(other.objects('Task').length).toBe(0);
    expect(alice.sessions.length).toBe(3);
  });

  test('offline edits of the same objects on two clients converge after reconnect', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/conflicts');
    const b = openRealm(alice, '/~/conflicts');
    a.write(() => {
      a.create('Task', { id: 'x', title: 'base', notes: ['n1'] });
      a.create('Task', { id: 'y', title: 'to delete' });
    });
    await sync(a, b);
    a.syncSession!.pause();
    b.syncSession!.pause();
    expect(a.syncSession!.state).toBe('inactive');
    a.write(() => {
      const x = a.objectForPrimaryKey<any>('Task', 'x')!;
      x.title = 'a title';
      a.increment(x, 'count', 2);
      x.notes.push('from a');
      a.objectForPrimaryKey<any>('Task', 'y')!.title = 'edited by a';
    });
    b.write(() => {
      const x = b.objectForPrimaryKey<any>('Task', 'x')!;
      x.title = 'b title';
      b.increment(x, 'count', 3);
      x.notes.unshift('from b');
      b.delete(b.objectForPrimaryKey('Task', 'y'));
    });
    a.syncSession!.resume();
    b.syncSession!.resume();
    await sync(a, b);
    await sync(a, b);
    expect(canonicalState(a._replica)).toEqual(canonicalState(b._replica));
    const x = a.objectForPrimaryKey<any>('Task', 'x')!;
    expect(x.count).toBe(5);
    expect(x.title).toBe('b title'); // the later write wins
    expect([...x.notes].sort()).toEqual(['from a', 'from b', 'n1']);
    expect(a.objectForPrimaryKey('Task', 'y')).toBeUndefined(); // delete wins
    expect(session(a).stats.resets + session(b).stats.resets).toBe(0); // merged, not reset
  });

  test('three clients with random edits, pauses and socket drops converge (seeded)', async () => {
    const seed = Number(process.env.TRIBUTARY_SEED ?? Date.now() % 100000);
    const rng = new Prng(seed);
    const alice = await register('alice');
    const clients = [0, 1, 2].map(() => openRealm(alice, '/~/random'));
    await sync(...clients);
    const ids = ['a', 'b', 'c', 'd'];
    for (let step = 0; step < 120; step++) {
      const r = clients[rng.int(0, 2)];
      const roll = rng.int(0, 9);
      if (roll === 0) {
        if (r.syncSession!.state === 'active') r.syncSession!.pause();
        else r.syncSession!.resume();
        continue;
      }
      if (roll === 1) {
        if (r.syncSession!.state === 'active') session(r)._dropConnection();
        continue;
      }
      r.write(() => {
        const id = ids[rng.int(0, ids.length - 1)];
        const t = r.objectForPrimaryKey<any>('Task', id);
        if (!t) r.create('Task', { id, title: `t${step}` });
        else if (roll === 2) r.delete(t);
        else if (roll === 3) r.increment(t, 'count', rng.int(1, 5));
        else if (roll <= 5) t.notes.push(`n${step}`);
        else if (roll === 6 && t.notes.length > 0) t.notes.splice(rng.int(0, t.notes.length - 1), 1);
        else if (roll === 7 && t.notes.length > 1) t.notes.move(0, t.notes.length - 1);
        else t.title = `s${step}`;
      });
      if (rng.bool(0.2)) await new Promise((res) => setTimeout(res, rng.int(0, 5)));
    }
    for (const r of clients) r.syncSession!.resume();
    await sync(...clients);
    await sync(...clients);
    const states = clients.map((r) => canonicalState(r._replica));
    try {
      expect(states[1]).toEqual(states[0]);
      expect(states[2]).toEqual(states[0]);
    } catch (e) {
      throw new Error(`replicas diverged with TRIBUTARY_SEED=${seed}: ${(e as Error).message}`);
    }
    expect(clients.reduce((n, r) => n + session(r).stats.resets, 0)).toBe(0);
  });

  test('writes made faster than acknowledgements arrive go up together once maxUploadsInFlight UPLOADs wait', async () => {
    const fast = await User.register(server.url, 'fast', 'pw-fast', { session: { maxUploadsInFlight: 1 } });
    users.push(fast);
    const a = openRealm(fast, '/~/tasks');
    await a.syncSession!.uploadAllLocalChanges(10_000);
    const before = { ...session(a).stats };
    const n = 300;
    for (let i = 0; i < n; i++) {
      a.write(() => a.create('Task', { id: `t${i}`, title: `task ${i}` }));
      // A turn between writes, as an app writing from events would: without the window, every
      // write would go up in an UPLOAD of its own.
      await new Promise((r) => setImmediate(r));
    }
    await a.syncSession!.uploadAllLocalChanges(10_000);
    const uploads = session(a).stats.uploads - before.uploads;
    expect(session(a).stats.uploadedChangesets - before.uploadedChangesets).toBe(n);
    expect(uploads).toBeLessThan(n / 2);
    // Every one of them reached the server, once and in order: another replica downloads them all.
    const b = openRealm(fast, '/~/tasks');
    await b.syncSession!.downloadAllServerChanges(10_000);
    expect(b.objects<any>('Task').map((t) => t.id)).toEqual(Array.from({ length: n }, (_, i) => `t${i}`));
  });

  test('a client opening later bootstraps from STATE and gets the same state', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/bootstrap');
    for (let i = 0; i < 20; i++) a.write(() => a.create('Task', { id: `t${i}`, title: `n${i}`, notes: [String(i)] }));
    a.write(() => a.delete(a.objectForPrimaryKey('Task', 't3')));
    await sync(a);
    const late = await Realm.open({ schema, sync: { user: alice, url: realmUrl('/~/bootstrap') }, path: path.join(clientDir, 'late.db') });
    realms.push(late);
    expect(canonicalState(late._replica)).toEqual(canonicalState(a._replica));
    // it keeps syncing normally afterwards, both ways
    late.write(() => late.create('Task', { id: 'late', title: 'from late' }));
    a.write(() => a.create('Task', { id: 'a2', title: 'from a' }));
    await sync(late, a);
    await sync(late);
    expect(canonicalState(late._replica)).toEqual(canonicalState(a._replica));
  });

  test('reconnecting after the server drops the socket resumes with no loss and no duplicates', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/resume');
    const b = openRealm(alice, '/~/resume');
    a.write(() => a.create('Task', { id: 'c', title: 'counter' }));
    await sync(a, b);
    for (let round = 0; round < 5; round++) {
      a.write(() => a.increment(a.objectForPrimaryKey('Task', 'c'), 'count', 1));
      a.write(() => a.create('Task', { id: `r${round}`, title: `round ${round}` }));
      session(a)._dropConnection(); // the UPLOAD may or may not have reached the server
    }
    await sync(a, b);
    expect(b.objectForPrimaryKey<any>('Task', 'c')!.count).toBe(5);
    expect(b.objects('Task').length).toBe(6);
    expect(session(a).stats.resets + session(b).stats.resets).toBe(0);
    expect(canonicalState(a._replica)).toEqual(canonicalState(b._replica));
  });

  test('a server restart loses nothing acknowledged; the replica resumes from its cursors', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/restart');
    a.write(() => a.create('Task', { id: '1', title: 'before restart' }));
    await sync(a);
    await server.stop();
    a.write(() => a.create('Task', { id: '2', title: 'while down' }));
    const port = server.port;
    server = new Server({ dataPath, port, logger: silentLogger });
    await server.start();
    await sync(a);
    const b = await Realm.open({ schema, sync: { user: alice, url: realmUrl('/~/restart') }, path: path.join(clientDir, 'b.db') });
    realms.push(b);
    expect(titles(b)).toEqual(['1:before restart', '2:while down']);
  });

  test('short-lived tokens are renewed before expiry and on reconnect; syncing carries on', async () => {
    await server.stop();
    server = new Server({ dataPath, port: 0, logger: silentLogger, accessTokenTtl: 2 });
    await server.start();
    const alice = await register('alice');
    const a = openRealm(alice, '/~/tokens');
    const b = openRealm(alice, '/~/tokens');
    a.write(() => a.create('Task', { id: '1', title: 'early' }));
    await sync(a, b);
    const first = alice.token;
    await new Promise((r) => setTimeout(r, 3000));
    expect(alice.token).not.toBe(first);
    session(a)._dropConnection();
    a.write(() => a.create('Task', { id: '2', title: 'after expiry' }));
    await sync(a, b);
    expect(titles(b)).toEqual(['1:early', '2:after expiry']);
  });

  test('downloads arriving during an open write transaction wait for it to end', async () => {
    const alice = await register('alice');
    const a = openRealm(alice, '/~/deferred');
    const b = openRealm(alice, '/~/deferred');
    await sync(a, b);
    b.beginTransaction();
    b.create('Task', { id: 'b', title: 'in a long write' });
    a.write(() => a.create('Task', { id: 'a', title: 'from a' }));
    await a.syncSession!.uploadAllLocalChanges(10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.objectForPrimaryKey('Task', 'a')).toBeUndefined();
    b.commitTransaction();
    await sync(b, a);
    expect(titles(b)).toEqual(['a:from a', 'b:in a long write']);
    expect(titles(a)).toEqual(['a:from a', 'b:in a long write']);
  });

  test('a reset error leads to a client reset that keeps unsynced local changes', async () => {
    const alice = await register('alice');
    const file = path.join(clientDir, 'resetting.db');
    let a = openRealm(alice, '/~/reset', 'resetting.db');
    a.write(() => a.create('Task', { id: 'synced', title: 'synced' }));
    await sync(a);
    const oldIdent = a._replica.fileIdent;
    a.syncSession!.pause();
    a.write(() => a.create('Task', { id: 'offline', title: 'made offline', notes: ['n'] }));
    a.close();
    realms.splice(realms.indexOf(a), 1);
    // the server no longer recognises this replica (as after a restore from an old backup)
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'fileSalt'").run();
    db.close();
    const errors: Error[] = [];
    a = new Realm({ schema, sync: { user: alice, url: realmUrl('/~/reset'), error: (_s, e) => errors.push(e) }, path: file });
    realms.push(a);
    await sync(a);
    expect(errors.map((e) => (e as any).code)).toEqual(['BAD_CLIENT_FILE_IDENT']);
    expect(a._replica.fileIdent).not.toBe(oldIdent);
    const b = await Realm.open({ schema, sync: { user: alice, url: realmUrl('/~/reset') }, path: path.join(clientDir, 'observer.db') });
    realms.push(b);
    expect(titles(b)).toEqual(['offline:made offline', 'synced:synced']);
    expect([...b.objectForPrimaryKey<any>('Task', 'offline')!.notes]).toEqual(['n']);
  });

  test('a fatal session error is reported to the error callback, without a reconnect loop', async () => {
    const alice = await register('alice');
    const bob = await register('bob');
    const errors: Error[] = [];
    const realm = new Realm({
      schema,
      sync: { user: bob, url: realmUrl(`/${alice.identity}/private`), error: (_s, e) => errors.push(e) },
      path: path.join(clientDir, 'denied.db'),
    });
    realms.push(realm);
    await expect(realm.syncSession!.downloadAllServerChanges(5_000)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(errors.map((e) => (e as any).code)).toEqual(['PERMISSION_DENIED']);
    expect(realm.syncSession!.state).toBe('inactive');
    const binds = session(realm).stats.binds;
    await new Promise((r) => setTimeout(r, 300));
    expect(session(realm).stats.binds).toBe(binds);
  });
});

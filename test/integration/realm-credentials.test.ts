import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import DefaultRealm, * as named from '../../src/index';
import { Server, readAdminToken, silentLogger } from '../../src/server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Realm = require('../../src/index');
const { User, Credentials } = named;

let server: Server;
let dataPath: string;

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-cred-'));
  server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
});
afterAll(async () => {
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});
afterEach(() => {
  for (const u of Object.values(User.all)) u.logout();
});

describe('entry points', () => {
  test('require() gives the Realm class with the realm-js namespaces; import default is the same', () => {
    expect(typeof Realm).toBe('function');
    expect(Realm).toBe(DefaultRealm);
    expect(Realm.default).toBe(Realm);
    expect(Realm.Realm).toBe(Realm);
    for (const k of ['User', 'Credentials', 'Session', 'setFeatureToken', 'setAccessToken']) expect(Realm.Sync[k]).toBeDefined();
    expect(Realm.Object).toBe(named.RealmObject);
    expect(Realm.List).toBe(named.List);
    expect(Realm.Results).toBe(named.Results);
    expect(Realm.Collection).toBe(named.Collection);
    expect(Realm.Server).toBe(named.Server);
    expect(Realm.TributaryError).toBe(named.TributaryError);
    expect(() => Realm.Sync.setFeatureToken('anything')).not.toThrow();
    expect(() => Realm.Sync.setAccessToken('anything')).not.toThrow();
  });

  test('credentials keep their secret out of JSON and logs', () => {
    const c = Credentials.usernamePassword('u', 's3cret', true);
    expect(c.identityProvider).toBe('password');
    expect(JSON.stringify(c)).not.toContain('s3cret');
    expect(Object.values(c)).not.toContain('s3cret');
    expect(Credentials.adminToken('tok').token).toBe('tok');
    expect(Credentials.nickname('n', true).userInfo).toEqual({ is_admin: true });
    expect(Credentials.anonymous().identityProvider).toBe('anonymous');
    expect(Credentials.jwt('j').identityProvider).toBe('jwt');
    expect(() => Credentials.usernamePassword(1 as any, 'x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('login forms against a server', () => {
  test('register/login with credentials, with (url, user, password) and with node callbacks', async () => {
    const url = server.url.replace('http:', 'realm:');
    const created = await Realm.Sync.User.login(url, Credentials.usernamePassword('carol', 'pw1', true));
    expect(created.identity).toMatch(/^[0-9a-f]{32}$/);
    const again = await Realm.Sync.User.login(server.url, Credentials.usernamePassword('carol', 'pw1'));
    expect(again).toBe(created);
    expect(await Realm.Sync.User.login(server.url, 'carol', 'pw1')).toBe(created);
    const viaCallback = await new Promise<any>((resolve, reject) => {
      const r = Realm.Sync.User.register(server.url, 'dave', 'pw2', (err: Error | null, user: any) => (err ? reject(err) : resolve(user)));
      expect(r).toBeUndefined();
    });
    expect(viaCallback.identity).toMatch(/^[0-9a-f]{32}$/);
    const failure = await new Promise<any>((resolve) => Realm.Sync.User.login(server.url, 'dave', 'wrong', (err: Error | null) => resolve(err)));
    expect(failure.code).toBe('AUTH_FAILED');
    await expect(Realm.Sync.User.login(server.url, Credentials.usernamePassword('carol', 'nope'))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(Realm.Sync.User.all[created.identity]).toBe(created);
    created.logout();
    expect(Realm.Sync.User.current).toBe(viaCallback);
  });

  test('adminToken credentials give a user synchronously; adminUser too', () => {
    const token = readAdminToken(dataPath);
    const admin = Realm.Sync.User.login(server.url, Credentials.adminToken(token));
    expect(admin).toBeInstanceOf(User);
    expect(admin.isAdmin).toBe(true);
    expect(Realm.Sync.User.adminUser(token, server.url)).toBe(admin);
  });

  test.each([
    ['nickname', () => Credentials.nickname('nick', true)],
    ['anonymous', () => Credentials.anonymous()],
    ['jwt', () => Credentials.jwt('a.b.c')],
  ])('the %s provider, not enabled on this server, is a clear AUTH_FAILED naming it', async (provider, make) => {
    const error = await Promise.resolve(Realm.Sync.User.login(server.url, make())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(named.TributaryError);
    expect(error).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining(`'${provider}'`) });
  });

  test('createConfiguration and a ~ URL', async () => {
    const user = await User.register(server.url, 'erin', 'pw3');
    const config = user.createConfiguration({ schema: [{ name: 'T', properties: { a: 'int' } }], path: path.join(dataPath, '..', `erin-${process.pid}.db`) } as any);
    expect(config.sync.url).toBe(`realm://127.0.0.1:${server.port}/~/default`);
    const realm = await Realm.open(config);
    realm.write(() => realm.create('T', { a: 1 }));
    await realm.syncSession.uploadAllLocalChanges(10_000);
    const progress: [number, number][] = [];
    await new Promise<void>((resolve) =>
      realm.syncSession.addProgressNotification('upload', 'forCurrentlyOutstandingWork', (t: number, n: number) => {
        progress.push([t, n]);
        if (t >= n) resolve();
      }),
    );
    expect(progress[progress.length - 1][0]).toBe(progress[progress.length - 1][1]);
    realm.close();
    fs.rmSync(config.path as string, { force: true });
  });
});

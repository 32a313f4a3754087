import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import Realm, { Credentials, TributaryError, User } from '../../src/index';
import { readAdminToken, Server, silentLogger } from '../../src/server';

// realm-js API that programs of the ROS era used and Tributary lacked (issue 17, items 5–7),
// against a server.

const REPO = path.resolve(__dirname, '..', '..');
const TSX = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const Note = { name: 'Note', primaryKey: 'id', properties: { id: 'int', text: 'string' } };

let server: Server;
let dataPath: string;
let dir: string;
let base: string;
const mails: { kind: string; username: string; token: string }[] = [];
let n = 0;

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-compat-srv-'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-compat-cli-'));
  server = new Server({
    dataPath,
    port: 0,
    address: '127.0.0.1',
    logger: silentLogger,
    mailer: {
      sendPasswordReset: (to, token) => void mails.push({ kind: 'reset', username: to.username, token }),
      sendEmailConfirmation: (to, token) => void mails.push({ kind: 'confirm', username: to.username, token }),
    },
  });
  await server.start();
  base = server.url.replace('http', 'realm');
});
afterEach(async () => {
  Realm.Sync.setLogger(null);
  Realm.Sync.setLogLevel('info');
  for (const u of Object.values(User.all)) await u.logout();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

const file = () => path.join(dir, `r${++n}.db`);

async function adminSees(realmPath: string): Promise<number> {
  const admin = User.adminUser(readAdminToken(dataPath), server.url);
  const realm = await Realm.open({ sync: { user: admin, url: `${base}${realmPath}` }, path: file() });
  const count = realm.objects('Note').length;
  realm.close();
  return count;
}

test('Realm.Sync.setLogLevel / setLogger report the sync client, by realm-js level numbers', async () => {
  const lines: [number, string][] = [];
  Realm.Sync.setLogger((level, message) => lines.push([level, message]));
  Realm.Sync.setLogLevel('debug');
  const user = await User.register(server.url, `logged-${++n}`, 'pw');
  const realm = await Realm.open({ schema: [Note], sync: { user, url: `${base}/~/logged` }, path: file() });
  realm.close();
  expect(lines).toContainEqual([4, expect.stringMatching(/^connected to ws:\/\/127\.0\.0\.1:\d+\/sync$/)]);
  expect(lines).toContainEqual([2, expect.stringMatching(/^binding \/~\/logged/)]);
  const quiet: [number, string][] = [];
  Realm.Sync.setLogger((level, message) => quiet.push([level, message]));
  Realm.Sync.setLogLevel('error');
  const other = await Realm.open({ schema: [Note], sync: { user, url: `${base}/~/logged2` }, path: file() });
  other.close();
  expect(quiet).toEqual([]);
  expect(() => Realm.Sync.setLogLevel('loud' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
});

test('closing right after a write still uploads it (realm-js did); waitForUploadsOnClose waits for it', async () => {
  const user = await User.register(server.url, `closer-${++n}`, 'pw');
  const realm = await Realm.open({ schema: [Note], sync: { user, url: `${base}/~/closing` }, path: file() });
  realm.write(() => {
    for (let i = 0; i < 50; i++) realm.create('Note', { id: i, text: 'x'.repeat(1000) });
  });
  realm.close();
  await Realm.Sync.waitForUploadsOnClose();
  expect(await adminSees(`/${user.identity}/closing`)).toBe(50);
});

test('a program that writes, closes and ends uploads before the process exits', async () => {
  const script = path.join(dir, 'write-close-exit.js');
  fs.writeFileSync(
    script,
    `const Realm = require(${JSON.stringify(path.join(REPO, 'src', 'index'))});
Realm.Sync.User.register(process.env.SERVER_URL, 'script-user', 'pw').then((user) => {
  return Realm.open({ schema: [${JSON.stringify(Note)}], sync: { user, url: process.env.SERVER_URL.replace('http', 'realm') + '/~/script' }, path: ${JSON.stringify(path.join(dir, 'script.db'))} });
}).then((realm) => {
  realm.write(() => { for (let i = 0; i < 20; i++) realm.create('Note', { id: i, text: 'from a script' }); });
  realm.close();
  console.log('closed');
});
`,
  );
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--import', TSX, script], { cwd: dir, env: { ...process.env, SERVER_URL: server.url }, timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  expect(result).toMatchObject({ code: 0, stdout: 'closed\n' });
  const userId = (await server.options, await fetch(`${server.url}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'password', username: 'script-user', password: 'pw' }) }).then((r) => r.json())) as { identity: string };
  expect(await adminSees(`/${userId.identity}/script`)).toBe(20);
});

test('connection state: ConnectionState, addConnectionNotification, isConnected, Realm.Sync.reconnect', async () => {
  const user = await User.register(server.url, `conn-${++n}`, 'pw', { connection: { backoff: { initialMs: 60_000, maxMs: 60_000 } } });
  const realm = await Realm.open({ schema: [Note], sync: { user, url: `${base}/~/conn` }, path: file() });
  const session = realm.syncSession as any;
  expect(session.connectionState).toBe(Realm.Sync.ConnectionState.Connected);
  expect(session.isConnected()).toBe(true);
  const seen: [string, string][] = [];
  const reconnected = new Promise<void>((resolve) =>
    session.addConnectionNotification((now: string, before: string) => {
      seen.push([now, before]);
      if (now === 'connected') resolve();
    }),
  );
  // The back-off's jitter pinned to its top: the reconnect would wait a minute; reconnect() skips it.
  const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
  let lost!: () => void;
  const disconnected = new Promise<void>((resolve) => (lost = resolve));
  session.addConnectionNotification((now: string) => now === 'connecting' && lost());
  try {
    session._dropConnection();
    await disconnected;
  } finally {
    random.mockRestore();
  }
  expect(session.isConnected()).toBe(false);
  Realm.Sync.reconnect();
  await reconnected;
  expect(seen[0]).toEqual(['disconnected', 'connected']);
  expect(seen[seen.length - 1]).toEqual(['connected', expect.any(String)]);
  realm.close();
});

test('Realm.open(...).progress(cb) reports the download; Realm.openAsync calls back', async () => {
  const writer = await User.register(server.url, `progress-${++n}`, 'pw');
  const w = await Realm.open({ schema: [Note], sync: { user: writer, url: `${base}/~/big` }, path: file() });
  w.write(() => {
    for (let i = 0; i < 200; i++) w.create('Note', { id: i, text: 'y'.repeat(500) });
  });
  await w.syncSession!.uploadAllLocalChanges();
  w.close();
  const progress: [number, number][] = [];
  const reader = await Realm.open({ schema: [Note], sync: { user: writer, url: `${base}/~/big` }, path: file() }).progress((t, total) => progress.push([t, total]));
  expect(reader.objects('Note').length).toBe(200);
  expect(progress.length).toBeGreaterThan(0);
  const [t, total] = progress[progress.length - 1]!;
  expect(t).toBe(total);
  expect(total).toBeGreaterThan(100_000);
  reader.close();
  const viaCallback = await new Promise<Realm>((resolve, reject) => Realm.openAsync({ schema: [Note], sync: { user: writer, url: `${base}/~/big` }, path: file() }, (e, r) => (e ? reject(e) : resolve(r!))));
  expect(viaCallback.objects('Note').length).toBe(200);
  viaCallback.close();
});

test('AuthError, synchronous argument errors, authenticate(server, provider, options)', async () => {
  const e = await Promise.resolve(User.login(server.url, 'nobody-here', 'pw')).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(Realm.Sync.AuthError);
  expect(e).toBeInstanceOf(TributaryError);
  expect(e).toMatchObject({ status: 401, code: 'AUTH_FAILED' });
  expect(() => User.login('not a url', 'a', 'b')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => User.login(server.url, 1 as never, 2 as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => User.register(server.url, 'x', undefined as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  expect(() => Credentials.usernamePassword(null as never, 'x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  const user = await User.authenticate(server.url, 'password', { username: `auth-${++n}`, password: 'pw', register: true });
  expect(user.identity).toMatch(/^[0-9a-f]{32}$/);
  const again = await User.authenticate(server.url, 'password', { username: `auth-${n}`, password: 'pw' });
  expect(again).toBe(user);
});

test('password reset and e-mail confirmation through the server mailer; a reset ends every login', async () => {
  const name = `forgetful-${++n}`;
  const user = await User.register(server.url, name, 'old password');
  await User.requestPasswordReset(server.url, name);
  await User.requestPasswordReset(server.url, 'no-such-user'); // answered the same, nothing sent
  const reset = mails.filter((m) => m.kind === 'reset');
  expect(reset.map((m) => m.username)).toEqual([name]);
  await User.completePasswordReset(server.url, reset[0]!.token, 'new password');
  await expect(User.completePasswordReset(server.url, reset[0]!.token, 'again')).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  await expect(Promise.resolve(User.login(server.url, name, 'old password'))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  // The session from before the reset cannot renew its token.
  await expect(user.refreshAccessToken()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  await User.login(server.url, name, 'new password');
  await User.requestEmailConfirmation(server.url, name);
  const confirm = mails.find((m) => m.kind === 'confirm')!;
  await User.confirmEmail(server.url, confirm.token);
  await expect(User.confirmEmail(server.url, confirm.token)).rejects.toMatchObject({ code: 'AUTH_FAILED' });
});

test('subscribe() on a synced realm completes after the download', async () => {
  const user = await User.register(server.url, `subs-${++n}`, 'pw');
  const realm = await Realm.open({ schema: [Note], sync: { user, url: `${base}/~/subs`, partial: true } as never, path: file() });
  const sub = realm.objects('Note').subscribe();
  const state = await new Promise<number>((resolve) => sub.addListener((_s, st) => resolve(st)));
  expect(state).toBe(Realm.Sync.SubscriptionState.Complete);
  realm.close();
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { User } from '../../src/client';
import { Server, silentLogger, type Logger } from '../../src/server';
import { SYNC_SUBPROTOCOL } from '../../src/protocol/messages';

// One test per hole in accounts and tokens (hardening issue, "Accounts and tokens"). Each was
// written against the code before the fix and failed there.

let dataPath: string;
let server: Server;

async function post(route: string, body: unknown, headers: Record<string, string> = {}, on = server): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${on.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const register = (username: string, password = 'correct horse', on = server) => post('/auth', { provider: 'password', username, password, register: true }, {}, on);
const login = (username: string, password: string, on = server) => post('/auth', { provider: 'password', username, password }, {}, on);
const refresh = (refreshToken: string) => post('/auth', { provider: 'refresh', refreshToken });

function upgradeStatus(token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/sync`, SYNC_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-adv-acct-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, loginFailuresPerAccount: 3 });
  await server.start();
});

afterAll(async () => {
  for (const u of Object.values(User.all)) await u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

test('a refresh token stolen before logout is dead after it', async () => {
  await register('leaky');
  const seen: string[] = [];
  const realFetch = globalThis.fetch;
  const spy = jest.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
    const res = await realFetch(...args);
    const body = (await res.clone().json().catch(() => ({}))) as { refreshToken?: string };
    if (body.refreshToken) seen.push(body.refreshToken);
    return res;
  });
  let user: User;
  try {
    user = (await User.login(server.url, 'leaky', 'correct horse')) as User;
  } finally {
    spy.mockRestore();
  }
  expect(seen).toHaveLength(1);
  await user.logout();
  expect(await refresh(seen[0]!)).toMatchObject({ status: 401, body: { code: 'AUTH_FAILED' } });
});

test('a refresh token works once: using it again fails and revokes what it was exchanged for', async () => {
  const first = (await register('rotating')).body.refreshToken as string;
  const exchanged = await refresh(first);
  expect(exchanged.status).toBe(200);
  const second = exchanged.body.refreshToken as string;
  expect(typeof second).toBe('string');
  expect(second).not.toBe(first);
  expect(await refresh(first)).toMatchObject({ status: 401, body: { code: 'AUTH_FAILED' } });
  // The replay means the token was stolen: the whole chain is revoked, the thief's copy and the owner's.
  expect(await refresh(second)).toMatchObject({ status: 401, body: { code: 'AUTH_FAILED' } });
  expect(await upgradeStatus(exchanged.body.accessToken)).toBe(401);
});

test('the admin token can be rotated; the old one is refused everywhere afterwards', async () => {
  const old = JSON.parse(fs.readFileSync(path.join(dataPath, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN as string;
  const rotated = await post('/admin/token/rotate', {}, { authorization: `Bearer ${old}` });
  expect(rotated.status).toBe(200);
  const fresh = rotated.body.adminToken as string;
  expect(fresh).not.toBe(old);
  expect(JSON.parse(fs.readFileSync(path.join(dataPath, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN).toBe(fresh);
  expect((await post('/auth', { provider: 'adminToken', token: old })).status).toBe(401);
  expect(await upgradeStatus(old)).toBe(401);
  expect((await post('/auth', { provider: 'adminToken', token: fresh })).status).toBe(200);
  expect(await upgradeStatus(fresh)).toBe(101);
});

test('guessing one account\'s password is throttled, even when the guess is finally right', async () => {
  await register('victim', 'the real one');
  for (let i = 0; i < 3; i++) expect((await login('victim', `guess ${i}`)).status).toBe(401);
  const throttled = await login('victim', 'the real one');
  expect(throttled.status).toBe(429);
  expect(throttled.body.code).toBe('RATE_LIMITED');
  expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
});

test('guessing across many accounts from one address is throttled', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-adv-addr-'));
  const other = new Server({ dataPath: dir, port: 0, address: '127.0.0.1', logger: silentLogger, loginFailuresPerAddress: 12 });
  await other.start();
  try {
    await register('bystander', 'pw of bystander', other);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await login(`nobody-${i}`, 'x', other)).status);
    expect(statuses.slice(0, 12).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(12)).toEqual([429, 429]);
    expect((await login('bystander', 'pw of bystander', other)).status).toBe(429);
  } finally {
    await other.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ['__admin'],
  ['__anything'],
  ['nul\u0000inside'],
  ['line\nbreak'],
  ['bell\u0007'],
  ['del\u007f'],
  ['bidi\u202eevil'],
  ['   '],
])('the name %j cannot be registered', async (name) => {
  const res = await register(name);
  expect(res).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT' } });
});

test('open registration on every interface is announced; closed registration refuses sign-ups', async () => {
  const warnings: string[] = [];
  const log: Logger = { debug() {}, info() {}, error() {}, warn: (msg: string) => void warnings.push(msg), child: () => log };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-adv-open-'));
  const open = new Server({ dataPath: dir, port: 0, address: '0.0.0.0', logger: log });
  await open.start();
  await open.stop();
  expect(warnings.some((w) => /registration is open/.test(w))).toBe(true);

  const closed = new Server({ dataPath: dir, port: 0, address: '127.0.0.1', logger: silentLogger, registration: 'closed' });
  await closed.start();
  try {
    const res = await fetch(`${closed.url}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'password', username: 'late', password: 'pw', register: true }) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('REGISTRATION_CLOSED');
  } finally {
    await closed.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a logout ends the live sync connections of that login at once, not when their access token expires', async () => {
  await register('live-one');
  const first = await login('live-one', 'correct horse');
  const other = await login('live-one', 'correct horse');
  const open = (token: string) =>
    new Promise<{ ws: WebSocket; messages: unknown[]; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/sync`, SYNC_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` } });
      const messages: unknown[] = [];
      ws.on('message', (d: Buffer) => messages.push(d));
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      ws.once('open', () => resolve({ ws, messages, closed }));
      ws.once('error', reject);
    });
  const revoked = await open(first.body.accessToken);
  const untouched = await open(other.body.accessToken);
  const started = Date.now();
  expect(await post('/auth/revoke', { token: first.body.refreshToken })).toMatchObject({ status: 200 });
  await revoked.closed;
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(revoked.messages.length).toBe(1); // the ERROR (BAD_AUTHENTICATION) before the close
  // The other login of the same user keeps its connection.
  expect(untouched.ws.readyState).toBe(WebSocket.OPEN);
  untouched.ws.close();
});

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { Server, silentLogger } from '../../src/server';

// Realm.open settles within a documented time whatever the server does: a token the server does
// not accept rejects with BAD_AUTHENTICATION (and reaches sync.error), a server that refuses the
// upgrade for good rejects with its code, and an unreachable one rejects with TIMEOUT after
// openTimeoutMs naming the last error. Before, each of these stayed pending forever.

const schema = [{ name: 'Note', primaryKey: 'id', properties: { id: 'int' } }];
let work: string;
const servers: Server[] = [];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-open-'));
});
afterAll(async () => {
  for (const u of Object.values(User.all)) u.logout();
  for (const s of servers) await s.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function server(name: string): Promise<Server> {
  const s = new Server({ dataPath: path.join(work, name), port: 0, address: '127.0.0.1', logger: silentLogger });
  await s.start();
  servers.push(s);
  return s;
}

function adminToken(name: string): string {
  return JSON.parse(fs.readFileSync(path.join(work, name, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN;
}

async function settles(p: Promise<unknown>): Promise<{ ms: number; code: string | undefined; message: string }> {
  const start = Date.now();
  try {
    await p;
    return { ms: Date.now() - start, code: 'resolved', message: '' };
  } catch (e) {
    return { ms: Date.now() - start, code: (e as { code?: string }).code, message: (e as Error).message };
  }
}

test('a token the server does not accept rejects Realm.open with BAD_AUTHENTICATION and reaches sync.error', async () => {
  const real = await server('real');
  await server('other');
  // A well-formed admin token, signed by another server's key.
  const stranger = User.adminUser(adminToken('other'), real.url);
  const errors: Error[] = [];
  const result = await settles(
    Realm.open({
      schema: schema as any,
      sync: { user: stranger, url: `realm://127.0.0.1:${real.port}/anything`, error: (_s, e) => errors.push(e) },
      path: path.join(work, 'stranger.db'),
    }),
  );
  expect(result.code).toBe('BAD_AUTHENTICATION');
  expect(result.ms).toBeLessThan(15_000);
  expect(errors.map((e) => (e as { code?: string }).code)).toContain('BAD_AUTHENTICATION');
});

test('a server that refuses the upgrade for good rejects Realm.open with its code', async () => {
  const real = await server('for-token');
  const notSync = http.createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'NOT_FOUND', message: 'no sync here' }));
  });
  const body = JSON.stringify({ code: 'NOT_FOUND', message: 'no sync here' });
  notSync.on('upgrade', (_req, socket) => socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
  await new Promise<void>((r) => notSync.listen(0, '127.0.0.1', () => r()));
  const port = (notSync.address() as net.AddressInfo).port;
  try {
    const user = User.adminUser(adminToken('for-token'), real.url);
    const result = await settles(Realm.open({ schema: schema as any, sync: { user, url: `realm://127.0.0.1:${port}/x` }, path: path.join(work, 'refused.db') }));
    expect(result.code).toBe('NOT_FOUND');
    expect(result.message).toMatch(/no sync here/);
    expect(result.ms).toBeLessThan(15_000);
  } finally {
    notSync.close();
  }
});

test('an unreachable server rejects Realm.open with TIMEOUT after openTimeoutMs, naming the last error', async () => {
  const real = await server('reachable');
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const user = User.adminUser(adminToken('reachable'), real.url);
  const result = await settles(Realm.open({ schema: schema as any, sync: { user, url: `realm://127.0.0.1:${port}/x`, openTimeoutMs: 1500 }, path: path.join(work, 'unreachable.db') }));
  expect(result.code).toBe('TIMEOUT');
  expect(result.message).toMatch(/ECONNREFUSED/);
  expect(result.ms).toBeGreaterThanOrEqual(1400);
  expect(result.ms).toBeLessThan(10_000);
});

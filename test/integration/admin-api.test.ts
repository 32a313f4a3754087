import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readAdminToken, Server, silentLogger } from '../../src/server';

// Every authenticated HTTP route against every kind of caller. The roles:
// none — no Authorization header; stranger — a user with no right on the realm; owner — the
// user whose realm it is; manager — a user granted manage on it; adminUser — a password user
// made admin; adminToken — the server's admin token.

type Role = 'none' | 'stranger' | 'owner' | 'manager' | 'adminUser' | 'adminToken';
const ROLES: Role[] = ['none', 'stranger', 'owner', 'manager', 'adminUser', 'adminToken'];

let server: Server;
let dataPath: string;
const tokens: Partial<Record<Role, string>> = {};
const ids: Partial<Record<Role, string>> = {};
let realmPath: string;

async function call(method: string, route: string, role: Role, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (role !== 'none') headers.authorization = `Bearer ${tokens[role]}`;
  const res = await fetch(`${server.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function register(name: string): Promise<{ identity: string; accessToken: string }> {
  const res = await fetch(`${server.url}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'password', username: name, password: 'pw', register: true }) });
  return (await res.json()) as { identity: string; accessToken: string };
}

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-admin-api-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  tokens.adminToken = readAdminToken(dataPath);
  for (const role of ['stranger', 'owner', 'manager'] as const) {
    const r = await register(role);
    tokens[role] = r.accessToken;
    ids[role] = r.identity;
  }
  // The admin user: created through the API with the admin token, then logged in by password.
  expect((await call('POST', '/admin/users', 'adminToken', { username: 'realm-admin', password: 'pw', isAdmin: true })).status).toBe(201);
  const login = await fetch(`${server.url}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'password', username: 'realm-admin', password: 'pw' }) });
  const admin = (await login.json()) as { identity: string; isAdmin: boolean; accessToken: string };
  expect(admin.isAdmin).toBe(true);
  tokens.adminUser = admin.accessToken;
  ids.adminUser = admin.identity;
  realmPath = `/${ids.owner}/matrix`;
  expect((await call('POST', '/permissions/apply', 'owner', { condition: { userId: ids.manager }, realmPath, accessLevel: 'admin' })).status).toBe(200);
});

afterAll(async () => {
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

const ADMIN_ONLY: Record<Role, number> = { none: 401, stranger: 403, owner: 403, manager: 403, adminUser: 200, adminToken: 200 };
const ANY_USER: Record<Role, number> = { none: 401, stranger: 200, owner: 200, manager: 200, adminUser: 200, adminToken: 200 };
const MANAGERS: Record<Role, number> = { none: 401, stranger: 403, owner: 200, manager: 200, adminUser: 200, adminToken: 200 };

const cases: [string, string, (role: Role) => string, (role: Role) => unknown, Record<Role, number>][] = [
  ['GET', '/admin/users', () => '/admin/users', () => undefined, ADMIN_ONLY],
  ['POST', '/admin/users', () => '/admin/users', (role) => ({ username: `made-by-${role}`, password: 'pw' }), { ...ADMIN_ONLY, adminUser: 201, adminToken: 201 }],
  ['GET', '/admin/users/:user', () => `/admin/users/${ids.stranger}`, () => undefined, ADMIN_ONLY],
  ['PUT', '/admin/users/:user/admin', () => `/admin/users/${ids.stranger}/admin`, () => ({ isAdmin: false }), ADMIN_ONLY],
  ['PUT', '/admin/users/:user/password', () => '/admin/users/made-by-adminToken/password', () => ({ password: 'new' }), ADMIN_ONLY],
  ['GET', '/auth/users/:provider/:id', () => '/auth/users/password/stranger', () => undefined, ADMIN_ONLY],
  ['GET', '/admin/permissions', () => `/admin/permissions?path=${encodeURIComponent(realmPath)}`, () => undefined, ADMIN_ONLY],
  ['POST', '/admin/permissions', () => '/admin/permissions', () => ({ path: realmPath, user: 'made-by-adminUser', accessLevel: 'read' }), ADMIN_ONLY],
  ['POST', '/permissions/apply', () => '/permissions/apply', () => ({ condition: { userId: '*' }, realmPath, accessLevel: 'read' }), MANAGERS],
  ['GET', '/permissions', () => '/permissions?recipient=any', () => undefined, ANY_USER],
  ['POST', '/permissions/offers', () => '/permissions/offers', () => ({ realmPath, accessLevel: 'read' }), { ...MANAGERS, owner: 201, manager: 201, adminUser: 201, adminToken: 201 }],
  ['GET', '/permissions/offers', () => '/permissions/offers', () => undefined, ANY_USER],
];

describe.each(cases)('%s %s', (method, _name, route, body, expected) => {
  test.each(ROLES)('as %s', async (role) => {
    const res = await call(method, route(role), role, body(role));
    expect({ status: res.status, code: res.body.code }).toEqual({ status: expected[role], code: expected[role] >= 400 ? { 401: 'BAD_AUTHENTICATION', 403: 'PERMISSION_DENIED' }[expected[role]] : undefined });
  });
});

describe('offer tokens: accept and invalidate', () => {
  test.each(ROLES)('accept as %s', async (role) => {
    const offer = await call('POST', '/permissions/offers', 'owner', { realmPath, accessLevel: 'read' });
    const res = await call('POST', `/permissions/offers/${offer.body.token}/accept`, role);
    // The admin token is no user to give a grant to.
    const expected = { none: 401, adminToken: 400 }[role as string] ?? 200;
    expect(res.status).toBe(expected);
  });

  test.each(ROLES)('invalidate as %s', async (role) => {
    const offer = await call('POST', '/permissions/offers', 'owner', { realmPath, accessLevel: 'read' });
    const res = await call('DELETE', `/permissions/offers/${offer.body.token}`, role);
    const expected = { none: 401, stranger: 403, manager: 403 }[role as string] ?? 200;
    expect(res.status).toBe(expected);
    const accept = await call('POST', `/permissions/offers/${offer.body.token}/accept`, 'stranger');
    expect(accept.status).toBe(expected === 200 ? 404 : 200);
  });
});

test('grant-admin takes effect at once, without a new token; revoke-admin likewise', async () => {
  const user = await register('promoted');
  tokens.stranger = user.accessToken;
  expect((await call('GET', '/admin/users', 'stranger')).status).toBe(403);
  expect((await call('PUT', `/admin/users/promoted/admin`, 'adminToken', { isAdmin: true })).body.user).toMatchObject({ isAdmin: true, username: 'promoted' });
  expect((await call('GET', '/admin/users', 'stranger')).status).toBe(200);
  await call('PUT', `/admin/users/${user.identity}/admin`, 'adminToken', { isAdmin: false });
  expect((await call('GET', '/admin/users', 'stranger')).status).toBe(403);
});

test('bad input to the admin API is a coded 4xx', async () => {
  expect((await call('POST', '/admin/users', 'adminToken', { username: 'x' })).body.code).toBe('INVALID_ARGUMENT');
  expect((await call('POST', '/admin/users', 'adminToken', { username: 'realm-admin', password: 'pw' })).status).toBe(409);
  expect((await call('GET', '/admin/users/nobody-at-all', 'adminToken')).body.code).toBe('NO_SUCH_USER');
  expect((await call('PUT', '/admin/users/nobody-at-all/admin', 'adminToken', { isAdmin: true })).status).toBe(404);
  expect((await call('POST', '/admin/permissions', 'adminToken', { path: realmPath, user: 'nobody-at-all', accessLevel: 'read' })).status).toBe(404);
  expect((await call('POST', '/admin/permissions', 'adminToken', { path: realmPath, user: '*', accessLevel: 'sometimes' })).body.code).toBe('INVALID_ARGUMENT');
  expect((await call('POST', '/admin/permissions', 'adminToken', { path: '/a/../b', user: '*', accessLevel: 'read' })).body.code).toBe('ILLEGAL_REALM_PATH');
  expect((await call('DELETE', '/admin/users', 'adminToken')).status).toBe(405);
  expect((await call('GET', '/admin/nothing', 'adminToken')).status).toBe(404);
  const garbage = await fetch(`${server.url}/admin/users`, { headers: { authorization: 'Bearer not-a-token' } });
  expect(garbage.status).toBe(401);
});

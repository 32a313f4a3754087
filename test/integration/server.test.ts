import { randomBytes } from 'node:crypto';
import { decodeChangeset, encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { ERROR_CODES } from '../../src/errors';
import type { DownloadMessage, ErrorMessage, ServerIdentMessage, StateMessage } from '../../src/protocol/messages';
import { postAuth, RawSyncClient, startServerProcess, type ServerProcess } from '../helpers/server-process';

const code = (c: keyof typeof ERROR_CODES) => (ERROR_CODES[c] as { protocol?: number }).protocol;

const TASK_SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Task',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'string', optional: false },
    { name: 'title', type: 'string', optional: false },
    { name: 'done', type: 'bool', optional: false },
  ],
};

let server: ServerProcess;
const clients: RawSyncClient[] = [];

beforeAll(async () => {
  server = await startServerProcess({ args: ['--max-message-bytes', '64KiB', '--log-level', 'info'] });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await server?.dispose();
});

async function register(): Promise<{ identity: string; accessToken: string; refreshToken: string; username: string; password: string }> {
  const username = `user-${randomBytes(6).toString('hex')}`;
  const password = 'correct horse';
  const res = await postAuth(server.url, { provider: 'password', username, password, register: true });
  expect(res.status).toBe(200);
  return { ...res.body, username, password };
}

async function connect(token: string): Promise<RawSyncClient> {
  const c = await RawSyncClient.connect(server.syncUrl, token);
  clients.push(c);
  return c;
}

/** BIND with needIdent, IDENT from cursor 0, and the first DOWNLOAD. */
async function openSession(c: RawSyncClient, session: number, path: string) {
  c.send({ type: 'BIND', session, path, needIdent: true });
  const ident = await c.next<ServerIdentMessage>((m) => (m.type === 'IDENT' || m.type === 'ERROR') && m.session === session);
  if (ident.type !== 'IDENT') throw new Error(`bind failed: ${JSON.stringify(ident)}`);
  c.send({ type: 'IDENT', session, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  const download = await c.nextOf('DOWNLOAD', session);
  return { fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, download };
}

function upload(c: RawSyncClient, session: number, clientVersion: number, base: number, instructions: Instruction[], timestamp = Date.now() * 1024) {
  c.send({
    type: 'UPLOAD',
    session,
    progressClientVersion: clientVersion,
    progressServerVersion: base,
    changesets: [{ clientVersion, lastIntegratedServerVersion: base, originTimestamp: timestamp, data: encodeChangeset(instructions) }],
  });
}

async function nextError(c: RawSyncClient, session?: number): Promise<ErrorMessage> {
  return c.nextOf('ERROR', session);
}

async function expectAlive(c: RawSyncClient): Promise<void> {
  c.send({ type: 'PING', timestamp: 42, rtt: 0 });
  expect((await c.nextOf('PONG')).timestamp).toBe(42);
}

describe('http', () => {
  test('GET /health', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: expect.any(String) });
  });

  test('unknown routes and methods get coded JSON errors', async () => {
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: unknown }).code).toBe('NOT_FOUND');
    const wrongMethod = await fetch(`${server.url}/auth`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(((await wrongMethod.json()) as { code: unknown }).code).toBe('NOT_FOUND');
  });

  test('register, login, wrong password, unknown user, duplicate', async () => {
    const user = await register();
    expect(user.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(user).toMatchObject({ isAdmin: false, accessToken: expect.any(String), refreshToken: expect.any(String) });

    const login = await postAuth(server.url, { provider: 'password', username: user.username, password: user.password });
    expect(login.status).toBe(200);
    expect(login.body.identity).toBe(user.identity);

    expect(await postAuth(server.url, { provider: 'password', username: user.username, password: 'wrong' })).toEqual({ status: 401, body: expect.objectContaining({ code: 'AUTH_FAILED' }) });
    expect(await postAuth(server.url, { provider: 'password', username: 'nobody-' + user.username, password: 'x' })).toEqual({ status: 401, body: expect.objectContaining({ code: 'AUTH_FAILED' }) });
    expect(await postAuth(server.url, { provider: 'password', username: user.username, password: 'x', register: true })).toEqual({ status: 409, body: expect.objectContaining({ code: 'USER_EXISTS' }) });
  });

  test('bad bodies are 400 INVALID_ARGUMENT; huge bodies 413', async () => {
    for (const body of ['{not json', '[]', { provider: 5 }, { provider: 'password', username: 5, password: 'x' }, { provider: 'password', username: 'a' }, { provider: 'refresh' }]) {
      const res = await postAuth(server.url, body);
      expect(res).toEqual({ status: 400, body: expect.objectContaining({ code: 'INVALID_ARGUMENT' }) });
    }
    // A provider this server does not enable is a failed login, naming the provider.
    expect(await postAuth(server.url, { provider: 'nope' })).toEqual({ status: 401, body: expect.objectContaining({ code: 'AUTH_FAILED', message: expect.stringContaining("'nope'") }) });
    const huge = await postAuth(server.url, { provider: 'password', username: 'x'.repeat(200_000), password: 'y' });
    expect(huge.status).toBe(413);
  });

  test('refresh and admin token providers', async () => {
    const user = await register();
    const refreshed = await postAuth(server.url, { provider: 'refresh', refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual({ identity: user.identity, isAdmin: false, accessToken: expect.any(String), refreshToken: expect.any(String) });
    // An access token is not a refresh token.
    expect((await postAuth(server.url, { provider: 'refresh', refreshToken: user.accessToken })).status).toBe(401);

    const admin = await postAuth(server.url, { provider: 'adminToken', token: server.adminToken });
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ identity: '__admin', isAdmin: true, accessToken: expect.any(String) });
    expect((await postAuth(server.url, { provider: 'adminToken', token: user.accessToken })).body.code).toBe('AUTH_FAILED');
  });

  test('the logs never contain passwords or tokens', async () => {
    const user = await register();
    await postAuth(server.url, { provider: 'password', username: user.username, password: 'wrong-password-xyz' });
    const all = server.logs.join('\n');
    expect(all).not.toContain(user.password);
    expect(all).not.toContain('wrong-password-xyz');
    expect(all).not.toContain(user.accessToken);
    expect(all).not.toContain(server.adminToken);
  });
});

describe('websocket upgrade', () => {
  test('missing, malformed and non-access tokens are refused with 401', async () => {
    const user = await register();
    for (const token of [null, 'garbage', user.refreshToken, user.accessToken.slice(0, -4) + 'AAAA']) {
      await expect(RawSyncClient.connect(server.syncUrl, token)).rejects.toMatchObject({ status: 401 });
    }
  });

  test('a wrong subprotocol is refused with 400', async () => {
    const user = await register();
    await expect(RawSyncClient.connect(server.syncUrl, user.accessToken, 'tributary-sync.999')).rejects.toMatchObject({ status: 400 });
  });

  test('access and admin tokens open a connection', async () => {
    const user = await register();
    await expectAlive(await connect(user.accessToken));
    await expectAlive(await connect(server.adminToken));
  });
});

describe('sync', () => {
  test('upload, acknowledge, and download between two sessions', async () => {
    const user = await register();
    const path = `/${user.identity}/tasks`;
    const a = await connect(user.accessToken);
    const b = await connect(user.accessToken);

    const sa = await openSession(a, 1, '/~/tasks');
    expect(sa.download).toMatchObject({ serverVersion: 0, latestServerVersion: 0, uploadClientVersion: 0, changesets: [] });

    upload(a, 1, 1, 0, [TASK_SCHEMA, { op: 'Create', type: 'Task', id: 't1', values: { title: 'write tests', done: false } }]);
    const ack = await a.nextOf('DOWNLOAD', 1);
    expect(ack).toMatchObject({ serverVersion: 1, latestServerVersion: 1, uploadClientVersion: 1, uploadServerVersion: 0, lastIntegratedClientVersion: 1, changesets: [] });

    const sb = await openSession(b, 7, path);
    expect(sb.fileIdent).not.toBe(sa.fileIdent);
    expect(sb.download.serverVersion).toBe(1);
    expect(sb.download.changesets).toHaveLength(1);
    const [entry] = sb.download.changesets;
    expect(entry).toMatchObject({ serverVersion: 1, originFileIdent: sa.fileIdent, lastIntegratedClientVersion: 0 });
    expect(decodeChangeset(entry!.data)[1]).toMatchObject({ op: 'Create', id: 't1' });

    upload(b, 7, 1, 1, [{ op: 'Set', type: 'Task', id: 't1', values: { done: true } }]);
    const ackB = await b.nextOf('DOWNLOAD', 7);
    expect(ackB).toMatchObject({ serverVersion: 2, uploadClientVersion: 1, changesets: [] });
    const pushed = await a.nextOf('DOWNLOAD', 1);
    expect(pushed.serverVersion).toBe(2);
    expect(pushed.changesets.map((c) => c.originFileIdent)).toEqual([sb.fileIdent]);
    expect(pushed.changesets[0]!.lastIntegratedClientVersion).toBe(1);
    expect(decodeChangeset(pushed.changesets[0]!.data)).toEqual([{ op: 'Set', type: 'Task', id: 't1', values: { done: true } }]);

    a.send({ type: 'MARK', session: 1, requestId: 99 });
    expect(await a.nextOf('MARK', 1)).toEqual({ type: 'MARK', session: 1, requestId: 99 });
  });

  test('a re-upload after reconnect is skipped, and the cursors resume', async () => {
    const user = await register();
    const a = await connect(user.accessToken);
    const s = await openSession(a, 1, '/~/resume');
    upload(a, 1, 1, 0, [TASK_SCHEMA]);
    const ack = await a.nextOf('DOWNLOAD', 1);
    expect(ack.uploadClientVersion).toBe(1);
    a.close();

    const again = await connect(user.accessToken);
    again.send({ type: 'BIND', session: 3, path: '/~/resume', needIdent: false });
    again.send({
      type: 'IDENT',
      session: 3,
      fileIdent: s.fileIdent,
      fileSalt: s.fileSalt,
      serverVersion: ack.serverVersion,
      lastIntegratedClientVersion: ack.lastIntegratedClientVersion,
      latestServerVersion: ack.latestServerVersion,
      latestServerVersionSalt: ack.latestServerVersionSalt,
    });
    const first = await again.nextOf('DOWNLOAD', 3);
    expect(first).toMatchObject({ serverVersion: 1, uploadClientVersion: 1, changesets: [] });
    upload(again, 3, 1, 0, [TASK_SCHEMA]);
    upload(again, 3, 2, 1, [{ op: 'Create', type: 'Task', id: 'x', values: {} }]);
    const acks: DownloadMessage[] = [await again.nextOf('DOWNLOAD', 3)];
    while (acks[acks.length - 1]!.uploadClientVersion < 2) acks.push(await again.nextOf('DOWNLOAD', 3));
    // Client version 1 was skipped: only one new server version.
    expect(acks[acks.length - 1]).toMatchObject({ serverVersion: 2, latestServerVersion: 2, uploadClientVersion: 2 });
  });

  test('STATE_REQUEST sends a snapshot that rebuilds the state, then downloads continue', async () => {
    const user = await register();
    const a = await connect(user.accessToken);
    await openSession(a, 1, '/~/snap');
    upload(a, 1, 1, 0, [TASK_SCHEMA, { op: 'Create', type: 'Task', id: 'k', values: { title: 'snap', done: true } }]);
    await a.nextOf('DOWNLOAD', 1);

    const b = await connect(user.accessToken);
    await openSession(b, 2, '/~/snap');
    b.send({ type: 'STATE_REQUEST', session: 2 });
    const state = await b.nextOf('STATE', 2);
    expect(state).toMatchObject<Partial<StateMessage>>({ serverVersion: 1, segment: 0, last: true, lastIntegratedClientVersion: 0 });
    const instructions = decodeChangeset(state.data);
    expect(instructions[0]).toMatchObject({ op: 'AddType', type: 'Task', primaryKey: 'id' });
    expect(instructions[1]).toEqual({ op: 'Create', type: 'Task', id: 'k', values: { title: 'snap', done: true } });

    upload(a, 1, 2, 1, [{ op: 'Set', type: 'Task', id: 'k', values: { title: 'later' } }]);
    const next = await b.next<DownloadMessage>((m) => m.type === 'DOWNLOAD' && m.changesets.length > 0);
    expect(next.changesets[0]!.serverVersion).toBe(2);
  });

  test('the admin realm lists realms and users', async () => {
    const user = await register();
    const a = await connect(user.accessToken);
    await openSession(a, 1, '/~/listed');
    const admin = await connect(server.adminToken);
    await openSession(admin, 1, '/__admin');
    admin.send({ type: 'STATE_REQUEST', session: 1 });
    const state = await admin.nextOf('STATE', 1);
    const instructions = decodeChangeset(state.data);
    const creates = instructions.filter((i) => i.op === 'Create');
    expect(creates).toContainEqual(expect.objectContaining({ type: 'RealmFile', id: `/${user.identity}/listed`, values: expect.objectContaining({ realmType: 'full', deleted: false }) }));
    // A snapshot sets links after every object exists.
    expect(instructions).toContainEqual(expect.objectContaining({ op: 'Set', type: 'RealmFile', id: `/${user.identity}/listed`, values: { owner: user.identity } }));
    expect(creates).toContainEqual(expect.objectContaining({ type: 'User', id: user.identity, values: expect.objectContaining({ username: user.username, isAdmin: false }) }));
    expect(creates).toContainEqual(expect.objectContaining({ type: 'Account', id: `password/${user.username}`, values: expect.objectContaining({ provider: 'password', provider_id: user.username }) }));
  });
});

describe('bad input gets a protocol error and the server stays up', () => {
  test.each([
    ['a truncated frame', 'BAD_SYNTAX', Uint8Array.of(0x01, 0x01)],
    ['trailing bytes', 'BAD_SYNTAX', Uint8Array.of(0x08, 0x01, 0x01, 0x00)],
    ['an unknown message type', 'UNKNOWN_MESSAGE', Uint8Array.of(0x7f, 0x00)],
    ['an empty frame', 'BAD_SYNTAX', new Uint8Array(0)],
    ['a server message sent by a client', 'UNKNOWN_MESSAGE', Uint8Array.of(0x16, 0x01)],
    ['a text frame', 'BAD_SYNTAX', 'hello'],
  ] as const)('%s: %s, then the connection closes', async (_name, expected, frame) => {
    const user = await register();
    const c = await connect(user.accessToken);
    c.sendRaw(frame);
    const err = await nextError(c, 0);
    expect(err.code).toBe(code(expected));
    await c.closed;
    await expectAlive(await connect(user.accessToken));
  });

  test('an oversized message gets LIMITS_EXCEEDED', async () => {
    const user = await register();
    const c = await connect(user.accessToken);
    const data = randomBytes(100 * 1024);
    c.send({ type: 'UPLOAD', session: 1, progressClientVersion: 1, progressServerVersion: 0, changesets: [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 1, data }] });
    expect((await nextError(c, 0)).code).toBe(code('LIMITS_EXCEEDED'));
    expect((await c.closed).code).toBe(1009);
    await expectAlive(await connect(user.accessToken));
  });

  test('invalid paths, permission denied and unknown realms are session errors; other sessions continue', async () => {
    const owner = await register();
    const other = await register();
    const c = await connect(other.accessToken);
    await openSession(c, 1, '/~/mine');
    const cases: [string, keyof typeof ERROR_CODES][] = [
      ['/a/../b', 'ILLEGAL_REALM_PATH'],
      ['no-slash', 'ILLEGAL_REALM_PATH'],
      ['/a//b', 'ILLEGAL_REALM_PATH'],
      ['/a/b~c', 'ILLEGAL_REALM_PATH'],
      [`/${owner.identity}/tasks`, 'PERMISSION_DENIED'],
      ['/__admin', 'PERMISSION_DENIED'],
      ['/shared/catalog', 'PERMISSION_DENIED'],
    ];
    let session = 10;
    for (const [path, expected] of cases) {
      session++;
      c.send({ type: 'BIND', session, path, needIdent: true });
      const err = await nextError(c, session);
      expect([path, err.code]).toEqual([path, code(expected)]);
      c.send({ type: 'UNBIND', session });
      await c.nextOf('UNBOUND', session);
    }
    // A path longer than the limit is a decode error of the BIND itself (connection level), tested in the unit tests.
    c.send({ type: 'MARK', session: 1, requestId: 5 });
    expect(await c.nextOf('MARK', 1)).toMatchObject({ requestId: 5 });
  });

  test('session id misuse is rejected without ending the connection', async () => {
    const user = await register();
    const c = await connect(user.accessToken);
    await openSession(c, 1, '/~/ids');
    c.send({ type: 'BIND', session: 1, path: '/~/other', needIdent: true });
    expect((await nextError(c, 0)).code).toBe(code('REUSE_OF_SESSION_IDENT'));
    c.send({ type: 'BIND', session: 0, path: '/~/other', needIdent: true });
    expect((await nextError(c, 0)).code).toBe(code('BAD_SESSION_IDENT'));
    c.send({ type: 'MARK', session: 55, requestId: 1 });
    expect((await nextError(c, 0)).code).toBe(code('BAD_SESSION_IDENT'));
    c.send({ type: 'MARK', session: 1, requestId: 2 });
    expect(await c.nextOf('MARK', 1)).toMatchObject({ requestId: 2 });
  });

  test('messages out of order and cursors moving backwards', async () => {
    const user = await register();
    const c = await connect(user.accessToken);
    c.send({ type: 'BIND', session: 2, path: '/~/order', needIdent: true });
    await c.nextOf('IDENT', 2);
    c.send({ type: 'UPLOAD', session: 2, progressClientVersion: 0, progressServerVersion: 0, changesets: [] });
    expect((await nextError(c, 2)).code).toBe(code('BAD_MESSAGE_ORDER'));

    await openSession(c, 3, '/~/order');
    c.send({ type: 'UPLOAD', session: 3, progressClientVersion: 5, progressServerVersion: 0, changesets: [] });
    expect((await c.nextOf('DOWNLOAD', 3)).uploadClientVersion).toBe(5);
    c.send({ type: 'UPLOAD', session: 3, progressClientVersion: 3, progressServerVersion: 0, changesets: [] });
    expect((await nextError(c, 3)).code).toBe(code('BAD_CLIENT_VERSION'));

    await openSession(c, 5, '/~/order');
    c.send({ type: 'UPLOAD', session: 5, progressClientVersion: 1, progressServerVersion: 9, changesets: [] });
    expect((await nextError(c, 5)).code).toBe(code('BAD_SERVER_VERSION'));

    await openSession(c, 4, '/~/order');
    c.send({
      type: 'UPLOAD',
      session: 4,
      progressClientVersion: 3,
      progressServerVersion: 0,
      changesets: [
        { clientVersion: 2, lastIntegratedServerVersion: 0, originTimestamp: 1, data: encodeChangeset([]) },
        { clientVersion: 2, lastIntegratedServerVersion: 0, originTimestamp: 1, data: encodeChangeset([]) },
      ],
    });
    expect((await nextError(c, 4)).code).toBe(code('BAD_CLIENT_VERSION'));
    await expectAlive(c);
  });

  test('IDENT checks: unknown file, wrong salt, cursor ahead, diverging salt', async () => {
    const user = await register();
    const c = await connect(user.accessToken);
    const s = await openSession(c, 1, '/~/identity');
    const base = { fileIdent: s.fileIdent, fileSalt: s.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 };
    const cases: [Partial<typeof base>, keyof typeof ERROR_CODES][] = [
      [{ fileIdent: 999 }, 'BAD_CLIENT_FILE_IDENT'],
      [{ fileSalt: s.fileSalt + 1 }, 'BAD_CLIENT_FILE_IDENT'],
      [{ serverVersion: 5, latestServerVersion: 5 }, 'BAD_SERVER_VERSION'],
      [{ latestServerVersionSalt: 77 }, 'DIVERGING_HISTORIES'],
    ];
    let session = 10;
    for (const [patch, expected] of cases) {
      session++;
      c.send({ type: 'BIND', session, path: '/~/identity', needIdent: false });
      c.send({ type: 'IDENT', session, ...base, ...patch });
      expect((await nextError(c, session)).code).toBe(code(expected));
    }
  });

  test('a bad changeset is rejected for its session only', async () => {
    const user = await register();
    const c = await connect(user.accessToken);
    await openSession(c, 1, '/~/bad');
    await openSession(c, 2, '/~/bad');
    c.send({ type: 'UPLOAD', session: 1, progressClientVersion: 1, progressServerVersion: 0, changesets: [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 1, data: Uint8Array.of(0xff, 0x00) }] });
    expect((await nextError(c, 1)).code).toBe(code('BAD_CHANGESET'));
    // Decodes, but cannot apply: a Set on a type that does not exist.
    await openSession(c, 3, '/~/bad');
    upload(c, 3, 1, 0, [{ op: 'Set', type: 'Nope', id: 1, values: {} }]);
    const err = await nextError(c, 3);
    expect(err).toMatchObject({ code: code('BAD_CHANGESET'), action: 'reset' });

    upload(c, 2, 1, 0, [TASK_SCHEMA]);
    expect(await c.nextOf('DOWNLOAD', 2)).toMatchObject({ uploadClientVersion: 1, serverVersion: 1 });
  });
});

describe('tokens over time', () => {
  let shortLived: ServerProcess;
  beforeAll(async () => {
    shortLived = await startServerProcess({ args: ['--access-token-ttl', '2', '--max-sessions-per-connection', '3', '--download-batch-bytes', '1KiB'] });
  });
  afterAll(async () => {
    await shortLived?.dispose();
  });

  test('an expired token gives TOKEN_EXPIRED on the next BIND; REFRESH fixes it', async () => {
    const reg = await postAuth(shortLived.url, { provider: 'password', username: 'expiring', password: 'pw', register: true });
    const c = await RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken);
    clients.push(c);
    await new Promise((r) => setTimeout(r, 2600));
    c.send({ type: 'BIND', session: 1, path: '/~/r', needIdent: true });
    const err = await c.nextOf('ERROR', 1);
    expect(err).toMatchObject({ code: code('TOKEN_EXPIRED'), action: 'retry' });
    c.send({ type: 'UNBIND', session: 1 });
    await c.nextOf('UNBOUND', 1);

    const refreshed = await postAuth(shortLived.url, { provider: 'refresh', refreshToken: reg.body.refreshToken });
    c.send({ type: 'REFRESH', token: refreshed.body.accessToken });
    c.send({ type: 'BIND', session: 1, path: '/~/r', needIdent: true });
    expect(await c.nextOf('IDENT', 1)).toMatchObject({ session: 1 });

    const stranger = await postAuth(shortLived.url, { provider: 'password', username: 'stranger', password: 'pw', register: true });
    c.send({ type: 'REFRESH', token: stranger.body.accessToken });
    expect((await c.nextOf('ERROR', 0)).code).toBe(code('USER_MISMATCH'));
  });

  test('an expired token is refused at the upgrade', async () => {
    const reg = await postAuth(shortLived.url, { provider: 'password', username: 'expiring2', password: 'pw', register: true });
    await new Promise((r) => setTimeout(r, 2600));
    await expect(RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken)).rejects.toMatchObject({ status: 401 });
  });

  test('acknowledged writes, users and the admin token survive kill -9', async () => {
    const reg = await postAuth(shortLived.url, { provider: 'password', username: 'durable', password: 'pw', register: true });
    const c = await RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken);
    clients.push(c);
    const s = await openSession(c, 1, '/~/durable');
    upload(c, 1, 1, 0, [TASK_SCHEMA, { op: 'Create', type: 'Task', id: 'd', values: { title: 'kept' } }]);
    expect((await c.nextOf('DOWNLOAD', 1)).uploadClientVersion).toBe(1);
    await shortLived.restart('SIGKILL');

    const login = await postAuth(shortLived.url, { provider: 'password', username: 'durable', password: 'pw' });
    expect(login.status).toBe(200);
    expect((await postAuth(shortLived.url, { provider: 'adminToken', token: shortLived.adminToken })).status).toBe(200);
    const again = await RawSyncClient.connect(shortLived.syncUrl, login.body.accessToken);
    clients.push(again);
    again.send({ type: 'BIND', session: 1, path: '/~/durable', needIdent: false });
    again.send({ type: 'IDENT', session: 1, fileIdent: s.fileIdent, fileSalt: s.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
    expect(await again.nextOf('DOWNLOAD', 1)).toMatchObject({ serverVersion: 1, latestServerVersion: 1, uploadClientVersion: 1, lastIntegratedClientVersion: 1 });
  });

  test('a connection holds at most maxSessionsPerConnection sessions', async () => {
    const reg = await postAuth(shortLived.url, { provider: 'password', username: 'many', password: 'pw', register: true });
    const c = await RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken);
    clients.push(c);
    for (const session of [1, 2, 3]) c.send({ type: 'BIND', session, path: `/~/s${session}`, needIdent: true });
    for (const session of [1, 2, 3]) await c.nextOf('IDENT', session);
    c.send({ type: 'BIND', session: 4, path: '/~/s4', needIdent: true });
    expect((await c.nextOf('ERROR', 4)).code).toBe(code('TOO_MANY_SESSIONS'));
    c.send({ type: 'UNBIND', session: 2 });
    await c.nextOf('UNBOUND', 2);
    c.send({ type: 'BIND', session: 4, path: '/~/s4', needIdent: true });
    await c.nextOf('IDENT', 4);
  });

  test('a long history downloads in byte-bounded batches, in order, ending with downloadableBytes 0', async () => {
    const reg = await postAuth(shortLived.url, { provider: 'password', username: 'batches', password: 'pw', register: true });
    const writer = await RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken);
    clients.push(writer);
    await openSession(writer, 1, '/~/long');
    const n = 40;
    const changesets = [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 1, data: encodeChangeset([TASK_SCHEMA]) }];
    for (let i = 2; i <= n; i++) {
      changesets.push({ clientVersion: i, lastIntegratedServerVersion: 0, originTimestamp: i, data: encodeChangeset([{ op: 'Create', type: 'Task', id: `t${i}`, values: { title: 'x'.repeat(100) } }]) });
    }
    writer.send({ type: 'UPLOAD', session: 1, progressClientVersion: n, progressServerVersion: 0, changesets });
    // Integrated in slices: DOWNLOADs that move the writer's cursor past its own changesets may come first.
    expect(await writer.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === n)).toMatchObject({ uploadClientVersion: n, serverVersion: n });

    const reader = await RawSyncClient.connect(shortLived.syncUrl, reg.body.accessToken);
    clients.push(reader);
    const first = await openSession(reader, 1, '/~/long');
    const downloads = [first.download];
    while (downloads[downloads.length - 1]!.serverVersion < n) downloads.push(await reader.nextOf('DOWNLOAD', 1));
    expect(downloads.length).toBeGreaterThan(3);
    expect(downloads.flatMap((d) => d.changesets.map((c) => c.serverVersion))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (const d of downloads) expect(d.changesets.reduce((sum, c) => sum + c.data.length, 0)).toBeLessThan(1024 + 200);
    const remaining = downloads.map((d) => d.downloadableBytes);
    expect(remaining).toEqual([...remaining].sort((a, b) => b - a));
    expect(remaining[remaining.length - 1]).toBe(0);
  });
});

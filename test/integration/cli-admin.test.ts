import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { postAuth, startServerProcess, type ServerProcess } from '../helpers/server-process';

// `tributary user …`, `tributary permissions …`, `tributary token --rotate` against a server process.

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'tributary.js');
let server: ServerProcess;

function run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: os.tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin ?? '');
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const at = () => ['--server', server.url, '--data', server.dataPath];

beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  await server?.dispose();
});

test('user create --admin gives an account that logs in by password as an admin; list shows it', async () => {
  const created = await run(['user', 'create', 'realm-admin', '--admin', '--password-stdin', ...at()], 's3cret\n');
  expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
  expect(created.stdout).toMatch(/^created [0-9a-f]{32} {2}realm-admin {2}admin {2}password:realm-admin\n$/);
  expect(created.stdout).not.toContain('s3cret');
  const login = await postAuth(server.url, { provider: 'password', username: 'realm-admin', password: 's3cret' });
  expect(login.body.isAdmin).toBe(true);
  const list = await run(['user', 'list', '--json', ...at()]);
  expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ username: 'realm-admin', isAdmin: true }));
});

test('grant-admin and revoke-admin by name', async () => {
  await postAuth(server.url, { provider: 'password', username: 'carl', password: 'pw', register: true });
  expect((await run(['user', 'grant-admin', 'carl', ...at()])).stdout).toMatch(/^admin: [0-9a-f]{32} {2}carl {2}admin/);
  expect((await postAuth(server.url, { provider: 'password', username: 'carl', password: 'pw' })).body.isAdmin).toBe(true);
  expect((await run(['user', 'revoke-admin', 'carl', ...at()])).stdout).toMatch(/^not admin: /);
  expect((await postAuth(server.url, { provider: 'password', username: 'carl', password: 'pw' })).body.isAdmin).toBe(false);
});

test('permissions grant, list and revoke', async () => {
  const owner = await postAuth(server.url, { provider: 'password', username: 'owner', password: 'pw', register: true });
  await postAuth(server.url, { provider: 'password', username: 'reader', password: 'pw', register: true });
  const realm = `/${owner.body.identity}/docs`;
  expect((await run(['permissions', 'grant', realm, 'reader', 'read', ...at()])).stdout).toMatch(/^granted read on \/[0-9a-f]{32}\/docs to [0-9a-f]{32}\n$/);
  expect((await run(['permissions', 'grant', realm, '*', 'write', ...at()])).code).toBe(0);
  const listed = (await run(['permissions', 'list', '--path', realm, ...at()])).stdout.trim().split('\n');
  expect(listed).toHaveLength(2);
  expect(listed[0]).toBe(`${realm}  *  write`);
  await run(['permissions', 'revoke', realm, '*', ...at()]);
  expect((await run(['permissions', 'list', '--user', 'reader', ...at()])).stdout.trim().split('\n')).toEqual([expect.stringMatching(/docs {2}[0-9a-f]{32} {2}read$/)]);
});

test('a failure is one line and exit status 1', async () => {
  const missing = await run(['user', 'grant-admin', 'nobody', ...at()]);
  expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: "tributary: NO_SUCH_USER: no user 'nobody'\n" });
  const unreachable = await run(['user', 'list', '--server', 'http://127.0.0.1:9', '--data', server.dataPath]);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toMatch(/^tributary: cannot reach the server at http:\/\/127\.0\.0\.1:9 .*--server\n$/);
  const noPassword = await run(['user', 'create', 'x', ...at()]);
  expect(noPassword.stderr).toMatch(/--password-stdin/);
});

test('token --rotate, through the server and on the data directory: the old token stops working at once', async () => {
  const first = server.adminToken;
  const viaServer = await run(['token', '--rotate', ...at()]);
  expect(viaServer.code).toBe(0);
  const second = viaServer.stdout.trim();
  expect(second).not.toBe(first);
  expect((await run(['token', '--data', server.dataPath])).stdout.trim()).toBe(second);
  expect((await postAuth(server.url, { provider: 'adminToken', token: first })).status).toBe(401);

  // On the data directory itself: refused while the server holds it, done once it is stopped.
  const busy = await run(['token', '--rotate', '--data', server.dataPath]);
  expect({ code: busy.code, stderr: busy.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/in use by another tributary server.*tributary token --rotate --server/) });
  await server.kill();
  const offline = await run(['token', '--rotate', '--data', server.dataPath]);
  const third = offline.stdout.trim();
  expect(third).not.toBe(second);
  expect(JSON.parse(fs.readFileSync(path.join(server.dataPath, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN).toBe(third);
  await server.restart();
  expect((await postAuth(server.url, { provider: 'adminToken', token: second })).status).toBe(401);
  expect((await postAuth(server.url, { provider: 'adminToken', token: third })).status).toBe(200);
});

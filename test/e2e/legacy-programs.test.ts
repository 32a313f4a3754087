import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import Realm, { User } from '../../src/index';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

// The ROS-era example programs of issue 17, each unchanged but for its require line, against a
// `tributary serve` process: permissions, an event handler that logs in as an admin by password,
// and an app whose backend signs JWTs.

const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'bin', 'tributary.js');
const TSX = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const example = (name: string) => path.join(REPO, 'examples', name, 'index.js');

let server: ServerProcess;
let keysDir: string;
let cwd: string;

beforeAll(async () => {
  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-jwt-keys-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(path.join(keysDir, 'app-private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(keysDir, 'app-public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  server = await startServerProcess({ args: ['--jwt-public-key', path.join(keysDir, 'app-public.pem')] });
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-legacy-'));
});
afterAll(async () => {
  for (const u of Object.values(User.all)) await u.logout();
  await server?.dispose();
  fs.rmSync(cwd, { recursive: true, force: true });
  fs.rmSync(keysDir, { recursive: true, force: true });
});

function run(file: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['--import', TSX, file], { cwd, env: { ...process.env, SERVER_URL: server.url, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test('the permissions program: grant, refused write, offer, listing, revocation', async () => {
  const result = await run(example('realm-js-permissions'), { EXAMPLE_SUFFIX: 'e2e' });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stdout.trim().split('\n')).toEqual([
    'guest before the grant: PERMISSION_DENIED',
    'guest reads: Pancakes, Soup',
    'guest write: PERMISSION_DENIED',
    'helper accepted an offer for the cookbook',
    'chef sees: Pancakes by chef, Salad by helper, Soup by chef',
    'chef granted: guest:read helper:write',
    'guest holds: the cookbook',
    'guest after the revocation: PERMISSION_DENIED',
    'invalidated offer: INVALID_OFFER',
    'done',
  ]);
}, 120_000);

test('the event handler logs in as realm-admin by password and answers a user\'s change', async () => {
  const created = await new Promise<number | null>((resolve) => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
    const c = spawn(process.execPath, [BIN, 'user', 'create', 'realm-admin', '--admin', '--password-stdin', '--server', server.url, '--data', server.dataPath], { env, stdio: ['pipe', 'ignore', 'inherit'] });
    c.stdin.end('admin password\n');
    c.once('exit', resolve);
  });
  expect(created).toBe(0);

  const handler = spawn(process.execPath, ['--import', TSX, example('realm-js-admin-notifier')], {
    cwd,
    env: { ...process.env, SERVER_URL: server.url, ADMIN_PASSWORD: 'admin password', LISTENER_DIR: path.join(cwd, 'listener') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const lines: ((text: string) => void)[] = [];
  handler.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of lines) l(out);
  });
  handler.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const printed = (pattern: RegExp) => new Promise<void>((resolve) => (pattern.test(out) ? resolve() : lines.push((t) => pattern.test(t) && resolve())));
  try {
    await printed(/^listening$/m);
    const shopper = await User.register(server.url, 'shopper', 'pw');
    const Order = { name: 'Order', primaryKey: 'id', properties: { id: 'string', status: 'string', quantity: 'int', unitPrice: 'double', total: { type: 'double', default: 0 } } };
    const realm = await Realm.open({ schema: [Order], sync: { user: shopper, url: `${server.url.replace('http', 'realm')}/~/private` }, path: path.join(cwd, 'shopper.db') });
    const confirmed = new Promise<any>((resolve) => {
      const check = () => {
        const o: any = realm.objectForPrimaryKey('Order', 'o-1');
        if (o?.status === 'confirmed') resolve(o);
      };
      realm.addListener('change', check);
    });
    realm.write(() => realm.create('Order', { id: 'o-1', status: 'new', quantity: 3, unitPrice: 2.5 }));
    const order = await confirmed;
    expect(order.total).toBe(7.5);
    await printed(new RegExp(`^confirmed o-1 for ${shopper.identity}: 7\\.5$`, 'm'));
    realm.close();
  } finally {
    const exited = new Promise<number | null>((resolve) => handler.once('exit', resolve));
    handler.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
  expect(err).toBe('');
}, 120_000);

test('the JWT app: its backend signs, the server trusts the key it was started with, a forged token is refused', async () => {
  const result = await run(example('jwt-app'), { JWT_PRIVATE_KEY: path.join(keysDir, 'app-private.pem') });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = result.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^logged in as [0-9a-f]{32} \(admin: false\)$/);
  expect(lines.slice(1)).toEqual(['inbox holds 1 message(s)', 'a forged token: AUTH_FAILED (AuthError)', 'done']);
  // The same app user is the same sync user next time.
  const again = await run(example('jwt-app'), { JWT_PRIVATE_KEY: path.join(keysDir, 'app-private.pem') });
  expect(again.stdout.split('\n')[0]).toBe(lines[0]);
  expect(again.stdout).toContain('inbox holds 2 message(s)');
}, 120_000);

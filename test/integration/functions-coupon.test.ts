import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { FunctionsRuntime } from '../../src/functions';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';

const REPO = path.resolve(__dirname, '..', '..');
const Coupon = { name: 'Coupon', properties: { code: 'string', isValid: 'bool?' } };

const VALIDATION_WAIT_MS = 20_000;

let server: Server;
let dataPath: string;
let work: string;
const realms: Realm[] = [];

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-coupon-srv-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-coupon-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
});
afterEach(async () => {
  for (const r of realms.splice(0)) if (!r.isClosed) r.close();
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A user's device: registers, opens /~/private with the Coupon schema, adds coupons. */
async function device(name: string): Promise<{ user: User; realm: Realm; validity(): Record<string, boolean | null> }> {
  const user = await User.register(server.url, name, 'secret', { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
  const realm = await Realm.open({ schema: [Coupon], sync: { user, url: `realm://127.0.0.1:${server.port}/~/private` }, path: path.join(work, `${name}.db`) } as any);
  realms.push(realm);
  const validity = () => Object.fromEntries(realm.objects<any>('Coupon').map((c) => [c.code, c.isValid]));
  return { user, realm, validity };
}

async function startRuntime(logDir: string): Promise<FunctionsRuntime> {
  const runtime = new FunctionsRuntime({
    dir: path.join(REPO, 'functions'),
    serverUrl: server.url,
    adminToken: readAdminToken(dataPath),
    logDir,
    listenerDirectory: path.join(work, 'listener'),
    watch: false,
  });
  await runtime.start();
  return runtime;
}

test('the sample functions load and register against a real server', async () => {
  const runtime = await startRuntime(path.join(work, 'logs'));
  try {
    expect(runtime.list().map((f) => `${f.name}:${f.status}:${f.events.join(',')}${f.lastError ? ' ' + f.lastError.message : ''}`)).toEqual([
      'audit-logger:loaded:change,available,delete',
      'coupon-validator:loaded:change',
    ]);
    const alice = await device('alice');
    alice.realm.write(() => alice.realm.create('Coupon', { code: 'SAVE1', isValid: null }));
    const audit = () => (fs.existsSync(path.join(work, 'logs', 'audit-logger.log')) ? fs.readFileSync(path.join(work, 'logs', 'audit-logger.log'), 'utf8') : '');
    const privatePath = `/${alice.user.identity}/private`;
    await waitFor('the audit line of the insertion', () => audit().includes(`${privatePath} changed: Coupon +1 -0 ~0 (first sync of this realm)`));
    expect(audit()).toContain(`${privatePath} available`);
  } finally {
    await runtime.stop();
  }
});

test(`the coupon-validator function validates the coupons a user inserts`, async () => {
  const logDir = path.join(work, 'logs');
  const runtime = await startRuntime(logDir);
  try {
    const alice = await device('alice');
    expect(alice.user.identity).toMatch(/^[0-9a-f]{32}$/);
    alice.realm.write(() => {
      alice.realm.create('Coupon', { code: 'SAVE10', isValid: null });
      alice.realm.create('Coupon', { code: 'FREE100', isValid: null });
    });
    await waitFor('both coupons validated on the device', () => {
      const v = alice.validity();
      return v.SAVE10 === true && v.FREE100 === false;
    }, VALIDATION_WAIT_MS);
    alice.realm.write(() => alice.realm.create('Coupon', { code: 'SAVE5', isValid: null }));
    await waitFor('the third coupon validated', () => alice.validity().SAVE5 === true);

    const log = () => fs.readFileSync(path.join(logDir, 'coupon-validator.log'), 'utf8');
    const privatePath = `/${alice.user.identity}/private`;
    expect(log()).toContain(`${privatePath}: coupon SAVE10 is valid`);
    expect(log()).toContain(`${privatePath}: coupon FREE100 is invalid`);
    const validator = runtime.list().find((f) => f.name === 'coupon-validator')!;
    expect(validator.counts.errors).toBe(0);
    expect(validator.counts.calls).toBeGreaterThanOrEqual(2);
  } finally {
    await runtime.stop();
  }
});

/** API.md §3 and the ROS documentation: the handler's own write comes back as a later event. */
test(`the handler’s own isValid write comes back as a later, modification-only event, which it recognises`, async () => {
  const logDir = path.join(work, 'logs');
  const runtime = await startRuntime(logDir);
  try {
    const carol = await device('carol');
    carol.realm.write(() => carol.realm.create('Coupon', { code: 'SAVE30', isValid: null }));
    await waitFor('validated', () => carol.validity().SAVE30 === true, VALIDATION_WAIT_MS);
    const privatePath = `/${carol.user.identity}/private`;
    const log = () => fs.readFileSync(path.join(logDir, 'coupon-validator.log'), 'utf8');
    await waitFor('the event of the handler’s own write', () => log().includes(`${privatePath}: 1 coupon(s) modified by our own write, none inserted; nothing to validate`), VALIDATION_WAIT_MS);
    const audit = fs.readFileSync(path.join(logDir, 'audit-logger.log'), 'utf8');
    expect(audit).toContain(`${privatePath} changed: Coupon +0 -0 ~1`);
  } finally {
    await runtime.stop();
  }
});

test(`the ROS documentation handler program runs with only its require line changed`, async () => {
  const listenerCwd = path.join(work, 'program');
  fs.mkdirSync(listenerCwd);
  const example = path.join(REPO, 'examples', 'coupon-validator');
  const source = fs.readFileSync(path.join(example, 'index.js'), 'utf8');
  expect(source).toContain("var Realm = require('tributary');");
  expect(source).toContain("Realm.Sync.addListener(SERVER_URL, adminUser, NOTIFIER_PATH, 'change', handleChange);");

  const env: NodeJS.ProcessEnv = { ...process.env, SERVER_URL: `realm://127.0.0.1:${server.port}`, ADMIN_TOKEN: readAdminToken(dataPath) };
  const child: ChildProcess = spawn(process.execPath, ['-r', path.join(example, 'local-tributary.js'), path.join(example, 'index.js')], { cwd: listenerCwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitFor('the program to listen', () => out.includes('Listening for Realm changes'), 30_000);
    const bob = await device('bob');
    bob.realm.write(() => {
      bob.realm.create('Coupon', { code: 'SAVE20', isValid: null });
      bob.realm.create('Coupon', { code: 'NOPE', isValid: null });
    });
    await waitFor('coupons validated by the program: ' + out, () => {
      const v = bob.validity();
      return v.SAVE20 === true && v.NOPE === false;
    }, VALIDATION_WAIT_MS);
    const privatePath = `/${bob.user.identity}/private`;
    expect(out).toContain(`change event ${privatePath} Coupon +2 ~0 -0`);
    expect(out).toContain('coupon SAVE20 valid');
    expect(out).toContain('coupon NOPE invalid');
    // As documented: the handler's writes trigger a subsequent notification (no insertions).
    await waitFor('the later event of its own write', () => new RegExp(`change event ${privatePath} Coupon \\+0 ~[12] -0`).test(out), VALIDATION_WAIT_MS);
    expect(out).not.toMatch(/Error|error/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

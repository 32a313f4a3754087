import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { FunctionsRuntime } from '../../src/functions';
import { Realm } from '../../src/realm';
import { JsonLogger, Server, readAdminToken, silentLogger } from '../../src/server';

const Task = { name: 'Task', primaryKey: 'id', properties: { id: 'string', title: 'string', stamp: 'string?' } };

let server: Server;
let dataPath: string;
let work: string;
let dir: string;
let logDir: string;
let runtime: FunctionsRuntime;
let runtimeLog: { msg: string; function?: string; level: string }[];
let realm: Realm;
let user: User;

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-fnreload-srv-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-fnreload-'));
  dir = path.join(work, 'functions');
  logDir = path.join(work, 'logs');
  fs.mkdirSync(dir);
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  runtimeLog = [];
  user = await User.register(server.url, 'writer', 'secret', { connection: { backoff: { initialMs: 20, maxMs: 200 } } });
  realm = await Realm.open({ schema: [Task], sync: { user, url: `realm://127.0.0.1:${server.port}/~/tasks` }, path: path.join(work, 'device.db') } as any);
});
afterEach(async () => {
  await runtime?.stop();
  realm.close();
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

async function startRuntime(timeoutMs = 30_000): Promise<void> {
  runtime = new FunctionsRuntime({
    dir,
    serverUrl: server.url,
    adminToken: readAdminToken(dataPath),
    logDir,
    listenerDirectory: path.join(work, 'listener'),
    timeoutMs,
    log: new JsonLogger('info', {}, (line) => runtimeLog.push(JSON.parse(line))),
  });
  await runtime.start();
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logOf = (name: string) => (fs.existsSync(path.join(logDir, `${name}.log`)) ? fs.readFileSync(path.join(logDir, `${name}.log`), 'utf8') : '');
const info = (name: string) => runtime.list().find((f) => f.name === name);
const task = (id: string) => realm.objectForPrimaryKey<any>('Task', id);
function insert(id: string): number {
  realm.write(() => realm.create('Task', { id, title: `task ${id}` }));
  return Date.now();
}

/** A function that stamps every inserted Task with `version` (its write syncs back to the device). */
function stamper(version: string): string {
  return `module.exports = {
  pathRegex: /\\/tasks$/,
  onchange(event) {
    const inserted = (event.changes.Task || { insertions: [] }).insertions;
    const tasks = event.realm.objects('Task');
    for (const i of inserted) {
      const t = tasks[i];
      event.realm.write(() => { t.stamp = '${version}'; });
      console.log('${version} stamped', t.id);
    }
  },
};
`;
}

/** Logs `seen <id> at <ms>` for every inserted Task: the witness that an event was delivered. */
const witness = `module.exports = {
  pathRegex: '/tasks$',
  onchange(event) {
    const tasks = event.realm.objects('Task');
    const c = event.changes.Task || { insertions: [], modifications: [] };
    console.log('event', event.origin, '+' + c.insertions.length, '~' + c.modifications.length);
    for (const i of c.insertions) console.log('seen', tasks[i].id, 'at', Date.now());
  },
};
`;
const seenAt = (id: string): number | undefined => {
  const m = new RegExp(`seen ${id} at (\\d+)`).exec(logOf('witness'));
  return m ? Number(m[1]) : undefined;
};

test('adding, editing (a broken edit keeps the working version) and deleting a function file take effect without a restart', async () => {
  fs.writeFileSync(path.join(dir, 'witness.js'), witness);
  await startRuntime();
  expect(runtime.list().map((f) => `${f.name}:${f.status}`)).toEqual(['witness:loaded']);

  insert('a');
  await waitFor('a seen', () => seenAt('a') !== undefined);
  expect(task('a').stamp).toBeNull();

  fs.writeFileSync(path.join(dir, 'stamper.js'), stamper('v1'));
  await waitFor('stamper loaded', () => info('stamper')?.status === 'loaded');
  insert('b');
  await waitFor('b stamped v1 on the device', () => task('b').stamp === 'v1');
  // The stamper's own write comes back as a later event (origin 'local'), which the witness sees.
  await waitFor('the event of the stamper’s write', () => /event local \+0 ~1\n/.test(logOf('witness')));

  fs.writeFileSync(path.join(dir, 'stamper.js'), stamper('v2'));
  await waitFor('stamper reloaded', () => info('stamper')?.reloads === 1);
  insert('c');
  await waitFor('c stamped v2', () => task('c').stamp === 'v2');

  fs.writeFileSync(path.join(dir, 'stamper.js'), stamper('v3').replace('onchange(event) {', 'onchange(event) {{'));
  await waitFor('the broken edit rejected', () => info('stamper')?.lastError?.during === 'load');
  expect(info('stamper')).toMatchObject({ status: 'loaded', reloads: 1 });
  insert('d');
  await waitFor('d stamped by the working version', () => task('d').stamp === 'v2');

  fs.unlinkSync(path.join(dir, 'stamper.js'));
  await waitFor('stamper unloaded', () => info('stamper')?.status === 'unloaded');
  insert('e');
  await waitFor('e seen', () => seenAt('e') !== undefined);
  await new Promise((r) => setTimeout(r, 300));
  await realm.syncSession!.downloadAllServerChanges(10_000);
  expect(task('e').stamp).toBeNull();

  const log = logOf('stamper');
  expect(log).toMatch(/runtime +loaded \(events: change; pathRegex: \/\\\/tasks\$\/\)\n.*log +v1 stamped b\n/);
  expect(log).toMatch(/runtime +reloaded .*\n.*log +v2 stamped c\n/);
  expect(log).toMatch(/runtime +failed to load: [\s\S]*SyntaxError[\s\S]*the previous version keeps running\n.*log +v2 stamped d\n/);
  expect(log).toMatch(/runtime +unloaded\n$/);
  expect(log).not.toContain('v3');
  expect(log).not.toContain('stamped e');

  const lifecycle = runtimeLog.filter((r) => r.function === 'stamper').map((r) => r.msg);
  expect(lifecycle).toEqual(['function loaded', 'function reloaded', 'function failed to load', 'function unloaded']);
});

test('a failing and a slow function do not hold up another function; each log has its own output', async () => {
  fs.writeFileSync(path.join(dir, 'witness.js'), witness);
  fs.writeFileSync(path.join(dir, 'thrower.js'), "module.exports = { pathRegex: '/tasks$', onchange(event) { console.log('thrower about to fail on', event.path); throw new Error('thrower is broken'); } };");
  fs.writeFileSync(
    path.join(dir, 'sleeper.js'),
    "module.exports = { pathRegex: '/tasks$', async onchange(event) { console.log('sleeper starts', Date.now()); await new Promise((r) => setTimeout(r, 4000)); console.log('sleeper woke', Date.now()); } };",
  );
  await startRuntime(500);
  expect(runtime.list().map((f) => `${f.name}:${f.status}`)).toEqual(['sleeper:loaded', 'thrower:loaded', 'witness:loaded']);

  const t1 = insert('one');
  await waitFor('one seen', () => seenAt('one') !== undefined);
  // Same event, delivered to all three at once: the witness does not wait for the others.
  expect(seenAt('one')! - t1).toBeLessThan(1500);

  // The next event of this realm waits for the current one: at most the 500 ms timeout, not the
  // sleeper's 4 s, and not a retry cycle for the thrower.
  await new Promise((r) => setTimeout(r, 50));
  const t2 = insert('two');
  await waitFor('two seen', () => seenAt('two') !== undefined, 3000);
  expect(seenAt('two')! - t2).toBeLessThan(2000);
  const sleeperStarts = [...logOf('sleeper').matchAll(/sleeper starts (\d+)/g)].map((m) => Number(m[1]));
  expect(sleeperStarts).toHaveLength(2);
  expect(sleeperStarts[1]! - sleeperStarts[0]!).toBeLessThan(2000);

  expect(logOf('thrower')).toMatch(/log +thrower about to fail on \/[0-9a-f]{32}\/tasks\n.*error +onchange\(\/[0-9a-f]{32}\/tasks\) failed: Error: thrower is broken/);
  expect(logOf('sleeper')).toMatch(/runtime +onchange\(\/[0-9a-f]{32}\/tasks\) has not finished after 500 ms; no longer waiting for it/);
  expect(logOf('witness')).not.toMatch(/thrower|sleeper/);
  expect(logOf('witness')).toMatch(/event remote \+1 ~0\n/);
  expect(logOf('thrower')).not.toMatch(/seen|sleeper/);
  expect(info('thrower')).toMatchObject({ status: 'loaded', counts: { calls: 2, errors: 2, timeouts: 0 }, lastError: { message: 'thrower is broken' } });
  await waitFor('the second sleeper call to time out', () => info('sleeper')!.counts.timeouts === 2, 3000);
  expect(info('sleeper')!.counts).toMatchObject({ calls: 2, timeouts: 2 });
  expect(info('witness')!.counts).toMatchObject({ calls: 2, errors: 0, timeouts: 0 });
  expect(runtimeLog.filter((r) => r.msg === 'function handler timed out' && r.function === 'sleeper')).toHaveLength(2);
  expect(runtimeLog.filter((r) => r.msg === 'function handler failed' && r.function === 'thrower')).toHaveLength(2);
  // The abandoned calls run to their end, still logged.
  await waitFor('the sleeper calls to finish', () => info('sleeper')!.counts.running === 0, 8000);
  expect(logOf('sleeper')).toMatch(/runtime +onchange\(\/[0-9a-f]{32}\/tasks\) finished \d+ ms after it started \(500 ms limit\)/);
});

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

// The README's main job, `npm start`, on the Node that runs this suite (CI runs it on 22, 24 and
// 26): a server with embedded storage and the sample functions that serves /health, and stops when
// the npm process gets SIGTERM (as a process manager sends it). On an unsupported Node the same
// command refuses with a message that names the supported lines.

const REPO = path.resolve(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The environment of a user's shell whose first `node` is the one running this test. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_') || k.startsWith('npm_')) delete env[k];
  return env;
}

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-npm-start-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('npm start serves /health with the sample functions loaded and stops on SIGTERM to npm', async () => {
  const port = await freePort();
  const npm = spawn('npm', ['start', '--', '--port', String(port), '--address', '127.0.0.1', '--data-path', path.join(work, 'data')], {
    cwd: REPO,
    env: userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  npm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const records: { msg?: string; functions?: string[] }[] = [];
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: npm.stdout }).on('line', (line) => {
      try {
        records.push(JSON.parse(line));
      } catch {
        return; // npm's own banner lines
      }
      if (records.some((r) => r.msg === 'listening') && records.some((r) => r.msg === 'functions runtime started')) resolve();
    });
    void exited.then((e) => reject(new Error(`npm start exited early (${JSON.stringify(e)})\n${stderr}`)));
  });
  await started;

  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok' });
  expect(records.find((r) => r.msg === 'functions runtime started')!.functions).toEqual(expect.arrayContaining(['coupon-validator:loaded', 'audit-logger:loaded']));

  npm.kill('SIGTERM');
  await exited;
  expect(records.some((r) => r.msg === 'stopped')).toBe(true);
  // Nothing is left listening: the server process itself got the signal, not only npm.
  await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
});

test('on a Node older than 22 the start command refuses with a message naming the supported lines', () => {
  // Pretends to be Node 20 before anything loads, as the system Node of an old machine would be.
  const preload = path.join(work, 'pretend-node-20.js');
  fs.writeFileSync(preload, "Object.defineProperty(process.versions, 'node', { value: '20.20.2' });\n");
  const result = spawnSync(process.execPath, ['-r', preload, path.join(REPO, 'bin', 'tributary.js'), 'start', '--data-path', path.join(work, 'data')], {
    cwd: REPO,
    env: userEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/needs Node\.js 22 \(22\.22 or later\), 24 or 26; this is Node\.js 20\.20\.2/);
  expect(fs.existsSync(path.join(work, 'data'))).toBe(false);
});

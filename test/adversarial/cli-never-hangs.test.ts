import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server, silentLogger } from '../../src/server';

// `tributary functions` says what is wrong and exits non-zero when the token is refused or the
// server cannot be reached, and a signal always ends it — during start too. Before, it kept
// running with every function "failed" (bad token), waited forever (unreachable server), and
// SIGTERM could not end a start stuck opening the admin realm.

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'tributary.js');
const FUNCTIONS = path.resolve(__dirname, '..', '..', 'functions');
let work: string;
let server: Server;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-cli-hang-'));
  server = new Server({ dataPath: path.join(work, 'data'), port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function run(args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stderr: string; ms: number }> {
  const start = Date.now();
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_')) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) onLine?.(line, child);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, ms: Date.now() - start });
    }),
  );
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a token the server refuses: one line, status 1', async () => {
  const tokenFile = path.join(work, 'stranger.json');
  // Well-formed, signed by another key.
  const other = new Server({ dataPath: path.join(work, 'other'), port: 0, address: '127.0.0.1', logger: silentLogger });
  await other.start();
  await other.stop();
  fs.copyFileSync(path.join(work, 'other', 'keys', 'admin.json'), tokenFile);
  const r = await run(['functions', FUNCTIONS, '--server', server.url, '--admin-token-file', tokenFile, '--logs', path.join(work, 'l1'), '--listener-dir', path.join(work, 'c1')]);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: .*(token|AUTH)/i)]);
  expect(r.ms).toBeLessThan(20_000);
});

test('an unreachable server: one line naming it, status 1, after --connect-timeout', async () => {
  const port = await closedPort();
  const r = await run(['functions', FUNCTIONS, '--server', `http://127.0.0.1:${port}`, '--admin-token-file', path.join(work, 'data', 'keys', 'admin.json'), '--logs', path.join(work, 'l2'), '--listener-dir', path.join(work, 'c2'), '--connect-timeout', '1s']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^tributary: cannot reach the server at realm://127\\.0\\.0\\.1:${port} within 1000 ms \\(last attempt: ECONNREFUSED\\)`));
  expect(r.ms).toBeLessThan(15_000);
});

test('SIGTERM during a start that is still trying to reach the server ends the command promptly', async () => {
  const port = await closedPort();
  let signalledAt = 0;
  const r = await run(
    ['functions', FUNCTIONS, '--server', `http://127.0.0.1:${port}`, '--admin-token-file', path.join(work, 'data', 'keys', 'admin.json'), '--logs', path.join(work, 'l3'), '--listener-dir', path.join(work, 'c3'), '--connect-timeout', '60s'],
    (line, child) => {
      if (line.includes('starting functions runtime') && !signalledAt) {
        signalledAt = Date.now();
        child.kill('SIGTERM');
      }
    },
  );
  expect(signalledAt).toBeGreaterThan(0);
  expect(Date.now() - signalledAt).toBeLessThan(12_000);
});

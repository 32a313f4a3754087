import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';

const REPO = path.resolve(__dirname, '..', '..');
const Item = { name: 'Item', primaryKey: 'id', properties: { id: 'int', label: 'string' } };

let fx: AdminFixture;
let child: ChildProcess | null = null;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await fx.dispose();
});

function startWorker(localPath: string, out: string, regex: string, delayMs: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/fixtures/adapter-worker.ts'), localPath, fx.realmUrl, fx.adminToken, out, regex, String(delayMs)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`adapter worker did not start\n${stderr}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.once('exit', (code) => reject(new Error(`adapter worker exited with ${code}\n${stderr}`)));
  });
}

interface Line {
  path: string;
  transaction: number;
  pid: number;
  instructions: { type: string; object_type: string; identity?: number; values?: Record<string, unknown> }[];
}

function readLines(out: string): Line[] {
  if (!fs.existsSync(out)) return [];
  const lines: Line[] = [];
  for (const text of fs.readFileSync(out, 'utf8').split('\n')) {
    if (!text) continue;
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      // a line torn by SIGKILL
    }
  }
  return lines;
}

test('SIGKILL mid-stream: the restarted adapter resumes with the next unprocessed transaction — nothing lost, nothing repeated', async () => {
  const p = fx.userPath('orders');
  const w = fx.open(p, [Item]);
  await fx.upload(w);
  const localPath = path.join(fx.dir, 'adapter');
  const out = path.join(fx.dir, 'processed.jsonl');
  const regex = '^/[0-9a-f]+/orders$';
  const first = await startWorker(localPath, out, regex, 15);
  await waitFor(() => readLines(out).length >= 1, 20_000, 'schema transaction');
  const N = 150;
  for (let i = 0; i < N; i++) w.write(() => w.create('Item', { id: i, label: `item ${i}` }));
  await fx.upload(w);
  await waitFor(() => readLines(out).length >= 30, 20_000, 'thirty transactions');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const beforeRestart = readLines(out);
  expect(beforeRestart.length).toBeLessThan(N + 1); // really mid-stream

  const second = await startWorker(localPath, out, regex, 0);
  await waitFor(() => readLines(out).length >= N + 1, 30_000, 'every transaction');
  await new Promise((r) => setTimeout(r, 500));
  const lines = readLines(out);
  expect(lines.map((l) => l.transaction)).toEqual(Array.from({ length: N + 1 }, (_, i) => i + 1));
  expect(new Set(lines.map((l) => l.pid))).toEqual(new Set([first.pid, second.pid]));
  expect(lines[0].instructions.map((i) => i.type)).toEqual(['ADD_TYPE']);
  const inserts = lines.slice(1).map((l) => {
    expect(l.instructions).toHaveLength(1);
    expect(l.instructions[0].type).toBe('INSERT');
    return l.instructions[0].identity;
  });
  expect(inserts).toEqual(Array.from({ length: N }, (_, i) => i));
  second.kill('SIGTERM');
  await new Promise((r) => second.once('exit', r));
}, 90_000);

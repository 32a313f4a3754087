import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

const REPO = path.resolve(__dirname, '..', '..');
const EXAMPLE = path.join(REPO, 'examples', 'realm-js-style', 'index.js');
// `node --import tsx` run from a scratch directory (so the replicas land there): tsx by its path.
const TSX = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

let server: ServerProcess;
let cwd: string;

beforeAll(async () => {
  server = await startServerProcess();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-example-'));
});
afterAll(async () => {
  await server?.dispose();
  fs.rmSync(cwd, { recursive: true, force: true });
});

function runExample(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, SERVER_URL: server.url, ADMIN_TOKEN: server.adminToken };
    execFile(process.execPath, ['--import', TSX, EXAMPLE], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('the realm-js style example runs unmodified against a server process', async () => {
  const first = await runExample();
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = first.stdout.trim().split('\n');
  expect(lines).toContain('listener: 0 open, insertions=[] deletions=[] modifications=[]');
  expect(lines).toContain('listener: 3 open, insertions=[0,1,2] deletions=[] modifications=[]');
  expect(lines).toContain('listener: 2 open, insertions=[] deletions=[1] modifications=[]');
  expect(lines).toContain('open tasks: Pay bills (p3); Call mum (p1)');
  expect(lines).toContain('  #0 Pay bills');
  expect(lines).toContain('  #1 Call mum');
  expect(lines).toContain('home has 2 tasks; urgent: 2');
  expect(lines).toContain('max priority 3, task is Realm.Object: true');
  expect(lines).toContain(
    'json: {"id":"t1","title":"Water plants","priority":2,"done":true,"tags":["garden","weekly"],"project":{"name":"home"}}',
  );
  expect(lines).toContain('admin sees 3 tasks: Call mum, Pay bills, Water plants');
  expect(lines[lines.length - 1]).toBe('done');

  // A second run logs in (the user exists) and upserts: same state, the listener starts from it.
  const second = await runExample();
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('listener: 2 open, insertions=[] deletions=[] modifications=[]');
  expect(second.stdout).toContain('admin sees 3 tasks: Call mum, Pay bills, Water plants');
}, 120_000);

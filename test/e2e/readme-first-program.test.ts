import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

// The README's first program, exactly as printed there, saved as first.mjs in an app folder whose
// node_modules/tributary is this checkout: it runs against a real server, prints, and exits by
// itself (twice: the second run logs in instead of registering). The packed-tarball version of the
// same check runs in .ci/run (scripts/pack-smoke.sh) against the built package.

const REPO = path.resolve(__dirname, '..', '..');

function firstProgram(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = /<!-- first-program:begin[^>]*-->\s*```js\n([\s\S]*?)```\s*<!-- first-program:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no first-program block');
  return block[1]!;
}

let server: ServerProcess;
let app: string;
beforeAll(async () => {
  server = await startServerProcess();
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-first-program-'));
  fs.mkdirSync(path.join(app, 'node_modules'));
  fs.symlinkSync(REPO, path.join(app, 'node_modules', 'tributary'), 'dir');
  fs.writeFileSync(path.join(app, 'first.mjs'), firstProgram());
});
afterAll(async () => {
  for (const u of Object.values(User.all)) u.logout();
  await server.dispose();
  fs.rmSync(app, { recursive: true, force: true });
});

function runFirst(): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  // The package's "tributary-source" export condition maps 'tributary' to the TypeScript sources
  // (tsx loads them), so this checks the code as it is now, built or not.
  const loader = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const env: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_URL: server.url };
  return spawnSync(process.execPath, ['--conditions=tributary-source', '--import', loader, 'first.mjs'], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
}

test('the README first program runs as written and exits by itself, registering then logging in', async () => {
  for (let run = 1; run <= 2; run++) {
    const result = runFirst();
    expect({ run, status: result.status, signal: result.signal, stderr: result.stderr }).toEqual({ run, status: 0, signal: null, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^1 dog\\(s\\) in ${path.join(app, 'tributary-data').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/.*, synced to ${server.url}\\n$`));
  }
  // What it uploaded is on the server: another client logging in as alice downloads it.
  const alice = await User.login(server.url, 'alice', 'secret');
  const copy = await Realm.open({
    schema: [{ name: 'Dog', primaryKey: 'id', properties: { id: 'int', name: 'string', age: 'int?' } }],
    sync: { user: alice, url: `${server.url.replace(/^http/, 'realm')}/~/dogs` },
    path: path.join(app, 'check.db'),
  } as never);
  try {
    expect(copy.objects<any>('Dog').map((d: any) => ({ id: d.id, name: d.name, age: d.age }))).toEqual([{ id: 1, name: 'Rex', age: 3 }]);
  } finally {
    copy.close();
  }
});

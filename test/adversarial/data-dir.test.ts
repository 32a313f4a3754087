import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Replica } from '../../src/store';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

// The data directory and local replicas are safe from the mistakes a user makes: a second server on
// the same data directory refuses to start (before, both ran and corrupted the history with
// UNIQUE constraint failures); a kill -9 leaves no stale lock; an unusable directory fails at start
// with one line naming it (before: ENOENT … mkdir keys, or HTTP 500s later); the database and keys
// are private (they were world-readable, password hashes included); a replica file opened by two
// processes is a coded error (before: SQLITE_BUSY deep inside a write).

const REPO = path.resolve(__dirname, '..', '..');
const servers: ServerProcess[] = [];
let work: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-datadir-'));
});

afterEach(async () => {
  for (const s of servers.splice(0)) await s.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

/** `tributary serve` run to its end (it should refuse to start), with its stderr. */
function serveOnce(dataPath: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'serve', '--port', '0', '--address', '127.0.0.1', '--data', dataPath], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test('a second server on the same data directory refuses to start; after a kill -9 the directory is free again', async () => {
  const dataPath = path.join(work, 'data');
  const first = await startServerProcess({ dataPath });
  servers.push(first);
  const second = serveOnce(dataPath);
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(new RegExp(`in use by another tributary server \\(pid \\d+\\)`));
  expect((await fetch(`${first.url}/health`)).status).toBe(200);

  await first.kill('SIGKILL');
  const third = await startServerProcess({ dataPath });
  servers.push(third);
  expect((await fetch(`${third.url}/health`)).status).toBe(200);
});

test('an unusable data directory fails at start with one line naming it', () => {
  const file = path.join(work, 'a-file');
  fs.writeFileSync(file, 'not a folder');
  const underFile = serveOnce(path.join(file, 'data'));
  expect(underFile.status).toBe(1);
  expect(underFile.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: the data directory .*a-file\/data is not a folder/)]);
  const system = serveOnce('/sys/tributary-data-test');
  expect(system.status).toBe(1);
  expect(system.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: the data directory \/sys\/tributary-data-test (is not writable|is on a read-only file system)/)]);
});

test('the data directory, the database and the keys are private', async () => {
  const dataPath = path.join(work, 'fresh');
  const server = await startServerProcess({ dataPath });
  servers.push(server);
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  expect(mode(dataPath)).toBe(0o700);
  expect(mode(path.join(dataPath, 'keys'))).toBe(0o700);
  for (const f of fs.readdirSync(dataPath)) {
    const full = path.join(dataPath, f);
    if (fs.statSync(full).isFile()) expect([f, mode(full) & 0o077]).toEqual([f, 0]);
  }
  expect(fs.existsSync(path.join(dataPath, 'tributary.db'))).toBe(true);
});

test('a replica file open in another process is REPLICA_IN_USE', () => {
  const file = path.join(work, 'client', 'dogs.db');
  const mine = Replica.open({ path: file });
  try {
    const other = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', `const { Replica } = require(${JSON.stringify(path.join(REPO, 'src/store'))}); try { Replica.open({ path: ${JSON.stringify(file)} }); console.log('opened'); } catch (e) { console.log(e.code); }`],
      { cwd: REPO, encoding: 'utf8', timeout: 30_000 },
    );
    expect(other.stdout.trim()).toBe('REPLICA_IN_USE');
    expect(fs.statSync(file).mode & 0o077).toBe(0);
  } finally {
    mine.close();
  }
  // Closed here, the other process may open it.
  const later = spawnSync(process.execPath, ['--import', 'tsx', '-e', `const { Replica } = require(${JSON.stringify(path.join(REPO, 'src/store'))}); Replica.open({ path: ${JSON.stringify(file)} }).close(); console.log('opened');`], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(later.stdout.trim()).toBe('opened');
});

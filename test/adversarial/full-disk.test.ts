import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

// A server whose disk fills up: /health says "degraded" with the reason while writes fail (before,
// it answered 200 "ok" throughout), nothing acknowledged is lost, and once there is room again
// /health recovers by itself and the waiting client's changes go through — no restart.
// Needs a small tmpfs of its own (mount, as root); skips saying so where it cannot mount one.

const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-fulldisk-'));
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
  mounted = true;
} catch {
  console.log('full-disk: skipped, cannot mount a tmpfs here (needs root)');
}
const maybe = mounted ? test : test.skip;

let server: ServerProcess | null = null;
let clientDir: string;

afterAll(async () => {
  for (const u of Object.values(User.all)) u.logout();
  await server?.dispose();
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
  fs.rmSync(mountPoint, { recursive: true, force: true });
  if (clientDir) fs.rmSync(clientDir, { recursive: true, force: true });
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

maybe('a full disk makes /health degraded with the reason; freeing space recovers it and the client’s writes, without a restart', async () => {
  server = await startServerProcess({ dataPath: path.join(mountPoint, 'data') });
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-fulldisk-client-'));
  const user = await User.register(server.url, 'filler', 'pw-filler-1', { connection: { backoff: { initialMs: 50, maxMs: 300 } } });
  const realm = await Realm.open({
    schema: [{ name: 'Blob', primaryKey: 'id', properties: { id: 'int', body: 'string' } }],
    sync: { user, url: `realm://127.0.0.1:${server.port}/~/blobs` },
    path: path.join(clientDir, 'blobs.db'),
  } as never);
  realm.write(() => realm.create('Blob', { id: 0, body: 'before' }));
  await realm.syncSession!.uploadAllLocalChanges(20_000);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);

  // Fill the file system, then write.
  const filler = path.join(mountPoint, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd stops with "No space left on device": that is the point
  }
  const body = 'x'.repeat(200_000);
  realm.write(() => {
    for (let i = 1; i <= 5; i++) realm.create('Blob', { id: i, body });
  });
  let degraded: { status: string; reason: string } | null = null;
  await until('/health to report the failing storage', async () => {
    const res = await fetch(`${server!.url}/health`);
    if (res.status !== 503) return false;
    degraded = (await res.json()) as { status: string; reason: string };
    return true;
  });
  expect(degraded).toEqual(expect.objectContaining({ status: 'degraded', reason: expect.stringMatching(/STORAGE_FAILURE|SQLITE_FULL|full/i) }));

  // Room again: /health recovers by itself and the client's waiting writes go through.
  fs.rmSync(filler);
  await until('/health to recover', async () => (await fetch(`${server!.url}/health`)).status === 200);
  await realm.syncSession!.uploadAllLocalChanges(30_000);
  const check = await Realm.open({
    schema: [{ name: 'Blob', primaryKey: 'id', properties: { id: 'int', body: 'string' } }],
    sync: { user, url: `realm://127.0.0.1:${server.port}/~/blobs` },
    path: path.join(clientDir, 'check.db'),
  } as never);
  expect(check.objects('Blob').length).toBe(6);
  check.close();
  realm.close();
}, 90_000);

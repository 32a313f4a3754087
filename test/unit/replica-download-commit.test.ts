import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Instruction } from '../../src/changeset';
import { Replica, type DownloadBatch, type ReplicaOptions } from '../../src/store';
import { underFileSizeLimit as runUnderFileSizeLimit } from '../helpers/replica-child';

/**
 * Downloaded changes commit together within `downloadCommitDelayMs`: in effect at once, on disk
 * within the delay or with the next local write, and after a crash either there with their cursor
 * or gone with it (downloaded again), never half.
 */

const SCHEMA: Instruction = { op: 'AddType', type: 'Item', primaryKey: 'id', properties: [{ name: 'id', type: 'int', optional: false }, { name: 'name', type: 'string', optional: false }] };
const create = (id: number, name: string): Instruction => ({ op: 'Create', type: 'Item', id, values: { name } });

/** The server's version `v`: a peer's changeset creating item `v` (version 1 also adds the type). */
function download(v: number): DownloadBatch {
  const instructions = v === 1 ? [SCHEMA, create(1, 'one')] : [create(v, `item ${v}`)];
  return {
    serverVersion: v,
    lastIntegratedClientVersion: 0,
    latestServerVersion: v,
    latestServerVersionSalt: 7,
    uploadClientVersion: 0,
    uploadServerVersion: 0,
    changesets: [{ serverVersion: v, lastIntegratedClientVersion: 0, originTimestamp: v, originFileIdent: 9, instructions }],
  };
}

let dir: string;
const opened: Replica[] = [];
function open(options: Partial<ReplicaOptions> = {}, file = 'r.db'): Replica {
  const r = Replica.open({ path: path.join(dir, file), ...options });
  opened.push(r);
  return r;
}
const ids = (r: Replica) => r.objects('Item').map((o) => o.id);
async function until(check: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-dlcommit-'));
});
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('downloads are in effect at once and committed together within the delay', async () => {
  const r = open({ downloadCommitDelayMs: 20 });
  r.setIdent(3, 1);
  for (let v = 1; v <= 4; v++) r.integrate(download(v));
  expect(ids(r)).toEqual([1, 2, 3, 4]);
  expect(r.progress.download.serverVersion).toBe(4);
  expect(r.hasPendingCommit).toBe(true);
  await until(() => !r.hasPendingCommit, 'the delayed commit');
  r.close();
  expect(ids(open({}, 'r.db'))).toEqual([1, 2, 3, 4]);
});

test('a local write commits the downloads waiting before it first', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.integrate(download(1));
  r.integrate(download(2));
  r.write((w) => w.apply([create(100, 'mine')]));
  expect(r.hasPendingCommit).toBe(false);
  // Its base is the cursor the downloads left, committed before it.
  expect(r.changesetsAfter(0).at(-1)!.lastIntegratedServerVersion).toBe(2);
});

test('a local write that throws undoes only itself: the downloads before it stay (committed)', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.integrate(download(1));
  r.integrate(download(2));
  expect(() =>
    r.write((w) => {
      w.apply([create(100, 'mine')]);
      throw new Error('changed my mind');
    }),
  ).toThrow('changed my mind');
  expect(ids(r)).toEqual([1, 2]);
  expect(r.progress.download.serverVersion).toBe(2);
  expect(r.hasPendingCommit).toBe(false);
  r.integrate(download(3));
  expect(r.hasPendingCommit).toBe(true);
  r.commitPending();
  expect(r.hasPendingCommit).toBe(false);
  r.close();
  const again = open({}, 'r.db');
  expect(ids(again)).toEqual([1, 2, 3]);
  expect(again.progress.download.serverVersion).toBe(3);
});

test("with durability 'full' too a local write commits the waiting downloads before its own fsync'd transaction", () => {
  const r = open({ downloadCommitDelayMs: 60_000, durability: 'full' });
  r.setIdent(3, 1);
  r.integrate(download(1));
  expect(r.hasPendingCommit).toBe(true);
  r.write((w) => w.apply([create(100, 'mine')]));
  expect(r.hasPendingCommit).toBe(false);
  expect(ids(r)).toEqual([1, 100]);
});

test('with a delay of 0 every download commits at once; closing commits what waits', () => {
  const now = open({ downloadCommitDelayMs: 0 }, 'now.db');
  now.setIdent(3, 1);
  now.integrate(download(1));
  expect(now.hasPendingCommit).toBe(false);
  const later = open({ downloadCommitDelayMs: 60_000 }, 'later.db');
  later.setIdent(3, 1);
  later.integrate(download(1));
  later.integrate(download(2));
  later.close();
  expect(ids(open({}, 'later.db'))).toEqual([1, 2]);
});

/** Runs `body` against the replica in a child process that then kills itself with SIGKILL. */
function crash(body: string): void {
  const script = `
    const { Replica } = require(${JSON.stringify(path.resolve(__dirname, '../../src/store'))});
    const SCHEMA = ${JSON.stringify(SCHEMA)};
    const create = (id, name) => ({ op: 'Create', type: 'Item', id, values: { name } });
    const download = ${download.toString()};
    const r = Replica.open({ path: ${JSON.stringify(path.join(dir, 'r.db'))}, downloadCommitDelayMs: 60000 });
    ${body}
    process.kill(process.pid, 'SIGKILL');
  `;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(out.signal).toBe('SIGKILL');
}

test('kill -9 before the delayed commit: the downloads and their cursor go back together; after a local write both stay', () => {
  crash(`r.setIdent(3, 1); r.integrate(download(1)); r.commitPending(); r.integrate(download(2)); r.integrate(download(3));`);
  const a = open({}, 'r.db');
  // Versions 2 and 3 waited for their commit: gone, and the cursor says so (they are downloaded again).
  expect(ids(a)).toEqual([1]);
  expect(a.progress.download.serverVersion).toBe(1);
  a.close();
  crash(`r.integrate(download(2)); r.write((w) => w.apply([create(100, 'mine')])); r.integrate(download(3));`);
  const b = open({}, 'r.db');
  expect(ids(b)).toEqual([1, 2, 100]);
  expect(b.progress.download.serverVersion).toBe(2);
  expect(b.changesetsAfter(0).map((c) => c.lastIntegratedServerVersion)).toEqual([2]);
});

test('a download that fails changes nothing: the downloads waiting before it stay, and are committed later', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.integrate(download(1));
  r.commitPending();
  r.integrate(download(2));
  // A DOWNLOAD naming a server version behind the cursor is refused.
  expect(() => r.integrate({ ...download(4), serverVersion: 1, latestServerVersion: 1 })).toThrow();
  expect(ids(r)).toEqual([1, 2]);
  expect(r.progress.download.serverVersion).toBe(2);
  expect(r.hasPendingCommit).toBe(true);
  r.close();
  const again = open({}, 'r.db');
  expect(ids(again)).toEqual([1, 2]);
  expect(again.progress.download.serverVersion).toBe(2);
});

test('a download that fails inside its transaction, joined to waiting ones, leaves their cursor as it was (in memory and, after the commit, on disk)', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.integrate(download(1));
  r.commitPending();
  r.integrate(download(2));
  r.integrate(download(3));
  // Version 4 creates an object of a type nobody added: applying it throws, after the download began.
  const bad = download(4);
  bad.changesets[0]!.instructions = [create(4, 'four'), { op: 'Create', type: 'Nowhere', id: 1, values: {} }];
  expect(() => r.integrate(bad)).toThrow();
  expect(ids(r)).toEqual([1, 2, 3]);
  expect(r.progress.download.serverVersion).toBe(3);
  expect(r.hasPendingCommit).toBe(true);
  r.integrate(download(4));
  expect(r.progress.download.serverVersion).toBe(4);
  r.close();
  const again = open({}, 'r.db');
  expect(ids(again)).toEqual([1, 2, 3, 4]);
  expect(again.progress.download.serverVersion).toBe(4);
});

/** `body` against the replica in a child process whose files may not grow past `limitKiB` (see the helper). */
function underFileSizeLimit(limitKiB: number, body: string): unknown {
  return runUnderFileSizeLimit(
    limitKiB,
    `
    const SCHEMA = ${JSON.stringify(SCHEMA)};
    const create = (id, name) => ({ op: 'Create', type: 'Item', id, values: { name } });
    const download = ${download.toString()};
    const ids = (r) => r.objects('Item').map((o) => o.id);
    const r = Replica.open({ path: ${JSON.stringify(path.join(dir, 'r.db'))}, downloadCommitDelayMs: 60000 });
    ${body}
  `,
  );
}

test('a delayed COMMIT the disk refuses: the waiting downloads and their cursor go back together, listeners hear STORAGE_FAILURE, and later downloads commit', async () => {
  const seen = underFileSizeLimit(256, `
    r.setIdent(3, 1);
    r.integrate(download(1));
    r.commitPending();
    const failures = [];
    r.onCommitFailure((e) => failures.push(e.code));
    // Three downloads of 150 KB each: in effect at once, but their WAL frames outgrow the limit.
    for (let v = 2; v <= 4; v++) {
      const d = download(v);
      d.changesets[0].instructions = [create(v, 'x'.repeat(150000))];
      r.integrate(d);
    }
    const inEffect = { ids: ids(r), cursor: r.progress.download.serverVersion };
    let refused = null;
    try { r.commitPending(); } catch (e) { refused = e.code; }
    const after = { ids: ids(r), cursor: r.progress.download.serverVersion, pending: r.hasPendingCommit };
    // Downloaded again from the cursor, smaller this time: it fits, and commits.
    r.integrate(download(2));
    r.commitPending();
    queueMicrotask(() => {
      console.log(JSON.stringify({ inEffect, refused, failures, after, later: { ids: ids(r), cursor: r.progress.download.serverVersion } }));
      r.close();
    });
  `);
  expect(seen).toEqual({
    inEffect: { ids: [1, 2, 3, 4], cursor: 4 },
    refused: 'STORAGE_FAILURE',
    failures: ['STORAGE_FAILURE'],
    after: { ids: [1], cursor: 1, pending: false },
    later: { ids: [1, 2], cursor: 2 },
  });
  // On disk, as the child left it, with no limit: the committed downloads and their cursor only.
  const again = open({}, 'r.db');
  expect(ids(again)).toEqual([1, 2]);
  expect(again.progress.download.serverVersion).toBe(2);
});

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Instruction } from '../../src/changeset';
import { Replica, type DownloadBatch, type ReplicaOptions } from '../../src/store';
import { underFileSizeLimit as runUnderFileSizeLimit } from '../helpers/replica-child';

/**
 * A DOWNLOAD without changesets (the server acknowledging this client's uploads) moves cursors
 * only. Between transactions it opens none: its cursors are in effect at once, extensions are
 * told as of a commit, and the next transaction to commit writes them (or one of their own after
 * the download commit delay). A crash before that loses only the acknowledgement, which the
 * server repeats; a rollback of a later transaction never takes them back.
 */

const SCHEMA: Instruction = { op: 'AddType', type: 'Item', primaryKey: 'id', properties: [{ name: 'id', type: 'int', optional: false }, { name: 'name', type: 'string', optional: false }] };
const create = (id: number, name: string): Instruction => ({ op: 'Create', type: 'Item', id, values: { name } });

/** The server integrated this client's changeset `clientVersion` as its version `serverVersion`, and says so. */
function ack(serverVersion: number, clientVersion: number): DownloadBatch {
  return {
    serverVersion,
    lastIntegratedClientVersion: clientVersion,
    latestServerVersion: serverVersion,
    latestServerVersionSalt: 7,
    uploadClientVersion: clientVersion,
    uploadServerVersion: serverVersion,
    changesets: [],
  };
}

/** The server's version `v`: a peer's changeset creating item `v`, after this client's changeset 1. */
function download(v: number, name = `item ${v}`): DownloadBatch {
  return {
    serverVersion: v,
    lastIntegratedClientVersion: 1,
    latestServerVersion: v,
    latestServerVersionSalt: 7,
    uploadClientVersion: 1,
    uploadServerVersion: 1,
    changesets: [{ serverVersion: v, lastIntegratedClientVersion: 1, originTimestamp: v, originFileIdent: 9, instructions: [create(v, name)] }],
  };
}

let dir: string;
const opened: Replica[] = [];
function open(options: Partial<ReplicaOptions> = {}): Replica {
  const r = Replica.open({ path: path.join(dir, 'r.db'), ...options });
  opened.push(r);
  return r;
}
const ids = (r: Replica) => r.objects('Item').map((o) => o.id);
const versions = (r: Replica) => r.changesetsAfter(0).map((c) => c.clientVersion);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-carried-'));
});
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `body` against the replica in a child process that then kills itself with SIGKILL: at
 * once, or `afterMs` later (timers run meanwhile). The process dies with nothing closed.
 */
function crash(body: string, options: { delayMs?: number; afterMs?: number } = {}): void {
  const kill = `process.kill(process.pid, 'SIGKILL')`;
  const script = `
    const { Replica } = require(${JSON.stringify(path.resolve(__dirname, '../../src/store'))});
    const SCHEMA = ${JSON.stringify(SCHEMA)};
    const create = (id, name) => ({ op: 'Create', type: 'Item', id, values: { name } });
    const ack = ${ack.toString()};
    const r = Replica.open({ path: ${JSON.stringify(path.join(dir, 'r.db'))}, downloadCommitDelayMs: ${options.delayMs ?? 60_000} });
    ${body}
    ${options.afterMs === undefined ? kill : `setTimeout(() => ${kill}, ${options.afterMs})`};
  `;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect({ signal: out.signal, stderr: out.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
}

test('an acknowledgement between transactions opens none: in effect at once, told to extensions, written by the next local write', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
  const told: string[] = [];
  r.addExtension({ committed: (e) => told.push(e.origin) });
  const version = r.version;
  r.integrate(ack(1, 1));
  expect(r.hasPendingCommit).toBe(false);
  expect(r.progress.acknowledged.clientVersion).toBe(1);
  expect(r.progress.download).toEqual({ serverVersion: 1, lastIntegratedClientVersion: 1 });
  expect(told).toEqual(['download']);
  expect(r.version).toBe(version + 1);
  // The next local write is based on the carried cursor, and trims the acknowledged changeset.
  r.write((w) => w.apply([create(2, 'mine too')]));
  expect(r.changesetsAfter(0).map((c) => [c.clientVersion, c.lastIntegratedServerVersion])).toEqual([[2, 1]]);
});

test('kill -9 before anything commits them: the acknowledgement is lost (the server repeats it); after a local write it stays', () => {
  crash(`r.setIdent(3, 1); r.write((w) => w.apply([SCHEMA, create(1, 'mine')])); r.integrate(ack(1, 1));`);
  const a = open();
  expect(a.progress.acknowledged.clientVersion).toBe(0);
  expect(a.progress.download.serverVersion).toBe(0);
  expect(versions(a)).toEqual([1]);
  a.close();
  crash(`r.integrate(ack(1, 1)); r.write((w) => w.apply([create(2, 'mine too')]));`);
  const b = open();
  expect(b.progress.acknowledged.clientVersion).toBe(1);
  expect(b.progress.download).toEqual({ serverVersion: 1, lastIntegratedClientVersion: 1 });
  expect(versions(b)).toEqual([2]);
  expect(ids(b)).toEqual([1, 2]);
});

test('with nothing else committing, a transaction of their own writes them after the delay', () => {
  crash(`r.setIdent(3, 1); r.write((w) => w.apply([SCHEMA, create(1, 'mine')])); r.integrate(ack(1, 1));`, { delayMs: 5, afterMs: 300 });
  const r = open();
  expect(r.progress.acknowledged.clientVersion).toBe(1);
  expect(r.progress.download).toEqual({ serverVersion: 1, lastIntegratedClientVersion: 1 });
});

test('a local write that throws does not take carried cursors back; closing writes them', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
  r.integrate(ack(1, 1));
  expect(() =>
    r.write((w) => {
      w.apply([create(2, 'no')]);
      throw new Error('changed my mind');
    }),
  ).toThrow('changed my mind');
  expect(r.progress.acknowledged.clientVersion).toBe(1);
  expect(r.progress.download.serverVersion).toBe(1);
  r.close();
  const again = open();
  expect(again.progress.acknowledged.clientVersion).toBe(1);
  expect(again.progress.download).toEqual({ serverVersion: 1, lastIntegratedClientVersion: 1 });
  expect(ids(again)).toEqual([1]);
});

test('a bad acknowledgement among several changes nothing and tells no one', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
  r.write((w) => w.apply([create(2, 'mine too')]));
  const told: string[] = [];
  r.addExtension({ committed: (e) => told.push(e.origin) });
  // The second moves the download cursor back: refused, and the first, checked fine, is not kept.
  expect(() => r.integrateAll([ack(2, 1), ack(1, 2)])).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
  // Acknowledging a client version never made is refused too.
  expect(() => r.integrateAll([ack(2, 3)])).toThrow(expect.objectContaining({ code: 'BAD_CLIENT_VERSION' }));
  expect(r.progress.acknowledged.clientVersion).toBe(0);
  expect(r.progress.download.serverVersion).toBe(0);
  expect(told).toEqual([]);
  // Several good ones: each checked against the one before, the last one's cursors kept.
  r.integrateAll([ack(1, 1), ack(2, 2)]);
  expect(r.progress.acknowledged).toEqual({ clientVersion: 2, lastIntegratedServerVersion: 2 });
  expect(told).toEqual(['download']);
});

test('while downloads wait for their COMMIT an acknowledgement joins them, and carried cursors from before them survive a refused COMMIT', () => {
  const r = open({ downloadCommitDelayMs: 60_000 });
  r.setIdent(3, 1);
  r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
  r.integrate(ack(1, 1));
  r.integrate(download(2));
  expect(r.hasPendingCommit).toBe(true);
  // An acknowledgement now is part of the waiting transaction (carrying it past the waiting
  // download could skip that download if its COMMIT were refused).
  r.integrate({ ...ack(3, 1), uploadServerVersion: 1 });
  expect(r.hasPendingCommit).toBe(true);
  expect(r.progress.download.serverVersion).toBe(3);
  r.commitPending();
  r.close();
  const again = open();
  expect(again.progress.download).toEqual({ serverVersion: 3, lastIntegratedClientVersion: 1 });
  expect(ids(again)).toEqual([1, 2]);
});

/** `body` against the replica in a child process whose files may not grow past `limitKiB` (see the helper). */
function underFileSizeLimit(limitKiB: number, body: string): unknown {
  return runUnderFileSizeLimit(
    limitKiB,
    `
    const SCHEMA = ${JSON.stringify(SCHEMA)};
    const create = (id, name) => ({ op: 'Create', type: 'Item', id, values: { name } });
    const ack = ${ack.toString()};
    const download = ${download.toString()};
    const ids = (r) => r.objects('Item').map((o) => o.id);
    const r = Replica.open({ path: ${JSON.stringify(path.join(dir, 'r.db'))}, downloadCommitDelayMs: 60000 });
    ${body}
  `,
  );
}

test('a refused COMMIT of later downloads takes them back to the carried cursors, not to the older ones on disk', () => {
  const seen = underFileSizeLimit(256, `
    r.setIdent(3, 1);
    r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
    r.integrate(ack(1, 1));
    // Three downloads of 150 KB each: in effect at once, but their WAL frames outgrow the limit.
    for (let v = 2; v <= 4; v++) r.integrate(download(v, 'x'.repeat(150000)));
    let refused = null;
    try { r.commitPending(); } catch (e) { refused = e.code; }
    const after = { ids: ids(r), download: r.progress.download, acked: r.progress.acknowledged.clientVersion };
    // Downloaded again from the cursor, smaller this time: it fits, and commits (the carried cursors with it).
    r.integrate(download(2));
    r.commitPending();
    console.log(JSON.stringify({ refused, after }));
    r.close();
  `);
  expect(seen).toEqual({ refused: 'STORAGE_FAILURE', after: { ids: [1], download: { serverVersion: 1, lastIntegratedClientVersion: 1 }, acked: 1 } });
  const again = open();
  expect(ids(again)).toEqual([1, 2]);
  expect(again.progress.download).toEqual({ serverVersion: 2, lastIntegratedClientVersion: 1 });
  expect(again.progress.acknowledged.clientVersion).toBe(1);
});

test('a first binding is carried too: refused to another realm at once, written by the next commit, made again after a crash before it', () => {
  const binding = { serverUrl: 'ws://127.0.0.1:9/sync', realmPath: '/u/items', userIdentity: 'u' };
  crash(`r.bind(${JSON.stringify(binding)});`);
  const a = open();
  expect(a.binding).toBeUndefined();
  a.bind(binding);
  expect(a.binding).toEqual(binding);
  expect(() => a.bind({ ...binding, realmPath: '/u/other' })).toThrow(expect.objectContaining({ code: 'USER_MISMATCH' }));
  a.close();
  // A new file: bound, then its first commit (the schema's write), then killed.
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  crash(`r.bind(${JSON.stringify(binding)}); r.write((w) => w.apply([SCHEMA]));`);
  const b = open();
  expect(b.binding).toEqual(binding);
  expect(() => b.bind({ ...binding, userIdentity: 'someone else' })).toThrow(expect.objectContaining({ code: 'USER_MISMATCH' }));
});

test('a write open across turns when the delay ran out: cancelled, the carried cursors are still written by a transaction of their own', () => {
  crash(
    `r.setIdent(3, 1);
    r.write((w) => w.apply([SCHEMA, create(1, 'mine')]));
    r.integrate(ack(1, 1));
    const w = r.beginWrite();
    w.apply([create(2, 'not kept')]);
    // The delay runs out while the write is open; the write is cancelled afterwards.
    setTimeout(() => w.cancel(), 50);`,
    { delayMs: 5, afterMs: 400 },
  );
  const r = open();
  expect(r.progress.acknowledged.clientVersion).toBe(1);
  expect(r.progress.download).toEqual({ serverVersion: 1, lastIntegratedClientVersion: 1 });
  expect(ids(r)).toEqual([1]);
});

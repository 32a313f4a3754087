import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { readAdminToken, Server, silentLogger } from '../../src/server';
import { CommitQueue } from '../../src/server/commit-queue';
import { SqliteDriver } from '../../src/server/storage/sqlite';
import type { ReadTransaction, StorageDriver, WriteTransaction } from '../../src/server/storage/types';
import { RawSyncClient } from '../helpers/server-process';

/**
 * Option coalesceDownloadsMs: a DOWNLOAD with changes for a session being streamed to, about to go
 * out while a group commit of other writes runs (or is next), waits for that one commit and carries
 * its changes too.
 * Acknowledgements never wait. The commits are held by the storage below (the real SQLite
 * driver, whose durable writes resolve only when the test releases them), so the order of events
 * is the test's, not the scheduler's.
 */

/** The SQLite driver, with each durable write's promise held back while `holding` until released. */
class HeldStorage implements StorageDriver {
  readonly kind = 'sqlite';
  holding = false;
  private readonly held: (() => void)[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  constructor(private readonly inner: StorageDriver) {}
  read<T>(fn: (tx: ReadTransaction) => T): Promise<T> {
    return this.inner.read(fn);
  }
  async write<T>(fn: (tx: WriteTransaction) => T): Promise<T> {
    const result = await this.inner.write(fn);
    if (this.holding) {
      await new Promise<void>((resolve) => {
        this.held.push(resolve);
        for (const w of this.waiters.splice(0)) if (this.held.length >= w.count) w.resolve();
        else this.waiters.push(w);
      });
    }
    return result;
  }
  /** Resolves once `count` committed writes are held. */
  whenHeld(count: number): Promise<void> {
    if (this.held.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
  /** Lets the oldest held write resolve. */
  release(): void {
    this.held.shift()?.();
  }
  releaseAll(): void {
    this.holding = false;
    while (this.held.length > 0) this.release();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const SCHEMA: Instruction = { op: 'AddType', type: 'Note', primaryKey: 'id', properties: [{ name: 'id', type: 'string', optional: false }, { name: 'text', type: 'string', optional: false }] };
const note = (id: string): Instruction => ({ op: 'Create', type: 'Note', id, values: { text: id } });

let dataPath: string;
let storage: HeldStorage;
let server: Server | undefined;
const clients: RawSyncClient[] = [];

beforeEach(() => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-coalesce-'));
  storage = new HeldStorage(new SqliteDriver(dataPath));
});

afterEach(async () => {
  storage.releaseAll();
  for (const c of clients.splice(0)) c.close();
  await server?.stop();
  server = undefined;
  await storage.close();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

/** `coalesceDownloadsMs`: a minute, so the reader counts as streamed to whatever the scheduler does; 0 turns coalescing off. */
async function startServer(coalesceDownloadsMs: number): Promise<Server> {
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, storage, coalesceDownloadsMs });
  await server.start();
  return server;
}

/** A client file of its own on `realmPath`, bound and identified; returns after its first DOWNLOAD. */
async function session(realmPath: string) {
  const c = await RawSyncClient.connect(`${server!.url.replace('http', 'ws')}/sync`, readAdminToken(dataPath));
  clients.push(c);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', 1);
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  const first = await c.nextOf('DOWNLOAD', 1);
  return { c, serverVersion: first.serverVersion };
}

function upload(c: RawSyncClient, clientVersion: number, basedOn: number, instructions: Instruction[]): void {
  c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: clientVersion,
    progressServerVersion: basedOn,
    changesets: [{ clientVersion, lastIntegratedServerVersion: basedOn, originTimestamp: Date.now(), data: encodeChangeset(instructions) }],
  });
}

/** Waits until the commit queue holds `n` jobs not yet in a transaction. */
async function queued(n: number): Promise<void> {
  const start = Date.now();
  while (server!.stats.queuedJobs < n) {
    if (Date.now() - start > 10_000) throw new Error(`the commit queue never held ${n} jobs`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * The realm gets the type (version 1); a reader and two writers are bound to it. Then writer 1's
 * change commits and is held, writer 2's waits in the commit queue behind it, and writer 1's
 * commit is released while writer 2's is held in its turn.
 */
async function twoCommitsInARow(quietMs = 0) {
  const w1 = await session('/coalesce/notes');
  upload(w1.c, 1, 0, [SCHEMA]);
  await w1.c.nextOf('DOWNLOAD', 1);
  const reader = await session('/coalesce/notes');
  const w2 = await session('/coalesce/notes');
  expect([reader.serverVersion, w2.serverVersion]).toEqual([1, 1]);
  // The reader was last sent changes (the type) when it bound: this long ago, it is not being streamed to.
  if (quietMs > 0) await new Promise((r) => setTimeout(r, quietMs));
  storage.holding = true;
  upload(w1.c, 2, 1, [note('a')]);
  await storage.whenHeld(1);
  upload(w2.c, 1, 1, [note('b')]);
  await queued(1);
  storage.release(); // writer 1's commit settles; writer 2's runs next and is held
  await storage.whenHeld(1);
  return { reader, w1, w2 };
}

test('with coalescing, changes committed while the next commit runs go out with it in one DOWNLOAD; the writer gets its acknowledgement at once', async () => {
  await startServer(60_000);
  const { reader, w1 } = await twoCommitsInARow();
  // Writer 1's acknowledgement carries no changes: it does not wait for writer 2's commit.
  const ack = await w1.c.nextOf('DOWNLOAD', 1);
  expect(ack).toMatchObject({ uploadClientVersion: 2, changesets: [] });
  storage.release();
  const d = await reader.c.nextOf('DOWNLOAD', 1);
  expect(d.changesets.map((c) => c.serverVersion)).toEqual([2, 3]);
});

test('without coalescing, the first change goes out while the second commit is still running', async () => {
  await startServer(0);
  const { reader } = await twoCommitsInARow();
  const first = await reader.c.nextOf('DOWNLOAD', 1);
  expect(first.changesets.map((c) => c.serverVersion)).toEqual([2]);
  storage.release();
  const second = await reader.c.nextOf('DOWNLOAD', 1);
  expect(second.changesets.map((c) => c.serverVersion)).toEqual([3]);
});

test('a session not sent changes for longer than coalesceDownloadsMs is sent the next change at once, though a commit runs', async () => {
  await startServer(5);
  const { reader } = await twoCommitsInARow(50);
  const first = await reader.c.nextOf('DOWNLOAD', 1);
  expect(first.changesets.map((c) => c.serverVersion)).toEqual([2]);
  storage.release();
  const second = await reader.c.nextOf('DOWNLOAD', 1);
  expect(second.changesets.map((c) => c.serverVersion)).toEqual([3]);
});

test('a lone change finds no commit running and is sent at once', async () => {
  await startServer(60_000);
  const w1 = await session('/coalesce/lone');
  upload(w1.c, 1, 0, [SCHEMA]);
  await w1.c.nextOf('DOWNLOAD', 1);
  const reader = await session('/coalesce/lone');
  upload(w1.c, 2, 1, [note('a')]);
  const d = await reader.c.nextOf('DOWNLOAD', 1);
  expect(d.changesets.map((c) => c.serverVersion)).toEqual([2]);
});

describe('CommitQueue.afterShortCommit', () => {
  test('false when idle or while a background job commits; true for a running or next batch of short jobs, called once its jobs settled', async () => {
    const queue = new CommitQueue(storage, silentLogger);
    const never = jest.fn();
    expect(queue.afterShortCommit(never)).toBe(false);
    storage.holding = true;
    const order: string[] = [];
    // Submitted, not running yet: short jobs are next.
    const short = queue.submit(() => 1).then(() => order.push('job settled'));
    expect(queue.afterShortCommit(() => order.push('after, registered before it ran'))).toBe(true);
    await storage.whenHeld(1);
    expect(queue.afterShortCommit(() => order.push('after, registered while it ran'))).toBe(true);
    storage.release();
    await short;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['job settled', 'after, registered before it ran', 'after, registered while it ran']);
    // A background job (a merge's slice) running: nothing waits for it, short jobs behind it or not.
    const background = queue.submit(() => 2, { background: true });
    await storage.whenHeld(1);
    expect(queue.afterShortCommit(never)).toBe(false);
    const behind = queue.submit(() => 3);
    expect(queue.afterShortCommit(never)).toBe(false);
    storage.releaseAll();
    await Promise.all([background, behind]);
    expect(never).not.toHaveBeenCalled();
  });
});

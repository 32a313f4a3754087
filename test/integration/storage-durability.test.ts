import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteDriver } from '../../src/server/storage/sqlite';
import type { UserRecord } from '../../src/server/storage/types';

/**
 * The SQLite driver commits without an fsync on the event loop and fsyncs the WAL afterwards on
 * the thread pool: a write resolves only after the fsync that covers it, concurrent commits share
 * fsyncs, and a read never returns data whose fsync has not finished.
 */
const user = (n: number): UserRecord => ({ id: n.toString(16).padStart(32, '0'), username: `u${n}`, passwordHash: 'scrypt$x', isAdmin: false, createdAt: 1000 + n });

let dir: string;
let driver: SqliteDriver;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-durability-'));
  driver = new SqliteDriver(dir);
});
afterEach(async () => {
  await driver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a write resolves after an fsync that covers its commit; commits made meanwhile share the next fsync', async () => {
  const before = { ...driver.syncStats };
  await driver.write((tx) => tx.createUser(user(1)));
  expect(driver.syncStats.fsyncs).toBe(before.fsyncs + 1);
  expect(driver.syncStats.commits).toBe(before.commits + 1);

  // 50 writes started in one turn: each commits at once, and the fsyncs that make them durable are
  // fewer than the commits (the first one flies alone; the rest wait for it and share the next).
  const n = 50;
  const start = { ...driver.syncStats };
  const settled: number[] = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      driver
        .write((tx) => tx.createUser(user(100 + i)))
        .then(() => settled.push(driver.syncStats.commits - start.commits)),
    ),
  );
  expect(driver.syncStats.commits - start.commits).toBe(n);
  expect(driver.syncStats.fsyncs - start.fsyncs).toBeLessThan(n);
  expect(driver.syncStats.fsyncs - start.fsyncs).toBeGreaterThanOrEqual(1);
  // Every write saw its own commit counted as durable when it resolved.
  settled.forEach((durableCommits, i) => expect(durableCommits).toBeGreaterThanOrEqual(i + 1));
});

test('a read resolves only after the fsync of every commit it saw', async () => {
  await driver.write((tx) => tx.createUser(user(1)));
  const written = driver.write((tx) => tx.createUser(user(2)));
  // The commit of user 2 has happened (write bodies run at once); its fsync has not finished.
  const durableBefore = driver.syncStats.commits;
  const seen = await driver.read((tx) => tx.getUserByName('u2'));
  expect(seen?.id).toBe(user(2).id);
  expect(driver.syncStats.commits).toBeGreaterThan(durableBefore);
  await written;
});

test('a read does not wait for commits made after it started (a long run of commits cannot hold it up)', async () => {
  await driver.write((tx) => tx.createUser(user(1)));
  const first = driver.write((tx) => tx.createUser(user(2))); // committed; its fsync is running
  const read = driver.read((tx) => tx.getUserByName('u3')); // sees users 1 and 2, not 3
  const later = driver.write((tx) => tx.createUser(user(3))); // committed while that fsync runs
  const committed = driver.syncStats.commits + 2;
  expect(await read).toBeUndefined();
  // Resolved with user 2 durable and user 3 not yet: it did not wait for the later commit's fsync.
  expect(driver.syncStats.commits).toBe(committed - 1);
  await Promise.all([first, later]);
  expect(driver.syncStats.commits).toBe(committed);
});

test('a read started inside a write body sees that write only once it is committed, and resolves after its fsync', async () => {
  const durableBefore = driver.syncStats.commits;
  let seen: Promise<{ id: string | undefined; durable: number }> | undefined;
  const written = driver.write((tx) => {
    tx.createUser(user(4));
    seen = driver.read((r) => r.getUserByName('u4')?.id).then((id) => ({ id, durable: driver.syncStats.commits }));
  });
  expect(await seen).toEqual({ id: user(4).id, durable: durableBefore + 1 });
  await written;

  // A body that throws is rolled back: a read it started never sees what it wrote.
  let after: Promise<string | undefined> | undefined;
  await expect(
    driver.write((tx) => {
      tx.createUser(user(5));
      after = driver.read((r) => r.getUserByName('u5')?.id);
      throw new Error('rolled back');
    }),
  ).rejects.toThrow('rolled back');
  expect(await after).toBeUndefined();
});

test('committed data survives the process being killed right after write() resolves', () => {
  // A child process writes, and is killed with SIGKILL the moment the write resolved.
  const script = `
    const { SqliteDriver } = require(${JSON.stringify(path.resolve(__dirname, '../../src/server/storage/sqlite'))});
    const d = new SqliteDriver(${JSON.stringify(dir + '/child')});
    d.write((tx) => tx.createUser(${JSON.stringify(user(7))})).then(() => process.kill(process.pid, 'SIGKILL'));
  `;
  fs.mkdirSync(path.join(dir, 'child'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.signal).toBe('SIGKILL');
  const reopened = new SqliteDriver(path.join(dir, 'child'));
  return reopened
    .read((tx) => tx.getUserByName('u7'))
    .then((found) => expect(found?.id).toBe(user(7).id))
    .finally(() => reopened.close());
});

test('in memory nothing is fsync\'d and writes still resolve', async () => {
  const memory = new SqliteDriver(':memory:');
  try {
    await memory.write((tx) => tx.createUser(user(3)));
    expect(await memory.read((tx) => tx.getUserByName('u3')?.id)).toBe(user(3).id);
    expect(memory.syncStats.fsyncs).toBe(0);
  } finally {
    await memory.close();
  }
});

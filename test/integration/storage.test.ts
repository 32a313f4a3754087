import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apply } from '../../src/changeset/apply';
import type { Instruction } from '../../src/changeset/instructions';
import { encodeChangeset } from '../../src/changeset/codec';
import { canonicalState, MemoryState } from '../../src/changeset/state';
import { TributaryError } from '../../src/errors';
import { CommitQueue } from '../../src/server/commit-queue';
import { silentLogger } from '../../src/shared/logger';
import { snapshotInstructions } from '../../src/server/snapshot';
import { SqliteDriver } from '../../src/server/storage/sqlite';
import type { StorageDriver, UserRecord } from '../../src/server/storage/types';

interface DriverFactory {
  name: string;
  /** Opens the driver on `dir`; opening the same dir again must see everything committed. */
  open(dir: string): StorageDriver;
}

const DRIVERS: DriverFactory[] = [
  { name: 'sqlite', open: (dir) => new SqliteDriver(dir) },
  // The same suite with the in-memory history cache off (realm and client-file rows stay cached).
  { name: 'sqlite without history cache', open: (dir) => new SqliteDriver(dir, { historyCacheBytes: 0 }) },
  // A tiny cache: history reads fall back to the database for all but the newest entries.
  { name: 'sqlite with a 64-byte history cache', open: (dir) => new SqliteDriver(dir, { historyCacheBytes: 64 }) },
];

const SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'Dog',
    primaryKey: 'name',
    properties: [
      { name: 'name', type: 'string', optional: false },
      { name: 'age', type: 'int', optional: false },
      { name: 'friend', type: 'object', objectType: 'Dog', optional: true },
      { name: 'pack', type: 'list', objectType: 'Dog', optional: false },
    ],
  },
];

const user = (id: string, username: string | null): UserRecord => ({ id: id.padStart(32, '0'), username, passwordHash: 'scrypt$x', isAdmin: false, createdAt: 1000 });

describe.each(DRIVERS)('storage driver: $name', (factory) => {
  let dir: string;
  let driver: StorageDriver;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `tributary-storage-${factory.name}-`));
    driver = factory.open(dir);
  });

  afterEach(async () => {
    await driver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function reopen(): Promise<void> {
    await driver.close();
    driver = factory.open(dir);
  }

  async function newRealm(p = '/r'): Promise<number> {
    return driver.write((tx) => tx.createRealm(p, null, 1).id);
  }

  test('everything committed survives closing and reopening', async () => {
    const realmId = await newRealm('/abc/tasks');
    await driver.write((tx) => {
      tx.createUser(user('a1', 'alice'));
      tx.setPermission('/abc/tasks', user('a1', null).id, 'read');
      const file = tx.allocateClientFile(realmId, 5);
      const rt = tx.realm(realmId);
      apply(rt, SCHEMA);
      rt.append({ originFileIdent: 0, originTimestamp: 10, clientVersion: 0, instructions: SCHEMA });
      const create: Instruction[] = [{ op: 'Create', type: 'Dog', id: 'rex', values: { age: 3 } }];
      apply(rt, create);
      rt.append({ originFileIdent: file.ident, originTimestamp: 11, clientVersion: 4, instructions: create });
      rt.setReciprocal(file.ident, 1, []);
      tx.setUploadProgress(realmId, file.ident, 4, 1, 6);
    });
    const before = await driver.read((tx) => ({ realm: tx.getRealm('/abc/tasks'), state: canonicalState(tx.realmState(realmId)) }));
    await reopen();
    await driver.read((tx) => {
      expect(tx.getUserByName('alice')).toEqual(user('a1', 'alice'));
      expect(tx.getPermission('/abc/tasks', user('a1', null).id)).toBe('read');
      expect(tx.getRealm('/abc/tasks')).toEqual(before.realm);
      expect(before.realm).toMatchObject({ latestVersion: 2, owner: null, deleted: false });
      expect(tx.getClientFile(realmId, 1)).toMatchObject({ ident: 1, lastIntegratedClientVersion: 4, uploadClientVersion: 4, uploadServerVersion: 1, lastSeen: 6 });
      expect(canonicalState(tx.realmState(realmId))).toEqual(before.state);
      const history = tx.readHistory(realmId, 0, Infinity);
      expect(history.map((h) => [h.version, h.originFileIdent, h.originTimestamp, h.clientVersion])).toEqual([
        [1, 0, 10, 0],
        [2, 1, 11, 4],
      ]);
      expect(tx.versionSalt(realmId, 2)).toBe(tx.getRealm('/abc/tasks')!.latestSalt);
    });
    await driver.write((tx) => expect(tx.realm(realmId).getReciprocal(1, 1)).toEqual([]));
  });

  test('an emptied reciprocal changeset is distinct from a missing one, and trimming removes both kinds', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      tx.allocateClientFile(realmId, 0);
      const rt = tx.realm(realmId);
      rt.setReciprocal(1, 3, []);
      rt.setReciprocal(1, 4, SCHEMA);
      rt.setReciprocal(1, 6, []);
    });
    await reopen();
    await driver.write((tx) => {
      const rt = tx.realm(realmId);
      expect(rt.getReciprocal(1, 3)).toEqual([]);
      expect(rt.getReciprocal(1, 5)).toBeUndefined();
      expect(rt.getReciprocal(2, 3)).toBeUndefined();
      expect(rt.getReciprocal(1, 4)).toEqual(SCHEMA);
      rt.trimReciprocal(1, 4);
      expect(rt.getReciprocal(1, 3)).toBeUndefined();
      expect(rt.getReciprocal(1, 4)).toBeUndefined();
      expect(rt.getReciprocal(1, 6)).toEqual([]);
      expect(tx.getClientFile(realmId, 1)!.reciprocalBase).toBe(4);
    });
  });

  test('the upload journal keeps changesets per client file in client-version order across a restart, and a rolled-back row is gone', async () => {
    const realmId = await newRealm();
    const row = (clientVersion: number, version: number, instructions: Instruction[]) => ({ clientVersion, version, lastIntegratedServerVersion: clientVersion - 1, originTimestamp: 100 + clientVersion, instructions });
    await driver.write((tx) => {
      tx.allocateClientFile(realmId, 0);
      tx.allocateClientFile(realmId, 0);
      const rt = tx.realm(realmId);
      rt.journal(1, row(2, 5, SCHEMA));
      rt.journal(1, { ...row(3, 7, []), data: encodeChangeset([]) }); // stored as uploaded, not encoded again
      rt.journal(2, row(1, 6, SCHEMA));
    });
    await expect(driver.write((tx) => {
      tx.realm(realmId).journal(1, row(4, 9, SCHEMA));
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    await reopen();
    await driver.write((tx) => {
      const rt = tx.realm(realmId);
      expect(rt.journaled(1, 0, 10)).toEqual([row(2, 5, SCHEMA), row(3, 7, [])]);
      expect(rt.journaled(1, 2, 10)).toEqual([row(3, 7, [])]);
      expect(rt.journaled(1, 0, 1)).toEqual([row(2, 5, SCHEMA)]);
      expect(() => rt.journal(1, row(3, 8, SCHEMA))).toThrow(); // a client version is journaled once
      rt.clearJournal(1);
      expect(rt.journaled(1, 0, 10)).toEqual([]);
      expect(rt.journaled(2, 0, 10)).toEqual([row(1, 6, SCHEMA)]);
    });
  });

  test('history: versions, salts, byte-bounded reads, cumulative bytes, last integrated client version', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      const f = tx.allocateClientFile(realmId, 0);
      const rt = tx.realm(realmId);
      expect(rt.latestVersion()).toBe(0);
      expect(rt.lastIntegratedClientVersion(f.ident)).toBe(0);
      for (let i = 1; i <= 10; i++) {
        expect(rt.append({ originFileIdent: f.ident, originTimestamp: i, clientVersion: i * 2, instructions: SCHEMA })).toBe(i);
      }
      expect(rt.lastIntegratedClientVersion(f.ident)).toBe(20);
      expect(() => rt.append({ originFileIdent: 99, originTimestamp: 1, clientVersion: 1, instructions: [] })).toThrow(TributaryError);
      expect([...rt.entriesAfter(8)].map((e) => [e.version, e.clientVersion, e.instructions])).toEqual([
        [9, 18, SCHEMA],
        [10, 20, SCHEMA],
      ]);
    });
    await driver.read((tx) => {
      const all = tx.readHistory(realmId, 0, Infinity);
      expect(all).toHaveLength(10);
      const size = all[0]!.byteSize;
      expect(all.every((e) => e.byteSize === size && e.data.length === size)).toBe(true);
      expect(all.map((e) => e.cumulativeBytes)).toEqual(all.map((_, i) => (i + 1) * size));
      expect(tx.readHistory(realmId, 2, size * 3).map((e) => e.version)).toEqual([3, 4, 5]);
      expect(tx.readHistory(realmId, 2, 1).map((e) => e.version)).toEqual([3]);
      expect(tx.readHistory(realmId, 2, Infinity, 2).map((e) => e.version)).toEqual([3, 4]);
      expect(tx.readHistory(realmId, 10, Infinity)).toEqual([]);
      expect(tx.cumulativeBytes(realmId, 0)).toBe(0);
      expect(tx.cumulativeBytes(realmId, 10)).toBe(10 * size);
      expect(tx.versionSalt(realmId, 0)).toBe(0);
      expect(tx.versionSalt(realmId, 11)).toBeUndefined();
      const salts = new Set(all.map((e) => e.salt));
      expect(salts.size).toBe(10);
      expect([...salts].every((s) => Number.isSafeInteger(s) && s > 0)).toBe(true);
    });
  });

  test('object state keeps creation order; replacing keeps the place, re-creating goes last', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      const rt = tx.realm(realmId);
      apply(rt, SCHEMA);
      apply(rt, ['a', 'b', 'c'].map((id): Instruction => ({ op: 'Create', type: 'Dog', id, values: { age: 1 } })));
      apply(rt, [
        { op: 'Set', type: 'Dog', id: 'a', values: { age: 2, friend: 'c' } },
        { op: 'ListInsert', type: 'Dog', id: 'b', property: 'pack', index: 0, prior: 0, value: 'c' },
        { op: 'ListInsert', type: 'Dog', id: 'b', property: 'pack', index: 1, prior: 1, value: 'a' },
      ]);
      apply(rt, [{ op: 'Delete', type: 'Dog', id: 'c' }]);
      apply(rt, [{ op: 'Create', type: 'Dog', id: 'c', values: {} }]);
    });
    await reopen();
    await driver.read((tx) => {
      const state = tx.realmState(realmId);
      expect([...state.objects('Dog')].map((r) => r.id)).toEqual(['a', 'b', 'c']);
      expect(state.getObject('Dog', 'a')!.values).toEqual({ age: 2, friend: null });
      // The deleted link stays as a tombstone in the list's index space.
      expect(state.getObject('Dog', 'b')!.lists.pack).toEqual([{ value: 'c', dead: true }, { value: 'a' }]);
      expect(state.schemas().map((s) => s.name)).toEqual(['Dog']);
    });
  });

  test('a snapshot of the stored state rebuilds the same state from empty', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      const rt = tx.realm(realmId);
      apply(rt, SCHEMA);
      apply(rt, [
        { op: 'Create', type: 'Dog', id: 'x', values: { age: 5 } },
        { op: 'Create', type: 'Dog', id: 'y', values: {} },
        { op: 'Set', type: 'Dog', id: 'x', values: { friend: 'y' } },
        { op: 'Set', type: 'Dog', id: 'y', values: { friend: 'x' } },
        { op: 'Create', type: 'Dog', id: 'z', values: {} },
        { op: 'ListInsert', type: 'Dog', id: 'x', property: 'pack', index: 0, prior: 0, value: 'z' },
        { op: 'ListInsert', type: 'Dog', id: 'x', property: 'pack', index: 1, prior: 1, value: 'y' },
        { op: 'Delete', type: 'Dog', id: 'z' },
      ]);
    });
    await driver.read((tx) => {
      const stored = tx.realmState(realmId);
      const rebuilt = new MemoryState();
      apply(rebuilt, snapshotInstructions(stored));
      expect(canonicalState(rebuilt)).toEqual(canonicalState(stored));
    });
  });

  test('a write that throws keeps nothing; a savepoint that throws keeps the rest', async () => {
    const realmId = await newRealm();
    await expect(
      driver.write((tx) => {
        tx.createUser(user('b1', 'bob'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await driver.write((tx) => {
      tx.createUser(user('c1', 'carol'));
      expect(() =>
        tx.savepoint(() => {
          tx.createUser(user('d1', 'dave'));
          tx.realm(realmId).append({ originFileIdent: 0, originTimestamp: 1, clientVersion: 0, instructions: [] });
          throw new Error('undo me');
        }),
      ).toThrow('undo me');
    });
    await reopen();
    await driver.read((tx) => {
      expect(tx.getUserByName('bob')).toBeUndefined();
      expect(tx.getUserByName('carol')).toBeDefined();
      expect(tx.getUserByName('dave')).toBeUndefined();
      expect(tx.getRealm('/r')!.latestVersion).toBe(0);
    });
  });

  test('cached metadata and history follow rollbacks without reopening', async () => {
    const realmId = await newRealm();
    const ident = await driver.write((tx) => tx.allocateClientFile(realmId, 0).ident);
    const append = (tx: Parameters<Parameters<StorageDriver['write']>[0]>[0], clientVersion: number) =>
      tx.realm(realmId).append({ originFileIdent: ident, originTimestamp: clientVersion, clientVersion, instructions: SCHEMA });
    await driver.write((tx) => append(tx, 1));
    const seen = () =>
      driver.read((tx) => ({
        latest: tx.getRealmById(realmId)!.latestVersion,
        byPath: tx.getRealm('/r')!.latestVersion,
        versions: tx.readHistory(realmId, 0, Infinity).map((e) => e.version),
        cumulative: tx.cumulativeBytes(realmId, tx.getRealmById(realmId)!.latestVersion),
        integrated: tx.getClientFile(realmId, ident)!.lastIntegratedClientVersion,
        upload: tx.getClientFile(realmId, ident)!.uploadClientVersion,
        salt: tx.versionSalt(realmId, 2),
      }));
    const before = await seen();
    expect(before).toMatchObject({ latest: 1, byPath: 1, versions: [1], integrated: 1, upload: 0, salt: undefined });
    // A whole transaction that fails after appending, and a savepoint that is undone.
    await expect(
      driver.write((tx) => {
        append(tx, 2);
        tx.setUploadProgress(realmId, ident, 2, 1, 9);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await seen()).toEqual(before);
    await driver.write((tx) => {
      expect(() =>
        tx.savepoint(() => {
          append(tx, 2);
          tx.realm(realmId).setReciprocal(ident, 1, []);
          throw new Error('undo me');
        }),
      ).toThrow('undo me');
      expect(tx.realm(realmId).latestVersion()).toBe(1);
      expect(tx.realm(realmId).getReciprocal(ident, 1)).toBeUndefined();
    });
    expect(await seen()).toEqual(before);
    // What does commit is seen at once, and after reopening.
    await driver.write((tx) => {
      append(tx, 2);
      append(tx, 3);
      tx.setUploadProgress(realmId, ident, 3, 1, 9);
    });
    const after = await seen();
    expect(after).toMatchObject({ latest: 3, byPath: 3, versions: [1, 2, 3], integrated: 3, upload: 3 });
    expect(after.salt).toEqual(expect.any(Number));
    const entries = await driver.write((tx) => [...tx.realm(realmId).entriesAfter(1)].map((e) => [e.version, e.clientVersion, e.instructions]));
    expect(entries).toEqual([
      [2, 2, SCHEMA],
      [3, 3, SCHEMA],
    ]);
    await reopen();
    expect(await seen()).toEqual(after);
  });

  test('users: unique names and ids; client files: increasing idents with random salts', async () => {
    await driver.write((tx) => tx.createUser(user('e1', 'erin')));
    await expect(driver.write((tx) => tx.createUser(user('e2', 'erin')))).rejects.toMatchObject({ code: 'USER_EXISTS' });
    await expect(driver.write((tx) => tx.createUser(user('e1', 'other')))).rejects.toMatchObject({ code: 'USER_EXISTS' });
    const r1 = await newRealm('/one');
    const r2 = await newRealm('/two');
    const files = await driver.write((tx) => [tx.allocateClientFile(r1, 0), tx.allocateClientFile(r1, 0), tx.allocateClientFile(r2, 0)]);
    expect(files.map((f) => [f.realmId, f.ident])).toEqual([
      [r1, 1],
      [r1, 2],
      [r2, 1],
    ]);
    expect(files[0]!.salt).not.toBe(files[1]!.salt);
    await expect(driver.write((tx) => tx.createRealm('/one', null, 0))).rejects.toBeDefined();
  });

  test('group commit: uploads arriving together commit in one transaction; a failing one is undone alone', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      apply(tx.realm(realmId), SCHEMA);
      for (let i = 0; i < 20; i++) tx.allocateClientFile(realmId, 0);
    });
    const queue = new CommitQueue(driver, silentLogger);
    const uploads = Array.from({ length: 20 }, (_, i) =>
      queue.submit((tx) => {
        const rt = tx.realm(realmId);
        // Upload 7 refers to an object that does not exist: the strict applier rejects it.
        const instructions: Instruction[] =
          i === 7 ? [{ op: 'Set', type: 'Dog', id: 'ghost', values: { age: 1 } }] : [{ op: 'Create', type: 'Dog', id: `d${i}`, values: { age: i } }];
        const version = rt.append({ originFileIdent: i + 1, originTimestamp: i, clientVersion: 1, instructions });
        apply(rt, instructions);
        return version;
      }),
    );
    const results = await Promise.allSettled(uploads);
    expect(queue.stats.batches).toBe(1);
    expect(queue.stats.largestBatch).toBe(20);
    expect(results[7]).toMatchObject({ status: 'rejected', reason: { code: 'BAD_CHANGESET' } });
    const versions = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
    expect(versions).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    await reopen();
    await driver.read((tx) => {
      expect(tx.getRealm('/r')!.latestVersion).toBe(19);
      expect([...tx.realmState(realmId).objects('Dog')]).toHaveLength(19);
      expect(tx.getClientFile(realmId, 8)!.lastIntegratedClientVersion).toBe(0);
      expect(tx.getClientFile(realmId, 9)!.lastIntegratedClientVersion).toBe(1);
    });
  });

  test('group commit: a job alone is its whole transaction, without a savepoint; when it throws, all of its writes are undone, the failure is its own, and the next job commits', async () => {
    const realmId = await newRealm();
    await driver.write((tx) => {
      apply(tx.realm(realmId), SCHEMA);
      tx.allocateClientFile(realmId, 0);
    });
    // Counts the savepoints the queue opens, on the real driver's transactions.
    let savepoints = 0;
    const write = driver.write.bind(driver);
    driver.write = ((fn: Parameters<StorageDriver['write']>[0]) =>
      write((tx) => {
        const savepoint = tx.savepoint.bind(tx);
        tx.savepoint = ((body: () => unknown) => {
          savepoints++;
          return savepoint(body);
        }) as typeof tx.savepoint;
        return fn(tx);
      })) as StorageDriver['write'];
    const queue = new CommitQueue(driver, silentLogger);
    const create = (from: number, count: number, thenThrow: boolean) => (tx: Parameters<Parameters<StorageDriver['write']>[0]>[0]) => {
      const rt = tx.realm(realmId);
      // Well past the 64 KiB a statement journal keeps in memory.
      const instructions: Instruction[] = Array.from({ length: count }, (_, k) => ({ op: 'Create', type: 'Dog', id: `d${from + k}`, values: { age: k } }) as Instruction);
      const version = rt.append({ originFileIdent: 1, originTimestamp: from, clientVersion: from, instructions });
      apply(rt, instructions);
      if (thenThrow) throw new Error('job failed after writing');
      return version;
    };
    await expect(queue.submit(create(1, 3000, true))).rejects.toThrow('job failed after writing');
    expect(await queue.storageHealth()).toBeNull();
    expect(queue.stats.batches).toBe(0); // rolled back: nothing was committed
    expect(await queue.submit(create(5000, 10, false))).toBe(1);
    expect(queue.stats).toMatchObject({ batches: 1, jobs: 1 });
    expect(savepoints).toBe(0);
    // Two jobs together: each under its own savepoint, as before.
    const both = await Promise.allSettled([queue.submit(create(6000, 5, false)), queue.submit(create(7000, 5, true))]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(savepoints).toBe(2);
    await reopen();
    await driver.read((tx) => {
      expect(tx.getRealm('/r')!.latestVersion).toBe(2);
      const names = [...tx.realmState(realmId).objects('Dog')].map((o) => String(o.id));
      expect(names).toHaveLength(15);
      expect(names.some((n) => n === 'd1' || n === 'd7000')).toBe(false);
    });
  });

  test('group commit: with extra turns, jobs submitted in the next event-loop turn join the batch', async () => {
    const realmId = await newRealm();
    const append = (i: number) => (tx: Parameters<Parameters<StorageDriver['write']>[0]>[0]) =>
      tx.realm(realmId).append({ originFileIdent: 0, originTimestamp: i, clientVersion: 0, instructions: [] });
    for (const [turns, batches] of [
      [0, 2],
      [1, 1],
    ] as const) {
      const queue = new CommitQueue(driver, silentLogger, turns);
      const first = queue.submit(append(1));
      const second = new Promise((r) => setImmediate(r)).then(() => queue.submit(append(2)));
      await Promise.all([first, second]);
      expect(queue.stats.batches).toBe(batches);
    }
  });

  test('group commit: jobs submitted while a batch commits go into the next batch, in order', async () => {
    const realmId = await newRealm();
    const queue = new CommitQueue(driver, silentLogger);
    const order: number[] = [];
    const first = Array.from({ length: 5 }, (_, i) => queue.submit(() => order.push(i)));
    await Promise.resolve();
    const second = Array.from({ length: 5 }, (_, i) =>
      first[0]!.then(() => queue.submit((tx) => (order.push(10 + i), tx.realm(realmId).append({ originFileIdent: 0, originTimestamp: i, clientVersion: 0, instructions: [] })))),
    );
    await Promise.all([...first, ...second]);
    expect(order).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    expect(queue.stats.batches).toBe(2);
    await queue.close();
    await expect(queue.submit(() => 1)).rejects.toMatchObject({ code: 'STORAGE_FAILURE' });
  });

  test('group commit: a background job commits alone; short jobs and single background jobs alternate', async () => {
    const realmId = await newRealm();
    const queue = new CommitQueue(driver, silentLogger);
    // Jobs of one transaction all run before it commits, so they see the same batch count.
    const ran: Array<[string, number]> = [];
    const job = (name: string) => (tx: Parameters<Parameters<StorageDriver['write']>[0]>[0]) => {
      ran.push([name, queue.stats.batches]);
      return tx.realm(realmId).append({ originFileIdent: 0, originTimestamp: 0, clientVersion: 0, instructions: [] });
    };
    const all = [
      queue.submit(job('long-1'), { background: true }),
      queue.submit(job('long-2'), { background: true }),
      queue.submit(job('short-1')),
      queue.submit(job('short-2')),
      queue.submit(job('long-3'), { background: true }),
    ];
    await Promise.all(all);
    const batches = [...new Set(ran.map(([, b]) => b))].map((b) => ran.filter(([, x]) => x === b).map(([name]) => name));
    // Short jobs first (the previous transaction was not a background one), then one long job,
    // then (no short jobs left) the long jobs one per transaction.
    expect(batches).toEqual([['short-1', 'short-2'], ['long-1'], ['long-2'], ['long-3']]);
    expect(queue.stats.batches).toBe(4);
    expect(queue.stats.largestBatch).toBe(2);
    await reopen();
    await driver.read((tx) => expect(tx.getRealm('/r')!.latestVersion).toBe(5));
  });
});

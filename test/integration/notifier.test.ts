import * as fs from 'node:fs';
import * as path from 'node:path';
import { User } from '../../src/client';
import Realm from '../../src/index';
import { Notifier, type ChangeEvent, type ChangeSet } from '../../src/notifier';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';
import { Prng, testSeed } from '../helpers/prng';

const Item = { name: 'Item', primaryKey: 'id', properties: { id: 'int', v: 'int', s: 'string' } };
const Note = { name: 'Note', properties: { text: 'string' } };

let fx: AdminFixture;
const notifiers: Notifier[] = [];
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close();
  await Realm.Sync.removeAllListeners();
  await fx.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function notifier(options: Partial<ConstructorParameters<typeof Notifier>[0]> = {}): Notifier {
  const n = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'listener'), ...options });
  notifiers.push(n);
  return n;
}

/** Waits until the notifier's copy of `realmPath` has everything the server has. */
async function synced(n: Notifier, realmPath: string): Promise<void> {
  await waitFor(() => n.localListenerRealms(`^${realmPath}$`).length === 1, 15_000, `watcher of ${realmPath}`);
  await n.localListenerRealms(`^${realmPath}$`)[0].realm().syncSession!.downloadAllServerChanges(15_000);
}

function items(realm: Realm): { id: number; v: number; s: string }[] {
  return realm.objects<any>('Item').map((o) => ({ id: o.id, v: o.v, s: o.s }));
}

describe('ordering', () => {
  test('per realm one event at a time in server order, even with a slow async handler; other realms keep flowing', async () => {
    const pa = fx.userPath('slow');
    const pb = fx.userPath('fast');
    const a = fx.open(pa, [Item]);
    const b = fx.open(pb, [Item]);
    await fx.upload(a);
    await fx.upload(b);
    const n = notifier();
    const seen: { path: string; ids: number[]; start: number; end: number }[] = [];
    await n.addListener('/(slow|fast)$', 'change', async (e: ChangeEvent) => {
      const start = Date.now();
      const ids = e.changes.Item.insertions.map((i) => e.realm.objects<any>('Item')[i].id as number);
      if (e.path === pa) await sleep(120);
      // Still the state of this event: later changesets wait for this Promise.
      expect(e.realm.objects('Item').length).toBe(ids[0] + 1);
      seen.push({ path: e.path, ids, start, end: Date.now() });
    });
    await synced(n, pa);
    await synced(n, pb);
    for (let i = 0; i < 5; i++) {
      a.write(() => a.create('Item', { id: i, v: i, s: 'a' }));
      b.write(() => b.create('Item', { id: i, v: i, s: 'b' }));
    }
    await fx.upload(a);
    await fx.upload(b);
    await waitFor(() => seen.length === 10, 15_000, 'ten events');
    const slow = seen.filter((s) => s.path === pa);
    const fast = seen.filter((s) => s.path === pb);
    expect(slow.map((s) => s.ids)).toEqual([[0], [1], [2], [3], [4]]);
    expect(fast.map((s) => s.ids)).toEqual([[0], [1], [2], [3], [4]]);
    for (let k = 1; k < slow.length; k++) expect(slow[k].start).toBeGreaterThanOrEqual(slow[k - 1].end);
    // The fast realm finished everything while the slow one was still busy with its events.
    expect(fast[fast.length - 1].end).toBeLessThanOrEqual(slow[slow.length - 1].start);
  });
});

describe('change events', () => {
  test('first event: all objects as insertions with an empty oldRealm (empty schema, as realm-js); then generated writes match snapshots; a restart delivers only new changes', async () => {
    const prng = new Prng(testSeed('notifier generated writes'));
    const p = fx.userPath('gen');
    const w = fx.open(p, [Item, Note]);
    let nextId = 0;
    w.write(() => {
      for (let i = 0; i < 5; i++) w.create('Item', { id: nextId++, v: 0, s: 'init' });
    });
    await fx.upload(w);

    interface Seen {
      old: ReturnType<typeof items> | null;
      now: ReturnType<typeof items>;
      changes: Record<string, ChangeSet>;
      origin: string;
    }
    const seen: Seen[] = [];
    const handler = (e: ChangeEvent) => {
      seen.push({ old: e.oldRealm.schema.length === 0 ? null : items(e.oldRealm), now: items(e.realm), changes: JSON.parse(JSON.stringify(e.changes)), origin: e.origin });
    };
    const n1 = notifier();
    await n1.addListener(`^${p}$`, 'change', handler);
    await waitFor(() => seen.length === 1, 15_000, 'first event');
    expect(seen[0].old).toBeNull();
    expect(seen[0].now).toEqual(items(w));
    expect(seen[0].changes).toEqual({ Item: { insertions: [0, 1, 2, 3, 4], deletions: [], modifications: [], oldModifications: [], newModifications: [] } });

    const steps = 12;
    for (let step = 0; step < steps; step++) {
      const before = items(w);
      const created: number[] = [];
      const updated = new Set<number>();
      const deleted = new Set<number>();
      w.write(() => {
        const existing = before.map((o) => o.id);
        for (const id of existing) {
          const r = prng.next();
          if (r < 0.2) deleted.add(id);
          else if (r < 0.45) updated.add(id);
        }
        const creates = prng.int(0, 3);
        for (let i = 0; i < creates; i++) created.push(nextId++);
        if (created.length + updated.size + deleted.size === 0) created.push(nextId++);
        for (const id of updated) w.objectForPrimaryKey<any>('Item', id).v = prng.int(1, 1_000_000);
        for (const id of deleted) w.delete(w.objectForPrimaryKey('Item', id));
        for (const id of created) w.create('Item', { id, v: prng.int(0, 9), s: `s${id}` });
      });
      const after = items(w);
      await fx.upload(w);
      await waitFor(() => seen.length === step + 2, 15_000, `event of step ${step}`);
      const got = seen[step + 1];
      expect(got.origin).toBe('remote');
      expect(got.old).toEqual(before);
      expect(got.now).toEqual(after);
      const kept = [...updated].filter((id) => !deleted.has(id));
      const oldIdx = (id: number) => before.findIndex((o) => o.id === id);
      const newIdx = (id: number) => after.findIndex((o) => o.id === id);
      const mods = kept.map(oldIdx).sort((x, y) => x - y);
      expect(got.changes).toEqual({
        Item: {
          insertions: created.map(newIdx).sort((x, y) => x - y),
          deletions: [...deleted].map(oldIdx).sort((x, y) => x - y),
          modifications: mods,
          oldModifications: mods,
          newModifications: kept.map(newIdx).sort((x, y) => x - y),
        },
      });
    }
    await n1.close();

    // Changes made while no notifier runs, then a new notifier on the same directory.
    const before = items(w);
    w.write(() => w.create('Item', { id: nextId++, v: 7, s: 'while away' }));
    await fx.upload(w);
    const n2 = notifier();
    const afterRestart: Seen[] = [];
    await n2.addListener(`^${p}$`, 'change', (e: ChangeEvent) => {
      afterRestart.push({ old: e.oldRealm.schema.length === 0 ? null : items(e.oldRealm), now: items(e.realm), changes: JSON.parse(JSON.stringify(e.changes)), origin: e.origin });
    });
    await waitFor(() => afterRestart.length === 1, 15_000, 'event after restart');
    await sleep(300);
    expect(afterRestart).toHaveLength(1);
    expect(afterRestart[0].old).toEqual(before);
    expect(afterRestart[0].changes.Item.insertions).toEqual([before.length]);
  });

  test('deleting an object shifts later ones (no move-last-over); deletions index oldRealm, which still reads them', async () => {
    const p = fx.userPath('shift');
    const w = fx.open(p, [Item]);
    w.write(() => {
      for (let i = 0; i < 10; i++) w.create('Item', { id: i, v: i, s: `n${i}` });
    });
    await fx.upload(w);
    const n = notifier();
    const seen: { deletions: number[]; insertions: number[]; deletedNames: string[] }[] = [];
    await n.addListener(`^${p}$`, 'change', (e: ChangeEvent) => {
      if (e.oldRealm.schema.length === 0) return;
      const c = e.changes.Item;
      seen.push({ deletions: c.deletions, insertions: c.insertions, deletedNames: c.deletions.map((i) => e.oldRealm!.objects<any>('Item')[i].s) });
    });
    await synced(n, p);
    w.write(() => w.delete(w.objectForPrimaryKey('Item', 4)));
    await fx.upload(w);
    await waitFor(() => seen.length === 1);
    expect(seen[0]).toEqual({ deletions: [4], insertions: [], deletedNames: ['n4'] });
  });

  test("a handler's own write through event.realm is synced and comes back as a later 'local' event", async () => {
    const p = fx.userPath('own');
    const w = fx.open(p, [Item]);
    await fx.upload(w);
    const n = notifier();
    const origins: string[] = [];
    await n.addListener(`^${p}$`, 'change', (e: ChangeEvent) => {
      origins.push(e.origin);
      for (const i of e.changes.Item?.insertions ?? []) {
        const item = e.realm.objects<any>('Item')[i];
        // Recognise our own write: only act on items that are not marked yet.
        if (item.s !== 'seen') e.realm.write(() => (item.s = 'seen'));
      }
    });
    await synced(n, p);
    w.write(() => w.create('Item', { id: 1, v: 1, s: 'new' }));
    await fx.upload(w);
    await waitFor(() => w.objectForPrimaryKey<any>('Item', 1)?.s === 'seen', 15_000, 'handler write reaches the client');
    await waitFor(() => origins.length === 2);
    expect(origins).toEqual(['remote', 'local']);
  });
});

describe('robustness', () => {
  test('a throwing handler is logged with the path and retried with back-off; other realms are not stopped', async () => {
    const px = fx.userPath('flaky');
    const py = fx.userPath('steady');
    const x = fx.open(px, [Item]);
    const y = fx.open(py, [Item]);
    await fx.upload(x);
    await fx.upload(y);
    const errors: Record<string, unknown>[] = [];
    const n = notifier({ retry: { initialMs: 50, maxMs: 100, maxAttempts: 4 }, log: { error: (_m, f) => void errors.push(f ?? {}) } });
    let attempts = 0;
    const steady: number[] = [];
    const flaky: number[] = [];
    await n.addListener('/(flaky|steady)$', 'change', (e: ChangeEvent) => {
      const id = e.realm.objects<any>('Item')[e.changes.Item.insertions[0]].id as number;
      if (e.path === py) return void steady.push(id);
      if (id === 0 && ++attempts < 3) throw new Error('transient');
      if (id === 1) throw new Error('permanent');
      flaky.push(id);
    });
    await synced(n, px);
    await synced(n, py);
    for (let i = 0; i < 3; i++) {
      x.write(() => x.create('Item', { id: i, v: 0, s: '' }));
      y.write(() => y.create('Item', { id: i, v: 0, s: '' }));
    }
    await fx.upload(x);
    await fx.upload(y);
    await waitFor(() => steady.length === 3, 10_000, 'steady realm');
    expect(flaky.length).toBeLessThan(2); // still retrying meanwhile
    await waitFor(() => flaky.length === 2, 15_000, 'flaky realm');
    expect(flaky).toEqual([0, 2]); // event 1 given up after maxAttempts, the next one delivered
    expect(attempts).toBe(3);
    expect(errors.length).toBe(2 + 4);
    expect(errors.every((f) => f.path === px)).toBe(true);
  });

  test("'available' fires for existing and new realms, once per realm and listener; 'delete' fires and removes the local copy", async () => {
    const p1 = fx.userPath('one');
    await fx.upload(fx.open(p1, [Item]));
    const n = notifier();
    const available: string[] = [];
    const deleted: string[] = [];
    await n.addListener(fx.writer.identity, 'available', (p: string) => void available.push(p));
    await n.addListener(fx.writer.identity, 'delete', (p: string) => void deleted.push(p));
    await n.addListener(fx.writer.identity, 'change', () => undefined);
    expect(available).toEqual([p1]);
    const p2 = fx.userPath('two');
    await fx.upload(fx.open(p2, [Item]));
    await waitFor(() => available.length === 2, 10_000, 'second available');
    expect(available).toEqual([p1, p2]);
    await synced(n, p2);
    const copy = path.join(fx.dir, 'listener', 'realms', fx.writer.identity, 'two.db');
    expect(fs.existsSync(copy)).toBe(true);

    // An admin marks the realm deleted in /__admin.
    const adminRealm = new Realm({ sync: { user: User.adminUser(fx.adminToken, fx.server.url), url: fx.realmUrl + '/__admin' }, path: path.join(fx.dir, 'admin-writer.db') });
    await adminRealm.syncSession!.downloadAllServerChanges(10_000);
    adminRealm.write(() => (adminRealm.objectForPrimaryKey<any>('RealmFile', p2).deleted = true));
    await adminRealm.syncSession!.uploadAllLocalChanges(10_000);
    await waitFor(() => deleted.length === 1, 10_000, 'delete event');
    expect(deleted).toEqual([p2]);
    await waitFor(() => !fs.existsSync(copy), 5_000, 'copy removed');
    expect(n.watchedPaths).toEqual([p1]);
    adminRealm.close();
  });
});

describe('Realm.Sync API', () => {
  test('positional and config forms, a second addListener with other settings is an error, removeListener, localListenerRealms, directory', async () => {
    const p = fx.userPath('api');
    const w = fx.open(p, [Item]);
    await fx.upload(w);
    const dir = path.join(fx.dir, 'sync-api');
    Realm.Sync.setListenerDirectory(dir);
    expect(Realm.Sync.getListenerDirectory()).toBe(dir);
    const events: string[] = [];
    const cb = (e: ChangeEvent) => void events.push(e.path);
    await Realm.Sync.addListener(fx.realmUrl, fx.admin, '/api$', 'change', cb);
    expect(() => Realm.Sync.setListenerDirectory('elsewhere')).toThrow();
    const other = await User.register(fx.server.url, 'someone-else', 'pw');
    await expect(Realm.Sync.addListener({ serverUrl: fx.realmUrl, adminUser: other, filterRegex: '.*' }, 'change', cb)).rejects.toThrow();
    await expect(Realm.Sync.addListener({ serverUrl: 'realm://127.0.0.1:1', adminUser: fx.admin, filterRegex: '.*' }, 'change', cb)).rejects.toThrow(/other connection settings/);
    await Realm.Sync.addListener({ serverUrl: fx.realmUrl, adminUser: fx.admin, filterRegex: '/api$' }, 'available', () => undefined);
    await waitFor(() => Realm.Sync.localListenerRealms('api').length === 1);
    const [local] = Realm.Sync.localListenerRealms('api');
    expect(local.path).toBe(p);
    await local.realm().syncSession!.downloadAllServerChanges(10_000);
    w.write(() => w.create('Item', { id: 1, v: 1, s: '' }));
    await fx.upload(w);
    await waitFor(() => events.length === 1);
    await Realm.Sync.removeListener('/api$', 'change', cb);
    expect(Realm.Sync.localListenerRealms('api')).toEqual([]);
    await Realm.Sync.removeAllListeners();
    expect(fs.existsSync(path.join(dir, 'realms', fx.writer.identity, 'api.db'))).toBe(true);
  });

  test('setListenerLogger: the process-wide notifier reports a failed handler there; by default nowhere, not the console', async () => {
    const p = fx.userPath('logged');
    const w = fx.open(p, [Item]);
    await fx.upload(w);
    Realm.Sync.setListenerDirectory(path.join(fx.dir, 'logged-listener'));
    const consoleCalls = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(() => undefined));
    /** A change handler that fails on its first call only (the retry then succeeds). */
    const failingOnce = () => {
      const handler = Object.assign(
        () => {
          if (++handler.calls === 1) throw new Error('handler broke');
        },
        { calls: 0 },
      );
      return handler;
    };
    try {
      expect(() => Realm.Sync.setListenerLogger({} as never)).toThrow(/error\(message, fields\)/);
      const logged: [string, Record<string, unknown> | undefined][] = [];
      Realm.Sync.setListenerLogger({ error: (msg, fields) => void logged.push([msg, fields]) });
      const first = failingOnce();
      await Realm.Sync.addListener(fx.realmUrl, fx.admin, '/logged$', 'change', first);
      expect(() => Realm.Sync.setListenerLogger(null)).toThrow(/while listeners are registered/);
      w.write(() => w.create('Item', { id: 1, v: 1, s: '' }));
      await fx.upload(w);
      await waitFor(() => first.calls === 2, 15_000, 'the retry after the failure');
      expect(logged).toEqual([['notifier handler failed; retrying', expect.objectContaining({ path: p, event: 'change', attempt: 1, error: expect.objectContaining({ message: 'handler broke' }) })]]);
      await Realm.Sync.removeAllListeners();

      Realm.Sync.setListenerLogger(null);
      const second = failingOnce();
      await Realm.Sync.addListener(fx.realmUrl, fx.admin, '/logged$', 'change', second);
      w.write(() => w.create('Item', { id: 2, v: 2, s: '' }));
      await fx.upload(w);
      // The retry comes after the failure was handled (and, with a logger, logged).
      await waitFor(() => second.calls === 2, 15_000, 'the retry after the failure');
      for (const spy of consoleCalls) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of consoleCalls) spy.mockRestore();
      await Realm.Sync.removeAllListeners();
      Realm.Sync.setListenerLogger(null);
    }
  });

  test('changes(regex) as an async iterable, ended by an AbortSignal', async () => {
    const p = fx.userPath('iter');
    const w = fx.open(p, [Item]);
    await fx.upload(w);
    const n = notifier();
    const controller = new AbortController();
    const got: number[] = [];
    const loop = (async () => {
      for await (const e of n.changes(/\/iter$/, { signal: controller.signal })) {
        got.push(e.realm.objects<any>('Item')[e.changes.Item.insertions[0]].id);
        if (got.length === 3) controller.abort();
      }
    })();
    await waitFor(() => n.watchedPaths.length === 1);
    await synced(n, p);
    for (let i = 0; i < 4; i++) {
      w.write(() => w.create('Item', { id: i, v: 0, s: '' }));
      await fx.upload(w);
    }
    await loop;
    expect(got).toEqual([0, 1, 2]);
    expect(n.listenerCount).toBe(0);
  });
});

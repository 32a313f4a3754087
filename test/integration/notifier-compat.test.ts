import * as path from 'node:path';
import Realm from '../../src/index';
import { Notifier, type ChangeEvent } from '../../src/notifier';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';

// Notifier behaviour that ROS-era programs depend on (issue 17): the first event's oldRealm, a
// handler that writes on every event not starving other realms, re-delivery after a throw as an
// option, and filters written as regex literals inside strings.

const Game = { name: 'Game', primaryKey: 'id', properties: { id: 'int', moves: 'int', answered: 'int' } };

let fx: AdminFixture;
const notifiers: Notifier[] = [];
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close();
  await Realm.Sync.removeAllListeners();
  Realm.Sync.setListenerLogger(null);
  Realm.Sync.setListenerOptions({});
  await fx.dispose();
});

function notifier(options: Partial<ConstructorParameters<typeof Notifier>[0]> = {}): Notifier {
  const n = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'listener'), ...options });
  notifiers.push(n);
  return n;
}

test('the first event of a realm hands an oldRealm with an empty schema (realm-js), not null', async () => {
  const p = fx.userPath('first');
  const w = fx.open(p, [Game]);
  w.write(() => w.create('Game', { id: 1, moves: 0, answered: 0 }));
  await fx.upload(w);
  const seen: { schema: number; objects: string }[] = [];
  await notifier().addListener(`^${p}$`, 'change', (e: ChangeEvent) => {
    // The check §9 of the usage corpus does before reading oldRealm.
    seen.push({ schema: e.oldRealm.schema.length, objects: e.oldRealm.schema.length > 0 ? 'read' : 'skipped' });
  });
  await waitFor(() => seen.length === 1, 15_000, 'first event');
  w.write(() => (w.objectForPrimaryKey<any>('Game', 1).moves = 1));
  await fx.upload(w);
  await waitFor(() => seen.length === 2, 15_000, 'second event');
  expect(seen).toEqual([
    { schema: 0, objects: 'skipped' },
    { schema: 1, objects: 'read' },
  ]);
});

test('a realm whose handler writes on every event does not starve another realm', async () => {
  const busy = fx.userPath('busy');
  const quiet = fx.userPath('quiet');
  const b = fx.open(busy, [Game]);
  const q = fx.open(quiet, [Game]);
  b.write(() => b.create('Game', { id: 1, moves: 0, answered: 0 }));
  q.write(() => q.create('Game', { id: 1, moves: 0, answered: 0 }));
  await fx.upload(b);
  await fx.upload(q);
  const CAP = 3000;
  let busyEvents = 0;
  let quietAnsweredAt: number | null = null;
  const n = notifier();
  // The TicTacToe server of the samples: each of its own writes is another event for the realm.
  await n.addListener(`^${busy}$`, 'change', (e: ChangeEvent) => {
    busyEvents++;
    if (quietAnsweredAt !== null || busyEvents >= CAP) return;
    const game = e.realm.objectForPrimaryKey<any>('Game', 1);
    e.realm.write(() => (game.moves += 1));
  });
  await n.addListener(`^${quiet}$`, 'change', (e: ChangeEvent) => {
    const game = e.realm.objectForPrimaryKey<any>('Game', 1);
    if (game.moves === 1 && game.answered === 0) {
      e.realm.write(() => (game.answered = 1));
      quietAnsweredAt = busyEvents;
    }
  });
  await waitFor(() => busyEvents > 20, 15_000, 'the busy realm looping');
  q.write(() => (q.objectForPrimaryKey<any>('Game', 1).moves = 1));
  await fx.upload(q);
  await waitFor(() => quietAnsweredAt !== null || busyEvents >= CAP, 60_000, 'an answer in the quiet realm');
  expect(quietAnsweredAt).not.toBeNull();
  expect(quietAnsweredAt!).toBeLessThan(CAP);
  // The handler's write is uploaded by the notifier's runtime after the handler returns, so it may
  // reach the server after the wait above: download until it has (each round a real download).
  const deadline = Date.now() + 30_000;
  do await q.syncSession!.downloadAllServerChanges();
  while (q.objectForPrimaryKey<any>('Game', 1).answered !== 1 && Date.now() < deadline);
  expect(q.objectForPrimaryKey<any>('Game', 1).answered).toBe(1);
});

test('a handler that throws gets the event again by default; with retry: false once, as realm-js', async () => {
  const p = fx.userPath('throwing');
  const w = fx.open(p, [Game]);
  await fx.upload(w);
  const calls = { retrying: 0, once: 0 };
  const errors: string[] = [];
  const log = { error: (msg: string) => void errors.push(msg) };
  const retrying = notifier({ retry: { initialMs: 1, maxMs: 2, maxAttempts: 3 }, log });
  const once = notifier({ retry: false, log, directory: path.join(fx.dir, 'listener-once') });
  await retrying.addListener(`^${p}$`, 'change', () => {
    calls.retrying++;
    throw new Error('boom');
  });
  await once.addListener(`^${p}$`, 'change', () => {
    calls.once++;
    throw new Error('boom');
  });
  w.write(() => w.create('Game', { id: 7, moves: 0, answered: 0 }));
  await fx.upload(w);
  await waitFor(() => calls.retrying === 3 && calls.once === 1 && errors.length === 4, 15_000, 'the handler calls');
  w.write(() => w.create('Game', { id: 8, moves: 0, answered: 0 }));
  await fx.upload(w);
  await waitFor(() => calls.once === 2, 15_000, 'the next event after the failed one');
  expect(errors).toContain('notifier handler failed (retry off; the event is not delivered again)');

  // The process-wide notifier behind Realm.Sync.addListener takes the same option.
  Realm.Sync.setListenerOptions({ retry: false });
  Realm.Sync.setListenerDirectory(path.join(fx.dir, 'global'));
  let globalCalls = 0;
  await Realm.Sync.addListener(fx.realmUrl, fx.admin, `^${p}$`, 'change', () => {
    globalCalls++;
    throw new Error('boom');
  });
  await waitFor(() => globalCalls === 1, 15_000, 'the global listener');
  w.write(() => w.create('Game', { id: 9, moves: 0, answered: 0 }));
  await fx.upload(w);
  await waitFor(() => globalCalls === 2, 15_000, 'the next event');
  expect(() => Realm.Sync.setListenerOptions({ retry: false })).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
});

test('a filter string wrapped in slashes is unwrapped by the notifier, like the Adapter, with one warning', async () => {
  const p = fx.userPath('rest');
  const w = fx.open(p, [Game]);
  w.write(() => w.create('Game', { id: 1, moves: 0, answered: 0 }));
  await fx.upload(w);
  const warnings: { msg: string; fields: unknown }[] = [];
  Realm.Sync.setListenerLogger({ error() {}, warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push({ msg, fields }) });
  Realm.Sync.setListenerDirectory(path.join(fx.dir, 'global'));
  const seen: string[] = [];
  // §7 of the usage corpus: the filter passed with literal slashes.
  const filter = '/^\\/([0-9a-f]+)\\/rest$/';
  await Realm.Sync.addListener(fx.realmUrl, fx.admin, filter, 'change', (e: ChangeEvent) => void seen.push(e.path));
  await Realm.Sync.addListener(fx.realmUrl, fx.admin, filter, 'available', (p: string) => void seen.push(`available ${p}`));
  await waitFor(() => seen.length === 2, 15_000, 'both listeners');
  expect(seen.sort()).toEqual([p, `available ${p}`].sort());
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.msg).toMatch(/regex literal inside a string; it is used as \/\^\\\/\(\[0-9a-f\]\+\)\\\/rest\$\//);
  await Realm.Sync.removeListener(filter, 'change', seen.push as never);
});

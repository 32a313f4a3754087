import * as path from 'node:path';
import { demo, productPoller, startFeed, type Feed, type ProductItem } from '../../examples/poller';
import { User } from '../../src/client';
import type { Realm } from '../../src/realm';
import { Notifier, type ChangeEvent } from '../../src/notifier';
import type { Poller } from '../../src/patterns';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { sleep, waitUntil } from './patterns-support';

const products = (n: number, price = (i: number) => i): ProductItem[] => Array.from({ length: n }, (_, i) => ({ sku: `sku-${i}`, name: `product ${i}`, price: price(i) }));

let fx: AdminFixture;
let feed: Feed;
const pollers: Poller<ProductItem>[] = [];
let notifier: Notifier | null = null;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  for (const p of pollers.splice(0)) await p.stop();
  await notifier?.close();
  notifier = null;
  await feed?.close();
  await fx.dispose();
});

test('the example mirrors a feed with ETags: 304s write nothing, a price change is one modification', async () => {
  const r = await demo();
  expect(r.inserted).toBe(5);
  expect(r.modified).toBe(1);
  expect(r.notModified).toBeGreaterThanOrEqual(4);
});

test('only changed items are written: counted by the notifier across inserts, 304s, an edit and a regenerated identical feed', async () => {
  feed = await startFeed(products(20));
  notifier = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'notifier') });
  const seen = { insertions: 0, modifications: 0, deletions: 0, events: 0 };
  await notifier.addListener('^/catalog$', 'change', (e: ChangeEvent) => {
    const c = e.changes.Product;
    if (!c) return;
    seen.events++;
    seen.insertions += c.insertions.length;
    seen.modifications += c.modifications.length;
    seen.deletions += c.deletions.length;
  });
  const poller = productPoller({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'poller'), feedUrl: feed.url, intervalMs: 120 });
  pollers.push(poller);
  await poller.start();
  await waitUntil(() => seen.insertions === 20 && poller.stats.notModified >= 3, 15_000, 'the first load and three 304s');
  expect(seen).toEqual({ insertions: 20, modifications: 0, deletions: 0, events: seen.events });

  // Two prices change, one product goes, one comes.
  const next = products(21, (i) => (i === 3 || i === 7 ? i + 0.5 : i)).filter((p) => p.sku !== 'sku-10');
  feed.set(next);
  await waitUntil(() => seen.deletions === 1 && seen.insertions === 21 && seen.modifications === 2, 15_000, 'the edit');
  const polls = poller.stats.polls;
  // Same products under a new ETag: a full 200 response, and still nothing to write.
  feed.touch();
  await waitUntil(() => poller.stats.polls >= polls + 3, 15_000, 'three more polls');
  await sleep(200);
  expect({ insertions: seen.insertions, modifications: seen.modifications, deletions: seen.deletions }).toEqual({ insertions: 21, modifications: 2, deletions: 1 });
  expect(poller.stats).toMatchObject({ inserted: 21, updated: 2, deleted: 1, errors: 0 });
  expect(feed.requests.filter((r) => r.notModified).length).toBeGreaterThanOrEqual(4);
});

test('two runtimes on one target poll once per interval between them; a stopped holder is taken over', async () => {
  feed = await startFeed(products(5));
  const interval = 250;
  // The lease outlasts eight intervals: a renewal's acknowledgement needs the server's fsync, which a
  // loaded CI disk can hold for several hundred ms, and a holder whose renewals are not durable
  // within the lease rightly loses it. Stopping releases the lease, so the hand-over is still prompt.
  const mk = (name: string) =>
    productPoller({ serverUrl: fx.realmUrl, adminUser: User.adminUser(fx.adminToken, fx.server.url), directory: path.join(fx.dir, name), feedUrl: feed.url, intervalMs: interval, leaseMs: 8 * interval });
  const a = mk('runtime-a');
  const b = mk('runtime-b');
  pollers.push(a, b);
  await Promise.all([a.start(), b.start()]);
  await waitUntil(() => a.isActive || b.isActive, 10_000, 'a lease holder');
  const from = Date.now();
  const pollsAtStart = [a.stats.polls, b.stats.polls];
  let bothActive = 0;
  while (Date.now() - from < 4_000) {
    if (a.isActive && b.isActive) bothActive++;
    await sleep(20);
  }
  const window = feed.requests.filter((r) => r.at >= from && r.at < from + 4_000);
  const gaps = window.slice(1).map((r, i) => r.at - window[i].at);
  console.log(`poller lease: ${window.length} requests in 4 s at a ${interval} ms interval; gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms; polls a=${a.stats.polls} b=${b.stats.polls}, claims a=${a.stats.claims} b=${b.stats.claims}, lost a=${a.stats.lostClaims} b=${b.stats.lostClaims}`);
  expect(bothActive).toBe(0);
  // One runtime polled in the window, the other not at all (two pollers would both count up and double the requests).
  const polled = [a.stats.polls - pollsAtStart[0], b.stats.polls - pollsAtStart[1]];
  expect(polled.filter((n) => n > 0)).toHaveLength(1);
  expect(window.length).toBeGreaterThanOrEqual(Math.floor(4_000 / interval / 2));
  expect(window.length).toBeLessThanOrEqual(Math.ceil(4_000 / interval / 0.9) + 1);

  const [holder, other] = a.isActive ? [a, b] : [b, a];
  const otherPolls = other.stats.polls;
  await holder.stop();
  await waitUntil(() => other.isActive && other.stats.polls > otherPolls, 10_000, 'the other runtime to take over');
  const n = feed.requests.length;
  await waitUntil(() => feed.requests.length >= n + 3, 10_000, 'polling to go on');
});

test("a runtime whose replica lags the holder's renewals does not claim the lease: it confirms the expiry with the server first", async () => {
  feed = await startFeed(products(3));
  const interval = 150;
  const mk = (name: string) =>
    productPoller({ serverUrl: fx.realmUrl, adminUser: User.adminUser(fx.adminToken, fx.server.url), directory: path.join(fx.dir, name), feedUrl: feed.url, intervalMs: interval });
  const a = mk('holder');
  pollers.push(a);
  await a.start();
  await waitUntil(() => a.isActive, 10_000, 'the first runtime to hold the lease');
  const b = mk('lagging');
  pollers.push(b);
  await b.start();
  const lease = () => (b as unknown as { pool: { get(p: string): Realm } }).pool.get('/catalog');
  // Cut the second runtime off: its copy of the lease stops at the renewal it has now.
  lease().syncSession!.pause();
  const seen = lease().objectForPrimaryKey<{ leaseUntil: Date }>('PollerLease', 'product-feed')!.leaseUntil.getTime();
  const aPolls = a.stats.polls;
  // The holder keeps renewing on the server well past the expiry the paused copy shows (lease: 3 intervals).
  await waitUntil(() => Date.now() > seen + 2 * interval && a.stats.polls >= aPolls + 8, 15_000, 'the paused copy to look expired for a while');
  expect(b.stats.claims).toBe(0);
  lease().syncSession!.resume();
  await lease().syncSession!.downloadAllServerChanges(10_000);
  const after = a.stats.polls;
  await waitUntil(() => a.stats.polls >= after + 4, 10_000, 'four more polls by the holder');
  expect({ claims: b.stats.claims, bActive: b.isActive, aActive: a.isActive, aLost: a.stats.lostClaims }).toEqual({ claims: 0, bActive: false, aActive: true, aLost: 0 });
});

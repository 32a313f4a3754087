import * as http from 'node:http';
import * as path from 'node:path';
import { demo } from '../../examples/fetcher';
import { Fetcher, fetchRequestSchema } from '../../src/patterns';
import type { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { Prng, testSeed } from '../helpers/prng';
import { killHard, sleep, spawnScript, waitUntil, type ChildRun } from './patterns-support';

const MAX_ATTEMPTS = 6;

/**
 * An HTTP API that fails at random (500s, answers slower than the fetcher's timeout) and honours
 * Idempotency-Key: work done for a key is recorded, and a repeat is answered from the record.
 */
function flakyApi(rng: Prng) {
  const calls = new Map<string, number>();
  const completions = new Map<string, number>();
  const answers = new Map<string, string>();
  let inFlight = 0;
  let replays = 0;
  const complete = (key: string) => {
    if (answers.has(key)) return answers.get(key)!;
    completions.set(key, (completions.get(key) ?? 0) + 1);
    const body = JSON.stringify({ key, at: calls.get(key) });
    answers.set(key, body);
    return body;
  };
  const server = http.createServer((req, res) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    calls.set(key, (calls.get(key) ?? 0) + 1);
    inFlight++;
    res.once('close', () => inFlight--);
    const [, kind] = (req.url ?? '').split('/');
    if (kind === 'fail') return void ((res.statusCode = 503), res.end('down'));
    if (kind === 'missing') return void ((res.statusCode = 404), res.end('no such thing'));
    if (answers.has(key)) {
      replays++;
      return void res.end(answers.get(key));
    }
    const r = rng.next();
    if (r < 0.2) return void setTimeout(() => ((res.statusCode = 500), res.end('oops')), rng.int(0, 30));
    // Slower than the fetcher's timeout: the work still completes here, the fetcher gives up on it.
    if (r < 0.32) return void setTimeout(() => res.end(complete(key)), 1_500);
    setTimeout(() => res.end(complete(key)), rng.int(5, 120));
  });
  return {
    calls,
    completions,
    answers,
    get inFlight() {
      return inFlight;
    },
    get replays() {
      return replays;
    },
    url: '',
    listen(): Promise<string> {
      return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

let fx: AdminFixture;
let child: ChildRun | null = null;
beforeEach(async () => {
  fx = await adminFixture();
});
afterEach(async () => {
  await killHard(child);
  child = null;
  await fx.dispose();
});

test('the example asks a local REST API for three rates: two answers, one 404 recorded as an error', async () => {
  const results = await demo();
  expect(results.map((r) => [r.id, r.status])).toEqual([
    ['rate-USD', 'done'],
    ['rate-NOK', 'done'],
    ['rate-XYZ', 'error'],
  ]);
  expect(JSON.parse(results[0].result!)).toEqual({ base: 'EUR', currency: 'USD', rate: 1.08 });
  expect(results[2].error).toMatch(/HTTP 404/);
});

test('flaky API, runtime SIGKILLed mid-call three times: every request ends final, each completed exactly once', async () => {
  const seed = testSeed('fetcher crash');
  const rng = new Prng(seed);
  const api = flakyApi(rng);
  const apiUrl = await api.listen();
  try {
    const realms = ['requests-a', 'requests-b'].map((n) => fx.open(fx.userPath(n), [fetchRequestSchema()]));
    const ids: { id: string; kind: 'echo' | 'fail' | 'missing'; realm: number }[] = [];
    for (let i = 0; i < 60; i++) ids.push({ id: `echo-${i}`, kind: 'echo', realm: i % 2 });
    for (let i = 0; i < 3; i++) ids.push({ id: `fail-${i}`, kind: 'fail', realm: i % 2 });
    for (let i = 0; i < 2; i++) ids.push({ id: `missing-${i}`, kind: 'missing', realm: i % 2 });
    for (const r of ids) {
      const realm = realms[r.realm];
      realm.write(() => realm.create('FetchRequest', { id: r.id, url: `${apiUrl}/${r.kind}/${r.id}` }));
    }
    await Promise.all(realms.map((r) => fx.upload(r)));

    const args = ['--server', fx.realmUrl, '--token', fx.adminToken, '--dir', path.join(fx.dir, 'fetcher'), '--path', '/requests-[ab]$',
      '--timeout', '600', '--attempts', String(MAX_ATTEMPTS), '--retry-ms', '40', '--lease-margin', '400', '--concurrency', '6'];
    const objects = () => realms.flatMap((r) => [...r.objects<any>('FetchRequest')]);
    const finished = () => objects().filter((o) => o.status === 'done' || o.status === 'error').length;
    let killedMidCall = 0;
    for (let k = 0; k < 3; k++) {
      child = await spawnScript('examples/fetcher/index.ts', args);
      await sleep(rng.int(150, 900));
      // On a slow machine the earlier lives may have finished everything: nothing left to kill mid-call.
      await waitUntil(() => api.inFlight > 0 || finished() === ids.length, 30_000, 'a call in flight');
      const midCall = api.inFlight > 0;
      await killHard(child);
      if (midCall) killedMidCall++;
    }
    expect(killedMidCall).toBeGreaterThan(0);
    const beforeLastStart = finished();
    child = await spawnScript('examples/fetcher/index.ts', args);
    await waitUntil(() => finished() === ids.length, 60_000, `every request final (${finished()}/${ids.length})`);
    console.log(`fetcher crash test: seed=${seed}, ${killedMidCall} kills mid-call, ${beforeLastStart}/${ids.length} final before the last start, ${[...api.calls.values()].reduce((a, b) => a + b, 0)} calls, ${api.replays} answered from the idempotency record`);

    for (const r of ids) {
      const o = objects().find((x) => x.id === r.id);
      const completions = api.completions.get(r.id) ?? 0;
      if (r.kind === 'fail') {
        expect([r.id, o.status, o.attempts, completions]).toEqual([r.id, 'error', MAX_ATTEMPTS, 0]);
        expect(o.error).toMatch(/HTTP 503/);
      } else if (r.kind === 'missing') {
        expect([r.id, o.status, completions]).toEqual([r.id, 'error', 0]);
        expect(o.attempts).toBeLessThanOrEqual(2); // one call; two if a kill hit between call and record
      } else if (o.status === 'done') {
        expect([r.id, completions, o.result]).toEqual([r.id, 1, api.answers.get(r.id)]);
      } else {
        // Unlucky on every attempt: an error only after all of them, never completed twice.
        expect([r.id, o.status, o.attempts]).toEqual([r.id, 'error', MAX_ATTEMPTS]);
        expect(completions).toBeLessThanOrEqual(1);
      }
    }
    expect(Math.max(...api.completions.values())).toBe(1);
    expect(objects().filter((o) => o.status === 'done').length).toBeGreaterThan(50);
  } finally {
    await killHard(child);
    await api.close();
  }
}, 120_000);

test("a runtime whose replica has not seen a lease extended over a back-off does not take the request over: it confirms the expiry first", async () => {
  const realmPath = fx.userPath('fetch-lag');
  // Another runtime (played by this test) holds the request, with a lease about to run out.
  const holder = fx.open(realmPath, [fetchRequestSchema()]);
  const firstLease = Date.now() + 400;
  holder.write(() => holder.create('FetchRequest', { id: 'r1', url: 'http://127.0.0.1:9/never', status: 'in-progress', owner: 'other-runtime#1', leaseUntil: new Date(firstLease), attempts: 1 }));
  await fx.upload(holder);
  const calls: string[] = [];
  const fetcher = new Fetcher({
    serverUrl: fx.realmUrl,
    adminUser: fx.admin,
    directory: path.join(fx.dir, 'lagging-fetcher'),
    path: `^${realmPath}$`,
    timeoutMs: 200,
    leaseMarginMs: 100,
    sweepIntervalMs: 50,
    call: async (request) => {
      calls.push(request.id);
      return 'called';
    },
  });
  try {
    await fetcher.start();
    const inside = fetcher as unknown as { pool: { get(p: string): Realm }; paths: Set<string> };
    const replica = () => inside.pool.get(realmPath);
    await waitUntil(() => inside.paths.has(realmPath) && !!replica().objectForPrimaryKey('FetchRequest', 'r1'), 15_000, 'the fetcher to see the request');
    // Cut the fetcher off; the holder backs off and extends its lease meanwhile.
    replica().syncSession!.pause();
    holder.write(() => (holder.objectForPrimaryKey<{ leaseUntil: Date }>('FetchRequest', 'r1')!.leaseUntil = new Date(Date.now() + 60_000)));
    await fx.upload(holder);
    // The fetcher's copy shows the first lease expired: its sweep takes the request up.
    await waitUntil(() => Date.now() > firstLease && fetcher.inFlight === 1, 15_000, 'the sweep to pick the request up');
    replica().syncSession!.resume();
    await waitUntil(() => fetcher.inFlight === 0, 15_000, 'the fetcher to settle the request');
    await holder.syncSession!.downloadAllServerChanges(15_000);
    const r = holder.objectForPrimaryKey<{ owner: string; status: string; attempts: number }>('FetchRequest', 'r1')!;
    expect({ calls, owner: r.owner, status: r.status, attempts: r.attempts }).toEqual({ calls: [], owner: 'other-runtime#1', status: 'in-progress', attempts: 1 });
  } finally {
    await fetcher.stop();
    holder.close();
  }
});

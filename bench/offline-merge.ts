import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalState } from '../src/changeset';
import { User } from '../src/client';
import { Realm } from '../src/realm';
import { startBenchServer } from './server-process';
import { flag, fmt, summarize } from './stats';

/**
 * Offline merge: a client that wrote `--changes` changesets offline over `--objects` objects
 * reconnects to a server that took the same number of changes to the same objects from another
 * client. Measures the time until both replicas converge, and meanwhile a third client's round
 * trips on another realm (a server that integrates in one long synchronous step stalls them).
 */
const schema = [{ name: 'Item', primaryKey: 'id', properties: { id: 'int', label: 'string', n: 'int' } }];

export async function main(argv: string[]): Promise<void> {
  const changes = flag(argv, 'changes', 10_000);
  const objects = flag(argv, 'objects', 1_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-offline-'));
  const server = await startBenchServer(path.join(dir, 'server'));
  console.log(`offline merge: ${changes} offline changes vs ${changes} server changes over ${objects} objects (load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  try {
    const url = (p: string) => `realm://127.0.0.1:${server.port}${p}`;
    const ua = await User.register(server.url, 'a', 'pw-a-123');
    const ub = await User.login(server.url, 'a', 'pw-a-123');
    const uc = await User.register(server.url, 'c', 'pw-c-123');
    const a = await Realm.open({ schema: schema as any, sync: { user: ua, url: url('/~/items') }, path: path.join(dir, 'a.db') });
    a.write(() => {
      for (let i = 0; i < objects; i++) a.create('Item', { id: i, label: 'start', n: 0 });
    });
    await a.syncSession!.uploadAllLocalChanges(120_000);
    const b = await Realm.open({ schema: schema as any, sync: { user: ub, url: url('/~/items') }, path: path.join(dir, 'b.db') });
    await b.syncSession!.downloadAllServerChanges(120_000);
    b.syncSession!.pause();
    let t = performance.now();
    for (let i = 0; i < changes; i++) b.write(() => (b.objectForPrimaryKey<any>('Item', i % objects).label = `b${i}`));
    const offlineWrite = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < changes; i++) a.write(() => (a.objectForPrimaryKey<any>('Item', (i * 7) % objects).n = i));
    await a.syncSession!.uploadAllLocalChanges(600_000);
    const serverWrite = performance.now() - t;

    // A bystander on another realm: round trips while the merge runs.
    const c = await Realm.open({ schema: schema as any, sync: { user: uc, url: url('/~/other') }, path: path.join(dir, 'c.db') });
    const rtt: number[] = [];
    let merging = true;
    const bystander = (async () => {
      let k = 0;
      while (merging) {
        const s = performance.now();
        c.write(() => c.create('Item', { id: k++, label: 'x', n: 0 }));
        await c.syncSession!.uploadAllLocalChanges(600_000);
        rtt.push(performance.now() - s);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const idle: number[] = [...rtt];
    t = performance.now();
    b.syncSession!.resume();
    await b.syncSession!.uploadAllLocalChanges(600_000);
    await b.syncSession!.downloadAllServerChanges(600_000);
    const bDone = performance.now() - t;
    await a.syncSession!.downloadAllServerChanges(600_000);
    const converge = performance.now() - t;
    merging = false;
    await bystander;
    const same = JSON.stringify(canonicalState((a as any)._replica)) === JSON.stringify(canonicalState((b as any)._replica));
    const r = summarize(rtt);
    console.log(`  offline writes ${fmt(offlineWrite / 1000, 2)} s, server-side writes+upload ${fmt(serverWrite / 1000, 2)} s`);
    console.log(`  reconnect → offline client converged ${fmt(bDone / 1000, 2)} s; both replicas ${fmt(converge / 1000, 2)} s; identical: ${same}`);
    console.log(`  bystander round trips during the merge: ${rtt.length}, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, max ${fmt(r.max, 1)} ms (idle before: ${idle.length})`);
    for (const realm of [a, b, c]) realm.close();
    for (const u of Object.values(User.all)) u.logout();
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

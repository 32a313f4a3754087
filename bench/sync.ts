import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeChangeset } from '../src/changeset';
import { User } from '../src/client';
import { Realm } from '../src/realm';
import { Server, readAdminToken, silentLogger } from '../src/server';
import { rawBroadcast } from './raw-ws';
import { startBenchServer } from './server-process';
import { cpuMs, flag, fmt, summarize } from './stats';

/**
 * One writer, N readers on one realm (each reader on its own connection, as separate devices
 * would be). Phase 1 measures throughput with a bounded window of unacknowledged changesets;
 * phase 2 paces the writer at a fixed rate and measures commit-to-reader latency. Both phases run
 * the same payloads through a bare `ws` relay in the same process as the baseline.
 *
 * By default the server runs in this process (everything shares one core's event loop);
 * `--server-process` runs it as a `tributary serve` child process, so server and clients use
 * separate cores. CPU time per delivered changeset is reported for this process and the server
 * child (it is steadier than rates on a shared machine).
 */
const schema = [{ name: 'Item', primaryKey: 'id', properties: { id: 'int', sentAt: 'double', body: 'string' } }];
const BODY = 'x'.repeat(64);

export async function main(argv: string[]): Promise<void> {
  const readers = flag(argv, 'readers', 10);
  const count = flag(argv, 'changesets', 3000);
  const windowSize = flag(argv, 'window', 32);
  const rate = flag(argv, 'rate', 500);
  const pacedCount = flag(argv, 'paced', 1500);
  const serverProcess = argv.includes('--server-process');
  console.log(
    `sync: 1 writer, ${readers} readers, ${count} changesets (window ${windowSize}); then ${pacedCount} at ${rate}/s; server ${serverProcess ? 'in a child process' : 'in this process'}`,
  );

  const payloads = Array.from({ length: Math.max(count, pacedCount) }, (_, i) =>
    encodeChangeset([{ op: 'Create', type: 'Item', id: i, values: { sentAt: 0, body: BODY } }]),
  );
  const rawCpuStart = cpuMs();
  const rawThroughput = await rawBroadcast(payloads.slice(0, count), readers, windowSize);
  const rawCpu = (cpuMs() - rawCpuStart) / (count * readers);
  const rawPaced = await rawBroadcast(payloads.slice(0, pacedCount), readers, 1, rate);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-bench-'));
  let server: { url: string; port: number; serverCpuMs(): number; stats(): { batches: number; jobs: number } | undefined; stop(): Promise<void> };
  if (serverProcess) {
    const child = await startBenchServer(path.join(dir, 'server'));
    server = { url: child.url, port: child.port, serverCpuMs: () => child.cpuMs(), stats: () => undefined, stop: () => child.stop() };
  } else {
    const inProcess = new Server({ dataPath: path.join(dir, 'server'), port: 0, address: '127.0.0.1', logger: silentLogger });
    await inProcess.start();
    server = { url: inProcess.url, port: inProcess.port, serverCpuMs: () => 0, stats: () => inProcess.stats, stop: () => inProcess.stop() };
  }
  try {
    // Every reader is a user of its own, so each has its own WebSocket (one user's sessions share
    // one): the writer's realm gets a read grant for everyone through the admin API.
    const writerUser = await User.register(server.url, 'bench', 'bench-password');
    const realmPath = `/${writerUser.identity}/bench`;
    const url = `realm://127.0.0.1:${server.port}${realmPath}`;
    const adminToken = readAdminToken(path.join(dir, 'server'));
    const grant = await fetch(`${server.url}/admin/permissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ path: realmPath, user: '*', accessLevel: 'read' }),
    });
    if (!grant.ok) throw new Error(`granting ${realmPath}: HTTP ${grant.status} ${await grant.text()}`);
    const writer = await Realm.open({ schema: schema as any, sync: { user: writerUser, url }, path: path.join(dir, 'writer.db') });
    const readerRealms: Realm[] = [];
    for (let r = 0; r < readers; r++) {
      const u = await User.register(server.url, `bench-reader-${r}`, 'bench-password');
      readerRealms.push(await Realm.open({ schema: schema as any, sync: { user: u, url }, path: path.join(dir, `reader-${r}.db`) }));
    }
    const sockets = new Set(Object.values(User.all).map((u) => u.identity)).size;
    console.log(`  ${readerRealms.length} readers and the writer: ${sockets} users, one WebSocket each`);

    let latencies: number[] = [];
    let delivered = 0;
    let onDelivered: (() => void) | undefined;
    for (const realm of readerRealms) {
      const replica = realm._replica;
      replica.addExtension({
        observer: {
          created(type, id) {
            if (type !== 'Item') return;
            const rec = replica.getObject('Item', id)!;
            latencies.push(performance.now() - (rec.values.sentAt as number));
            delivered++;
            onDelivered?.();
          },
        },
      });
    }

    const run = async (from: number, n: number, window: number, perSecond?: number) => {
      latencies = [];
      delivered = 0;
      const replica = writer._replica;
      const allDelivered = new Promise<void>((resolve) => (onDelivered = () => delivered === n * readers && resolve()));
      const cpuStart = cpuMs();
      const serverCpuStart = server.serverCpuMs();
      const statsStart = server.stats();
      const commitsStart = readerRealms.reduce((n, r) => n + r._replica.version, 0);
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        if (perSecond) {
          const due = start + (i * 1000) / perSecond;
          const wait = due - performance.now();
          // Behind schedule, still yield, as an app writing from a timer would.
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          else await new Promise((r) => setImmediate(r));
        }
        while (replica.lastClientVersion - replica.progress.acknowledged.clientVersion >= window) await new Promise((r) => setImmediate(r));
        writer.write(() => writer.create('Item', { id: from + i, sentAt: performance.now(), body: BODY }));
        if (!perSecond) await new Promise((r) => setImmediate(r));
      }
      await allDelivered;
      const seconds = (performance.now() - start) / 1000;
      const cpu = { clients: (cpuMs() - cpuStart) / delivered, server: (server.serverCpuMs() - serverCpuStart) / delivered };
      const statsEnd = server.stats();
      const commitBatches = statsStart && statsEnd ? statsEnd.batches - statsStart.batches : NaN;
      const readerCommits = (readerRealms.reduce((n, r) => n + r._replica.version, 0) - commitsStart) / readers;
      return { perSecond: delivered / seconds, cpu, commitBatches, readerCommits, ...summarize(latencies) };
    };

    const ours = await run(0, count, windowSize);
    const paced = await run(count, pacedCount, Number.MAX_SAFE_INTEGER, rate);

    console.log('');
    console.log('                              tributary      raw ws    ratio');
    console.log(`throughput (deliveries/s)  ${fmt(ours.perSecond, 0).padStart(11)} ${fmt(rawThroughput.perSecond, 0).padStart(11)}   ${fmt(ours.perSecond / rawThroughput.perSecond, 3)}`);
    console.log(`  round trip p50 (ms)      ${fmt(ours.p50, 2).padStart(11)} ${fmt(rawThroughput.p50, 2).padStart(11)}   ${fmt(ours.p50 / rawThroughput.p50, 2)}`);
    console.log(`  round trip p99 (ms)      ${fmt(ours.p99, 2).padStart(11)} ${fmt(rawThroughput.p99, 2).padStart(11)}   ${fmt(ours.p99 / rawThroughput.p99, 2)}`);
    console.log(`paced ${rate}/s p50 (ms)     ${fmt(paced.p50, 2).padStart(11)} ${fmt(rawPaced.p50, 2).padStart(11)}   ${fmt(paced.p50 / rawPaced.p50, 2)}`);
    console.log(`paced ${rate}/s p99 (ms)     ${fmt(paced.p99, 2).padStart(11)} ${fmt(rawPaced.p99, 2).padStart(11)}   ${fmt(paced.p99 / rawPaced.p99, 2)}`);
    console.log(`changesets/s delivered per reader: ${fmt(ours.perSecond / readers, 0)} (raw ${fmt(rawThroughput.perSecond / readers, 0)})`);
    const cpuLine = (label: string, c: { clients: number; server: number }) =>
      serverProcess ? `${label}: ${fmt(c.clients * 1000, 0)} µs in the client process + ${fmt(c.server * 1000, 0)} µs in the server process` : `${label}: ${fmt(c.clients * 1000, 0)} µs`;
    console.log(`${cpuLine('CPU per delivery, throughput phase', ours.cpu)} (raw relay ${fmt(rawCpu * 1000, 0)} µs)`);
    console.log(cpuLine('CPU per delivery, paced phase', paced.cpu));
    for (const [label, r, n] of [['throughput', ours, count], ['paced', paced, pacedCount]] as const) {
      const commits = Number.isFinite(r.commitBatches) ? `server commits ${r.commitBatches} (${fmt(n / r.commitBatches, 2)} changesets each), ` : '';
      console.log(`${label} phase: ${commits}reader replica commits ${fmt(r.readerCommits, 0)} per reader for ${n} changesets`);
    }

    writer.close();
    for (const r of readerRealms) r.close();
    for (const u of Object.values(User.all)) u.logout();
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

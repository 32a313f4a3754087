import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { encodeChangeset, type Instruction } from '../src/changeset';
import { User } from '../src/client';
import { Notifier, type ChangeEvent } from '../src/notifier';
import { decodeServerMessage, encodeClientMessage } from '../src/protocol/codec';
import { SYNC_SUBPROTOCOL, type ClientMessage, type ServerMessage } from '../src/protocol/messages';
import { Realm } from '../src/realm';
import { readAdminToken } from '../src/server';
import { startBenchServer } from './server-process';
import { cpuMs, flag, fmt, summarize } from './stats';

/**
 * The global notifier with many realms: a protocol-level writer (no local files) spreads
 * changesets over R realms; one notifier on one admin connection delivers them as change events
 * (a handler reads the inserted object). Reported per R: events/s with every changeset sent at
 * once (burst), then with the writer paced at `--rate`: change-to-handler latency p50/p99 (writer
 * send → handler), resident memory after the run, CPU per event.
 *
 * Baseline in the same run: the same changesets to the same realms over plain synced Realms of
 * the client library on one admin connection (per-DOWNLOAD integration, no holds, no undo log, no
 * diff, no handler dispatch), latency measured when the object is applied. The ratio is the cost
 * of the notifier's event semantics.
 *
 * Local copies go to a tmpfs when there is one (creating a SQLite file costs ~30-40 ms of fsyncs
 * on a VM disk, which would dominate the setup of 1,000 realms); `--disk` uses the OS temp dir.
 */
const ITEM: Instruction = {
  op: 'AddType',
  type: 'Item',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 'sentAt', type: 'double', optional: false },
  ],
};

class Writer {
  private waiters = new Map<number, { v: number; resolve: () => void }>();
  private idents = new Map<number, (m: ServerMessage) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = decodeServerMessage(new Uint8Array(data));
      if (!('session' in m)) return;
      if (m.type === 'IDENT' || m.type === 'ERROR') this.idents.get(m.session)?.(m);
      if (m.type === 'DOWNLOAD') {
        this.idents.get(m.session)?.(m);
        const w = this.waiters.get(m.session);
        if (w && m.uploadClientVersion >= w.v) {
          this.waiters.delete(m.session);
          w.resolve();
        }
      }
    });
  }
  static connect(url: string, token: string): Promise<Writer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, SYNC_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` } });
      ws.once('open', () => resolve(new Writer(ws)));
      ws.once('error', reject);
    });
  }
  send(m: ClientMessage): void {
    this.ws.send(encodeClientMessage(m));
  }
  private next(session: number, type: string): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.idents.set(session, (m) => {
        if (m.type === 'ERROR') reject(new Error(JSON.stringify(m)));
        if (m.type !== type) return;
        this.idents.delete(session);
        resolve(m);
      });
    });
  }
  async bind(session: number, realmPath: string): Promise<void> {
    const ident = this.next(session, 'IDENT');
    this.send({ type: 'BIND', session, path: realmPath, needIdent: true });
    const m = (await ident) as Extract<ServerMessage, { type: 'IDENT' }>;
    const first = this.next(session, 'DOWNLOAD');
    this.send({ type: 'IDENT', session, fileIdent: m.fileIdent, fileSalt: m.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
    await first;
  }
  upload(session: number, clientVersion: number, instructions: Instruction[], waitAck = false): Promise<void> {
    const acked = waitAck ? new Promise<void>((resolve) => this.waiters.set(session, { v: clientVersion, resolve })) : Promise.resolve();
    this.send({
      type: 'UPLOAD',
      session,
      progressClientVersion: clientVersion,
      progressServerVersion: 0,
      changesets: [{ clientVersion, lastIntegratedServerVersion: 0, originTimestamp: Date.now() * 1024 + clientVersion, data: encodeChangeset(instructions) }],
    });
    return acked;
  }
  close(): void {
    this.ws.close();
  }
}

interface Result {
  /** Burst: every changeset sent at once; events/s until the last is delivered. */
  burstPerSecond: number;
  events: number;
  seconds: number;
  latency: { p50: number; p99: number; max: number };
  rssMb: number;
  cpuPerEvent: number;
  setupSeconds: number;
}

async function phase(
  writer: Writer,
  paths: string[],
  versions: number[],
  count: number,
  rate: number,
  firstId: number,
  delivered: { n: number; latencies: number[]; done?: () => void },
): Promise<{ seconds: number; cpu: number }> {
  delivered.n = 0;
  delivered.latencies = [];
  const all = new Promise<void>((resolve) => (delivered.done = () => delivered.n >= count && resolve()));
  const cpuStart = cpuMs();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const r = i % paths.length;
    void writer.upload(r + 1, ++versions[r], [{ op: 'Create', type: 'Item', id: firstId + i, values: { sentAt: performance.now() } }]);
  }
  await all;
  return { seconds: (performance.now() - start) / 1000, cpu: (cpuMs() - cpuStart) / count };
}

async function runOne(realms: number, count: number, rate: number, tmp: string, baseline: boolean, maxOpenRealms?: number): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(tmp, 'trib-bench-notifier-'));
  const server = await startBenchServer(path.join(dir, 'server'), ['--max-sessions-per-connection', String(realms + 10)]);
  const admin = User.adminUser(readAdminToken(path.join(dir, 'server')), server.url);
  const writerUser = await User.register(server.url, 'writer', 'writer-password');
  const writer = await Writer.connect(`ws://127.0.0.1:${server.port}/sync`, writerUser.token);
  const paths = Array.from({ length: realms }, (_, i) => `/${writerUser.identity}/bench-${i}`);
  const versions = paths.map(() => 0);
  const setupStart = performance.now();
  for (let start = 0; start < realms; start += 200) {
    await Promise.all(
      paths.slice(start, start + 200).map(async (p, j) => {
        const session = start + j + 1;
        await writer.bind(session, p);
        await writer.upload(session, ++versions[session - 1], [ITEM], true);
      }),
    );
  }
  const delivered: { n: number; latencies: number[]; done?: () => void } = { n: 0, latencies: [] };
  const record = (sentAt: number) => {
    delivered.latencies.push(performance.now() - sentAt);
    delivered.n++;
    delivered.done?.();
  };
  let close: () => Promise<void>;
  if (baseline) {
    const opened: Realm[] = [];
    for (const p of paths) {
      const realm = new Realm({ sync: { user: admin, url: `realm://127.0.0.1:${server.port}${p}` }, path: path.join(dir, 'baseline', `${p.split('/').pop()}.db`) });
      const replica = realm._replica;
      replica.addExtension({
        observer: {
          created(type, id) {
            if (type === 'Item') record(replica.getObject('Item', id)!.values.sentAt as number);
          },
        },
      });
      opened.push(realm);
    }
    await Promise.all(opened.map((r) => r.syncSession!.downloadAllServerChanges()));
    close = async () => opened.forEach((r) => r.close());
  } else {
    const notifier = new Notifier({ serverUrl: `realm://127.0.0.1:${server.port}`, adminUser: admin, directory: path.join(dir, 'listener'), maxOpenRealms });
    await notifier.addListener('/bench-\\d+$', 'change', (e: ChangeEvent) => {
      const items = e.realm.objects<any>('Item');
      for (const i of e.changes.Item?.insertions ?? []) record(items[i].sentAt);
    });
    for (const p of paths) {
      while (notifier.localListenerRealms(`^${p}$`).length === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(paths.map((p) => notifier.localListenerRealms(`^${p}$`)[0].realm().syncSession!.downloadAllServerChanges()));
    close = () => notifier.close();
  }
  const setupSeconds = (performance.now() - setupStart) / 1000;
  // Warm-up: one changeset per realm (opens every copy once), then the measured phase.
  await phase(writer, paths, versions, realms, Math.max(rate, 1000), 1_000_000, delivered);
  const burst = await phase(writer, paths, versions, count, 1e9, 2_000_000, delivered);
  if (global.gc) global.gc();
  const measured = await phase(writer, paths, versions, count, rate, 0, delivered);
  const rssMb = process.memoryUsage().rss / 1024 / 1024;
  const result: Result = { burstPerSecond: count / burst.seconds, events: count, seconds: measured.seconds, latency: summarize(delivered.latencies), rssMb, cpuPerEvent: measured.cpu, setupSeconds };
  await close();
  writer.close();
  admin.logout();
  writerUser.logout();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

export async function main(argv: string[]): Promise<void> {
  const count = flag(argv, 'changesets', 4000);
  const rate = flag(argv, 'rate', 1000);
  const tmp = argv.includes('--disk') || !fs.existsSync('/dev/shm') ? os.tmpdir() : '/dev/shm';
  const sizes = argv.includes('--realms') ? [flag(argv, 'realms', 100)] : [100, 1000];
  const maxOpen = argv.includes('--max-open') ? flag(argv, 'max-open', 1024) : undefined;
  console.log(`notifier: ${count} changesets paced at ${rate}/s spread over R realms; local copies in ${tmp}; maxOpenRealms ${maxOpen ?? 'default (1024)'}; server in a child process`);
  for (const realms of sizes) {
    const raw = await runOne(realms, count, rate, tmp, true);
    const n = await runOne(realms, count, rate, tmp, false, maxOpen);
    const line = (name: string, r: Result) =>
      `  ${name.padEnd(9)} burst ${fmt(r.burstPerSecond, 0).padStart(6)} events/s | paced ${fmt(r.events / r.seconds, 0)} events/s, latency p50 ${fmt(r.latency.p50, 2)} ms  p99 ${fmt(r.latency.p99, 2)} ms  max ${fmt(r.latency.max, 1)} ms  rss ${fmt(r.rssMb, 0)} MB  cpu ${fmt(r.cpuPerEvent, 3)} ms/event  (setup ${fmt(r.setupSeconds, 1)} s)`;
    console.log(`R = ${realms}`);
    console.log(line('baseline', raw));
    console.log(line('notifier', n));
    console.log(
      `  ratio     burst events/s ${fmt(n.burstPerSecond / raw.burstPerSecond, 2)}x  p50 ${fmt(n.latency.p50 / raw.latency.p50, 2)}x  p99 ${fmt(n.latency.p99 / raw.latency.p99, 2)}x  cpu ${fmt(n.cpuPerEvent / raw.cpuPerEvent, 2)}x`,
    );
  }
}

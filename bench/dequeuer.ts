import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { AckPolicy, connect, nanos } from 'nats';
import { User } from '../src/client';
import { Dequeuer, JetStreamSource, RabbitMqSource, type MessageSource, type SourceMessage } from '../src/patterns';
import { Server, readAdminToken, silentLogger } from '../src/server';
import { startBenchServer } from './server-process';
import { flag, fmt } from './stats';

/**
 * Dequeuer throughput: messages/s from a broker into realms (batched transactions, ack after the
 * server's acknowledgement, a ProcessedBatch per realm per batch) next to raw consumption of the same
 * number of messages from the same broker through the same source adapter (receive + ack, no
 * writing), measured in the same run, for RabbitMQ and NATS JetStream.
 *
 *   npm run bench -- dequeuer [--messages 20000] [--batch 500] [--realms 4] [--server-process]
 *
 * The sync server runs in this process (sharing its thread with the dequeuer) unless
 * `--server-process` runs it as a `tributary serve` child, as in production.
 */
const Reading = { name: 'Reading', properties: { messageId: 'string', sensor: 'string', seq: 'int', value: 'double' } };
const AMQP_URL = process.env.TRIBUTARY_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const NATS_URL = process.env.TRIBUTARY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

interface Broker {
  name: string;
  /** Publishes `n` fresh messages and returns a source reading exactly those. */
  load(n: number): Promise<MessageSource>;
  dispose(): Promise<void>;
}

function payload(seq: number, realms: number): Buffer {
  return Buffer.from(JSON.stringify({ sensor: `s-${seq % realms}`, seq, value: seq / 10 }));
}

async function rabbit(realms: number): Promise<Broker> {
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const queues: string[] = [];
  return {
    name: 'RabbitMQ',
    async load(n) {
      const queue = `tributary-bench-${process.pid}-${queues.length}-${Date.now()}`;
      queues.push(queue);
      await channel.assertQueue(queue, { durable: false });
      for (let i = 0; i < n; i++) {
        channel.sendToQueue(queue, payload(i, realms), { messageId: `m-${i}` });
        if (i % 1000 === 999) await channel.waitForConfirms();
      }
      await channel.waitForConfirms();
      return new RabbitMqSource({ url: AMQP_URL, queue, prefetch: 4000 });
    },
    async dispose() {
      for (const q of queues) await channel.deleteQueue(q).catch(() => undefined);
      await connection.close();
    },
  };
}

async function nats(realms: number): Promise<Broker> {
  const nc = await connect({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const streams: string[] = [];
  return {
    name: 'NATS JetStream',
    async load(n) {
      const stream = `TRIB_BENCH_${process.pid}_${streams.length}_${Date.now()}`;
      streams.push(stream);
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit, ack_wait: nanos(60_000), max_ack_pending: 20_000 });
      for (let i = 0; i < n; i += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, k) => js.publish(`${stream}.readings`, payload(i + k, realms))));
      }
      return new JetStreamSource({ servers: NATS_URL, stream, consumer: 'bench', maxMessages: 4000 });
    },
    async dispose() {
      for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Receive and ack everything, writing nothing. */
async function raw(source: MessageSource, n: number, batch: number): Promise<number> {
  await source.start();
  const start = performance.now();
  let got = 0;
  while (got < n) {
    const messages = await source.receive(batch, 1000);
    for (const m of messages) await source.ack(m);
    got += messages.length;
  }
  const ms = performance.now() - start;
  await source.close();
  return ms;
}

async function intoRealms(source: MessageSource, n: number, batch: number, realms: number, serverUrl: string, admin: User, dir: string, prefix: string): Promise<number> {
  const dequeuer = new Dequeuer({
    serverUrl,
    adminUser: admin,
    directory: dir,
    source,
    schema: [Reading],
    batchSize: batch,
    map: (m: SourceMessage) => {
      const r = JSON.parse(Buffer.from(m.body).toString('utf8')) as { sensor: string; seq: number; value: number };
      // Realms of each broker's own: the second run must not first download what the first wrote.
      return { path: `/bench/${prefix}/${r.sensor}`, write: (realm) => realm.create('Reading', { messageId: m.id, sensor: r.sensor, seq: r.seq, value: r.value }) };
    },
  });
  // The first batch opens (and creates) the realms, inside the timing as before.
  await dequeuer.start();
  const start = performance.now();
  while (dequeuer.stats.applied < n) await new Promise((r) => setTimeout(r, 5));
  // Every batch acknowledged by the server and the broker.
  await dequeuer.stop();
  void realms;
  return performance.now() - start;
}

export async function main(argv: string[]): Promise<void> {
  const n = flag(argv, 'messages', 20_000);
  const batch = flag(argv, 'batch', 500);
  const realms = flag(argv, 'realms', 4);
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-dq-'));
  const child = argv.includes('--server-process');
  const serverData = child ? path.join(dataPath, 'server') : dataPath;
  const server = child ? await startBenchServer(serverData) : new Server({ dataPath, port: 0, logger: silentLogger });
  if (server instanceof Server) await server.start();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const admin = User.adminUser(readAdminToken(serverData), server.url);
  console.log(`${n} messages per run, batches of ${batch}, ${realms} target realms, ${child ? 'sync server in a child process' : 'in-process sync server'} (sqlite)`);
  console.log('broker           raw consume+ack      into realms (ack after server ack)   ratio');
  try {
    for (const make of [rabbit, nats]) {
      let broker: Broker;
      try {
        broker = await make(realms);
      } catch (e) {
        console.log(`${make === rabbit ? 'RabbitMQ' : 'NATS JetStream'}: unreachable, skipped (${(e as Error).message})`);
        continue;
      }
      try {
        const rawMs = await raw(await broker.load(n), n, batch);
        const realmMs = await intoRealms(await broker.load(n), n, batch, realms, serverUrl, admin, path.join(dataPath, `dq-${broker.name.replace(/\W/g, '')}`), broker.name.replace(/\W/g, ''));
        const rawRate = (n / rawMs) * 1000;
        const realmRate = (n / realmMs) * 1000;
        console.log(`${broker.name.padEnd(16)} ${fmt(rawRate, 0).padStart(8)} msg/s       ${fmt(realmRate, 0).padStart(8)} msg/s                       ${fmt(realmRate / rawRate, 3)}`);
      } finally {
        await broker.dispose();
      }
    }
  } finally {
    for (const u of Object.values(User.all)) u.logout();
    await server.stop();
    fs.rmSync(dataPath, { recursive: true, force: true });
  }
}

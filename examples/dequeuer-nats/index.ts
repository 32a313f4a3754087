/**
 * Dequeuer example: NATS JetStream → realms, through a durable pull consumer with explicit acks.
 * Sensor readings published on `<stream>.readings` are written into one realm per sensor
 * (`/telemetry/<sensor>`), each message exactly once.
 *
 *   node --import tsx examples/dequeuer-nats/index.ts            # demo: own server, own stream, 200 messages
 *   node --import tsx examples/dequeuer-nats/index.ts --server realm://127.0.0.1:9080 \
 *        --token <admin token> --stream READINGS --consumer realm-writer --dir ./dequeuer-state
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AckPolicy, connect, nanos } from 'nats';
import { User } from '../../src/client';
import { Dequeuer, JetStreamSource, type DequeueTarget, type SourceMessage } from '../../src/patterns';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';

export const Reading = { name: 'Reading', properties: { messageId: 'string', sensor: 'string', seq: 'int', value: 'double' } };

/** `{"sensor":"s-1","seq":7,"value":21.5}` → a `Reading` in `/telemetry/s-1` (no primary key: a duplicate would show). */
export function mapReading(message: SourceMessage): DequeueTarget {
  const r = JSON.parse(Buffer.from(message.body).toString('utf8')) as { sensor: string; seq: number; value: number };
  if (typeof r.sensor !== 'string' || !/^[a-z0-9-]+$/.test(r.sensor)) throw new Error(`bad sensor in message ${message.id}`);
  return { path: `/telemetry/${r.sensor}`, write: (realm) => realm.create('Reading', { messageId: message.id, sensor: r.sensor, seq: r.seq, value: r.value }) };
}

export interface ConsumerOptions {
  serverUrl: string;
  adminToken: string;
  natsUrl: string;
  stream: string;
  consumer: string;
  directory: string;
  batchSize?: number;
  maxAttempts?: number;
}

export async function startConsumer(o: ConsumerOptions): Promise<Dequeuer> {
  const adminUser = User.adminUser(o.adminToken, o.serverUrl.replace(/^realm/, 'http'));
  const dequeuer = new Dequeuer({
    serverUrl: o.serverUrl,
    adminUser,
    directory: o.directory,
    source: new JetStreamSource({ servers: o.natsUrl, stream: o.stream, consumer: o.consumer, maxMessages: 2000 }),
    schema: [Reading],
    map: mapReading,
    batchSize: o.batchSize ?? 500,
    maxAttempts: o.maxAttempts ?? 3,
    retry: { initialMs: 50, maxMs: 1000 },
    log: { error: (msg, f) => console.error(msg, JSON.stringify(f, errorFields)), warn: () => undefined },
  });
  await dequeuer.start();
  return dequeuer;
}

function errorFields(_k: string, v: unknown): unknown {
  return v instanceof Error ? `${v.name}: ${v.message}` : v;
}

/** Creates a stream `<name>` on subject `<name>.readings` and a durable explicit-ack pull consumer. */
export async function createStream(natsUrl: string, name: string, consumer: string, ackWaitMs = 30_000): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    await jsm.consumers.add(name, { durable_name: consumer, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ackWaitMs), max_ack_pending: 10_000 });
  } finally {
    await nc.close();
  }
}

export async function deleteStream(natsUrl: string, name: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    await (await nc.jetstreamManager()).streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Self-contained demo: a server, a stream, 200 readings from 4 sensors (one poison), consumed and counted. */
export async function demo(natsUrl = 'nats://127.0.0.1:4222'): Promise<{ perSensor: Record<string, number>; deadLetters: number }> {
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-dqn-demo-'));
  const server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const stream = `TRIBUTARY_DEMO_${process.pid}_${Date.now()}`;
  await createStream(natsUrl, stream, 'realm-writer');
  const nc = await connect({ servers: natsUrl });
  const js = nc.jetstream();
  const published = [];
  for (let seq = 0; seq < 200; seq++) published.push(js.publish(`${stream}.readings`, JSON.stringify({ sensor: `s-${seq % 4}`, seq, value: 20 + (seq % 7) })));
  published.push(js.publish(`${stream}.readings`, '{"sensor": "NOT VALID"}'));
  await Promise.all(published);
  const dequeuer = await startConsumer({ serverUrl, adminToken: readAdminToken(dataPath), natsUrl, stream, consumer: 'realm-writer', directory: path.join(dataPath, 'dequeuer') });
  const observer = User.adminUser(readAdminToken(dataPath), server.url);
  try {
    while (dequeuer.stats.applied + dequeuer.stats.deadLettered < 201) await new Promise((r) => setTimeout(r, 20));
    const perSensor: Record<string, number> = {};
    for (let s = 0; s < 4; s++) {
      const realm = await Realm.open({ schema: [Reading], sync: { user: observer, url: `${serverUrl}/telemetry/s-${s}` }, path: path.join(dataPath, `observer-${s}.db`) });
      perSensor[`s-${s}`] = realm.objects('Reading').length;
      realm.close();
    }
    const dl = await Realm.open({ sync: { user: observer, url: `${serverUrl}/dead-letters` }, path: path.join(dataPath, 'observer-dl.db') });
    const deadLetters = dl.objects('DeadLetter').length;
    dl.close();
    return { perSensor, deadLetters };
  } finally {
    await dequeuer.stop();
    await nc.close();
    await deleteStream(natsUrl, stream);
    for (const u of Object.values(User.all)) u.logout();
    await server.stop();
    fs.rmSync(dataPath, { recursive: true, force: true });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  const serverUrl = arg('server');
  if (!serverUrl) {
    demo(arg('nats')).then(
      (r) => {
        console.log('readings per realm:', r.perSensor, 'dead letters:', r.deadLetters);
        process.exit(0);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  } else {
    startConsumer({
      serverUrl,
      adminToken: arg('token') ?? process.env.ADMIN_TOKEN ?? '',
      natsUrl: arg('nats') ?? 'nats://127.0.0.1:4222',
      stream: arg('stream') ?? 'READINGS',
      consumer: arg('consumer') ?? 'realm-writer',
      directory: arg('dir') ?? './dequeuer-state',
      batchSize: arg('batch') ? Number(arg('batch')) : undefined,
    }).then(
      (dequeuer) => {
        console.log('ready');
        const report = setInterval(() => console.log(JSON.stringify(dequeuer.stats)), 500);
        const stop = () => {
          clearInterval(report);
          void dequeuer.stop().then(() => process.exit(0));
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  }
}

/**
 * Dequeuer example: RabbitMQ → realms. Sensor readings published to a queue are written into one
 * realm per sensor (`/telemetry/<sensor>`), each message exactly once.
 *
 *   node --import tsx examples/dequeuer-rabbitmq/index.ts            # demo: own server, own queue, 200 messages
 *   node --import tsx examples/dequeuer-rabbitmq/index.ts --server realm://127.0.0.1:9080 \
 *        --token <admin token> --queue readings --dir ./dequeuer-state  # consume until SIGTERM
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { User } from '../../src/client';
import { Dequeuer, RabbitMqSource, type DequeueTarget, type SourceMessage } from '../../src/patterns';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';

export const Reading = { name: 'Reading', properties: { messageId: 'string', sensor: 'string', seq: 'int', value: 'double' } };

/** `{"sensor":"s-1","seq":7,"value":21.5}` → a `Reading` in `/telemetry/s-1`. No primary key, so a message applied twice would show twice. */
export function mapReading(message: SourceMessage): DequeueTarget {
  const r = JSON.parse(Buffer.from(message.body).toString('utf8')) as { sensor: string; seq: number; value: number };
  if (typeof r.sensor !== 'string' || !/^[a-z0-9-]+$/.test(r.sensor)) throw new Error(`bad sensor in message ${message.id}`);
  return { path: `/telemetry/${r.sensor}`, write: (realm) => realm.create('Reading', { messageId: message.id, sensor: r.sensor, seq: r.seq, value: r.value }) };
}

export interface ConsumerOptions {
  serverUrl: string;
  adminToken: string;
  amqpUrl: string;
  queue: string;
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
    source: new RabbitMqSource({ url: o.amqpUrl, queue: o.queue, prefetch: 2000 }),
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

/** Self-contained demo: a server, a queue, 200 readings from 4 sensors (one poison), consumed and counted. */
export async function demo(amqpUrl = 'amqp://guest:guest@127.0.0.1:5672'): Promise<{ perSensor: Record<string, number>; deadLetters: number }> {
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-dq-demo-'));
  const server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const queue = `tributary-demo-${process.pid}-${Date.now()}`;
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: false, autoDelete: false });
  const readings = [];
  for (let seq = 0; seq < 200; seq++) readings.push({ sensor: `s-${seq % 4}`, seq, value: 20 + (seq % 7) });
  for (const r of readings) channel.sendToQueue(queue, Buffer.from(JSON.stringify(r)), { messageId: `reading-${r.seq}` });
  channel.sendToQueue(queue, Buffer.from('{"sensor": "NOT VALID"}'), { messageId: 'poison-1' });
  await channel.waitForConfirms();
  const dequeuer = await startConsumer({ serverUrl, adminToken: readAdminToken(dataPath), amqpUrl, queue, directory: path.join(dataPath, 'dequeuer') });
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
    await channel.deleteQueue(queue).catch(() => undefined);
    await connection.close();
    observer.logout();
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
    demo(arg('amqp')).then(
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
      amqpUrl: arg('amqp') ?? 'amqp://guest:guest@127.0.0.1:5672',
      queue: arg('queue') ?? 'readings',
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

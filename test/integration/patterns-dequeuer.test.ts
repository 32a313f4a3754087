import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { AckPolicy, connect, nanos, type NatsConnection } from 'nats';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';
import { demo as rabbitDemo } from '../../examples/dequeuer-rabbitmq';
import { demo as natsDemo } from '../../examples/dequeuer-nats';
import { Prng, testSeed } from '../helpers/prng';
import { NATS_URL, RABBITMQ_URL, killHard, reachable, sleep, spawnScript, waitUntil, type ChildRun } from './patterns-support';

const Reading = { name: 'Reading', properties: { messageId: 'string', sensor: 'string', seq: 'int', value: 'double' } };
const SENSORS = 4;
const TOTAL = 10_000;
const KILLS = 10;

interface Broker {
  /** Child-process arguments naming the queue / stream. */
  args: string[];
  publish(seqs: number[]): Promise<void>;
  /** Messages the broker still holds (ready or unacknowledged). */
  outstanding(): Promise<number>;
  dispose(): Promise<void>;
}

function body(seq: number): Buffer {
  return Buffer.from(JSON.stringify({ sensor: `s-${seq % SENSORS}`, seq, value: seq / 10 }));
}

async function rabbitBroker(): Promise<Broker> {
  const queue = `tributary-dq-test-${process.pid}-${Date.now()}`;
  const connection = await amqp.connect(RABBITMQ_URL);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: false });
  return {
    args: ['--amqp', RABBITMQ_URL, '--queue', queue],
    async publish(seqs) {
      for (const seq of seqs) channel.sendToQueue(queue, body(seq), { messageId: `m-${seq}` });
      await channel.waitForConfirms();
    },
    async outstanding() {
      // Unacknowledged messages go back to "ready" once their consumer is gone; call with no consumer.
      return (await channel.checkQueue(queue)).messageCount;
    },
    async dispose() {
      await channel.deleteQueue(queue).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

async function natsBroker(): Promise<Broker> {
  const stream = `TRIB_DQ_TEST_${process.pid}_${Date.now()}`;
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  // A short ack_wait so that what a killed consumer held comes back quickly.
  await jsm.consumers.add(stream, { durable_name: 'writer', ack_policy: AckPolicy.Explicit, ack_wait: nanos(2_000), max_ack_pending: 20_000 });
  const js = nc.jetstream();
  return {
    args: ['--nats', NATS_URL, '--stream', stream, '--consumer', 'writer'],
    async publish(seqs) {
      await Promise.all(seqs.map((seq) => js.publish(`${stream}.readings`, body(seq))));
    },
    async outstanding() {
      const info = await jsm.consumers.info(stream, 'writer');
      return info.num_pending + info.num_ack_pending;
    },
    async dispose() {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close().catch(() => undefined);
    },
  };
}

const sources = [
  { name: 'RabbitMQ', available: reachable(RABBITMQ_URL, 'RabbitMQ'), script: 'examples/dequeuer-rabbitmq/index.ts', broker: rabbitBroker, demo: () => rabbitDemo(RABBITMQ_URL) },
  { name: 'NATS JetStream', available: reachable(NATS_URL, 'NATS JetStream'), script: 'examples/dequeuer-nats/index.ts', broker: natsBroker, demo: () => natsDemo(NATS_URL) },
];

describe.each(sources)('dequeuer from $name', ({ name, available, script, broker: makeBroker, demo }) => {
  const maybe = available ? test : test.skip;

  maybe('the example routes messages to their realms and dead-letters a poison message', async () => {
    const r = await demo();
    expect(r.perSensor).toEqual({ 's-0': 50, 's-1': 50, 's-2': 50, 's-3': 50 });
    expect(r.deadLetters).toBe(1);
  });

  maybe(`${TOTAL} messages, ${KILLS} SIGKILLs of the consumer at random moments: every message lands exactly once`, async () => {
    const seed = testSeed(`dequeuer ${name}`);
    const rng = new Prng(seed);
    const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-dq-srv-'));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-dq-'));
    const server = new Server({ dataPath, port: 0, logger: silentLogger });
    await server.start();
    const serverUrl = `realm://127.0.0.1:${server.port}`;
    const token = readAdminToken(dataPath);
    const broker = await makeBroker();
    const observer = User.adminUser(token, server.url);
    const realms: Realm[] = [];
    let child: ChildRun | null = null;
    const started = Date.now();
    try {
      for (let s = 0; s < SENSORS; s++) {
        realms.push(new Realm({ schema: [Reading], sync: { user: observer, url: `${serverUrl}/telemetry/s-${s}` }, path: path.join(work, `observer-${s}.db`) }));
      }
      const landed = () => realms.reduce((n, r) => n + r.objects('Reading').length, 0);
      const args = ['--server', serverUrl, '--token', token, '--dir', path.join(work, 'consumer'), '--batch', '200', ...broker.args];

      // Everything is published up front and each life of the consumer is killed once the readings
      // have passed a random point of its share of the stream (progress, not time: a faster or
      // slower consumer is killed at the same places), so kills land mid-stream (fewer readings
      // than published); there are two spare lives and at least KILLS of the kills must land
      // mid-stream.
      await broker.publish(Array.from({ length: TOTAL }, (_, i) => i));
      const midStream: boolean[] = [];
      const killedAt: number[] = [];
      const lives = KILLS + 2;
      for (let k = 0; k < lives; k++) {
        child = await spawnScript(script, args);
        const target = Math.floor((TOTAL * (k + 0.25 + rng.int(0, 500) / 1000)) / (lives + 1));
        await waitUntil(() => landed() >= target, 60_000, `life ${k + 1} to bring the readings to ${target} (have ${landed()})`);
        await killHard(child);
        killedAt.push(landed());
        midStream.push(landed() < TOTAL);
      }
      // Run to the end; a graceful stop hands back what it holds unsettled (redeliveries still
      // buffered), so repeat until the broker holds nothing after a stop.
      for (let round = 0; ; round++) {
        child = await spawnScript(script, args);
        await waitUntil(async () => landed() >= TOTAL && (await broker.outstanding()) === 0, 90_000, `${TOTAL} readings (have ${landed()}) and an empty queue`);
        await sleep(300);
        child.proc.kill('SIGTERM');
        expect(await child.exited).toBe(0);
        child = null;
        if ((await broker.outstanding()) === 0) break;
        if (round === 5) throw new Error('the broker still holds messages after six graceful stops');
      }
      // Anything applied twice would still be arriving: give it a moment, then count exactly.
      await Promise.all(realms.map((r) => r.syncSession!.downloadAllServerChanges(20_000)));
      await sleep(300);

      const seen = new Map<number, number>();
      for (const r of realms) for (const o of r.objects<any>('Reading')) seen.set(o.seq, (seen.get(o.seq) ?? 0) + 1);
      const twice = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
      const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !seen.has(i));
      console.log(`${name}: seed=${seed}, readings landed when each kill happened: ${killedAt.join(', ')}; total ${Date.now() - started} ms`);
      expect({ twice: twice.slice(0, 10), missing: missing.slice(0, 10), total: landed() }).toEqual({ twice: [], missing: [], total: TOTAL });
      expect(midStream.filter(Boolean).length).toBeGreaterThanOrEqual(KILLS);
    } finally {
      await killHard(child);
      for (const r of realms) if (!r.isClosed) r.close();
      await broker.dispose();
      for (const u of Object.values(User.all)) u.logout();
      await server.stop();
      fs.rmSync(dataPath, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);
});

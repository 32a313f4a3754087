import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { User } from '../../src/client';
import { Dequeuer, ProcessedMessageSchema, RabbitMqSource } from '../../src/patterns';
import { ProcessedIndex } from '../../src/patterns/processed-index';
import { ProcessedBatchSchema } from '../../src/patterns/schemas';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';
import { Reading, mapReading } from '../../examples/dequeuer-rabbitmq';
import { RABBITMQ_URL, reachable, waitUntil } from './patterns-support';

const withRabbit = reachable(RABBITMQ_URL, 'RabbitMQ') ? test : test.skip;

describe('dequeuer duplicate check (ProcessedBatch and its local index)', () => {
  let dataPath: string;
  let server: Server;
  let serverUrl: string;
  let admin: User;
  let connection: amqp.ChannelModel | null = null;
  let channel: amqp.ConfirmChannel;
  const queues: string[] = [];
  const open: Realm[] = [];

  beforeAll(async () => {
    dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-dq-dedup-'));
    server = new Server({ dataPath, port: 0, logger: silentLogger });
    await server.start();
    serverUrl = `realm://127.0.0.1:${server.port}`;
    admin = User.adminUser(readAdminToken(dataPath), server.url);
  });
  afterAll(async () => {
    for (const r of open) if (!r.isClosed) r.close();
    if (connection) {
      for (const q of queues) await channel.deleteQueue(q).catch(() => undefined);
      await connection.close();
    }
    for (const u of Object.values(User.all)) u.logout();
    await server.stop();
    fs.rmSync(dataPath, { recursive: true, force: true });
  });

  function realm(name: string, file: string, schema: object[] = [Reading, ProcessedBatchSchema, ProcessedMessageSchema]): Realm {
    const r = new Realm({ schema: schema as never, sync: { user: admin, url: `${serverUrl}${name}` }, path: path.join(dataPath, file) });
    open.push(r);
    return r;
  }

  async function publish(seqs: number[]): Promise<string> {
    if (!connection) {
      connection = await amqp.connect(RABBITMQ_URL);
      channel = await connection.createConfirmChannel();
    }
    const queue = `tributary-dedup-test-${process.pid}-${queues.length}-${Date.now()}`;
    queues.push(queue);
    await channel.assertQueue(queue, { durable: false });
    for (const seq of seqs) channel.sendToQueue(queue, Buffer.from(JSON.stringify({ sensor: `s-${seq % 2}`, seq, value: seq })), { messageId: `m-${seq}` });
    await channel.waitForConfirms();
    return queue;
  }

  async function consume(prefix: string, queue: string, directory: string, expected: number, extra: { processedRetentionMs?: number } = {}): Promise<Dequeuer> {
    const dequeuer = new Dequeuer({
      serverUrl, adminUser: admin, directory: path.join(dataPath, directory),
      source: new RabbitMqSource({ url: RABBITMQ_URL, queue }),
      schema: [Reading],
      map: (m) => ({ ...mapReading(m), path: `${prefix}/${mapReading(m).path.split('/').pop()}` }),
      batchSize: 40,
      ...extra,
    });
    await dequeuer.start();
    await waitUntil(() => dequeuer.stats.applied + dequeuer.stats.duplicates >= expected, 30_000, `${expected} messages settled`);
    await dequeuer.stop();
    return dequeuer;
  }

  test('a batch recorded in one replica is found by another after its download, and forgotten after a prune there', async () => {
    const a = realm('/dedup/unit', 'unit-a.db');
    const b = realm('/dedup/unit', 'unit-b.db');
    const indexA = new ProcessedIndex(a);
    a.write(() => indexA.record('test', ['x-1', 'x-2'], new Date(1_000)));
    a.write(() => indexA.record('test', ['x-3'], new Date()));
    expect([indexA.has('x-1'), indexA.has('x-3'), indexA.has('x-4')]).toEqual([true, true, false]);
    expect(a.objects('ProcessedBatch').length).toBe(2);
    await a.syncSession!.uploadAllLocalChanges(10_000);
    const indexB = new ProcessedIndex(b);
    await b.syncSession!.downloadAllServerChanges(10_000);
    indexB.refreshIfStale();
    expect([indexB.has('x-1'), indexB.has('x-2'), indexB.has('x-3')]).toEqual([true, true, true]);

    expect(indexA.prune(new Date(2_000))).toBe(1);
    expect([indexA.has('x-1'), indexA.has('x-3')]).toEqual([false, true]);
    await a.syncSession!.uploadAllLocalChanges(10_000);
    await b.syncSession!.downloadAllServerChanges(10_000);
    indexB.refreshIfStale();
    expect([indexB.has('x-1'), indexB.has('x-2'), indexB.has('x-3')]).toEqual([false, false, true]);
  });

  test('a cancelled write leaves neither the batch nor its index rows', () => {
    const r = realm('/dedup/cancel', 'cancel.db');
    const index = new ProcessedIndex(r);
    expect(() =>
      r.write(() => {
        index.record('test', ['y-1'], new Date());
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(index.has('y-1')).toBe(false);
    expect(r.objects('ProcessedBatch').length).toBe(0);
  });

  test('ProcessedMessage rows of the earlier version still count', async () => {
    const r = realm('/dedup/legacy', 'legacy.db');
    r.write(() => r.create('ProcessedMessage', { id: 'old-1', source: 'rabbitmq:q', at: new Date() }));
    const index = new ProcessedIndex(r);
    expect([index.has('old-1'), index.has('old-2')]).toEqual([true, false]);
    expect(index.prune(new Date(Date.now() + 1_000))).toBe(1);
    expect(index.has('old-1')).toBe(false);
  });

  withRabbit('published again, the same messages reach a dequeuer with another directory and are all duplicates', async () => {
    const seqs = Array.from({ length: 200 }, (_, i) => i);
    const first = await consume('/dedup/again', await publish(seqs), 'dir-a', 200);
    expect(first.stats).toMatchObject({ applied: 200, duplicates: 0 });
    const second = await consume('/dedup/again', await publish([...seqs, 200]), 'dir-b', 201);
    expect(second.stats).toMatchObject({ applied: 1, duplicates: 200 });
    const counts = await Promise.all([0, 1].map(async (s) => {
      const r = realm(`/dedup/again/s-${s}`, `again-observer-${s}.db`, [Reading]);
      await r.syncSession!.downloadAllServerChanges(10_000);
      return r.objects('Reading').length;
    }));
    expect(counts).toEqual([101, 100]);
  });

  withRabbit('one ProcessedBatch per realm per batch, not one object per message', async () => {
    await consume('/dedup/count', await publish(Array.from({ length: 120 }, (_, i) => i)), 'dir-count', 120);
    const r = realm('/dedup/count/s-0', 'count-observer.db');
    await r.syncSession!.downloadAllServerChanges(10_000);
    const batches = r.objects<{ ids: string }>('ProcessedBatch');
    const ids = batches.flatMap((b) => JSON.parse(b.ids) as string[]);
    expect(ids.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `m-${i * 2}`).sort());
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(120 / 40) + 2);
    expect(r.objects('ProcessedMessage').length).toBe(0);
  });
});

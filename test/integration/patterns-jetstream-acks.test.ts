import { AckPolicy, connect, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { JetStreamSource, type JetStreamMessage } from '../../src/patterns';
import { NATS_URL, reachable, waitUntil } from './patterns-support';

// Skipped (like the other broker tests) when no NATS server with JetStream is reachable.
const maybe = reachable(NATS_URL, 'NATS JetStream') ? describe : describe.skip;

maybe('JetStreamSource.ackMany', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    jsm = await nc.jetstreamManager();
  });
  afterAll(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
  });

  async function streamWith(n: number): Promise<string> {
    const stream = `TRIB_ACKS_${process.pid}_${streams.length}_${Date.now()}`;
    streams.push(stream);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await jsm.consumers.add(stream, { durable_name: 'acks', ack_policy: AckPolicy.Explicit, ack_wait: nanos(60_000), max_ack_pending: 10_000 });
    const js = nc.jetstream();
    await Promise.all(Array.from({ length: n }, (_, i) => js.publish(`${stream}.m`, new TextEncoder().encode(String(i)))));
    return stream;
  }

  async function receiveAll(source: JetStreamSource, n: number): Promise<JetStreamMessage[]> {
    const out: JetStreamMessage[] = [];
    while (out.length < n) out.push(...(await source.receive(n - out.length, 5_000)));
    return out;
  }

  test('batches acknowledged out of order, one left unacknowledged: the consumer holds only that one', async () => {
    const stream = await streamWith(300);
    const source = new JetStreamSource({ servers: NATS_URL, stream, consumer: 'acks', maxMessages: 1000 });
    await source.start();
    const messages = await receiveAll(source, 300);
    const held = messages[120]!;
    source.ackMany(messages.slice(200));
    source.ackMany(messages.slice(0, 200).filter((m) => m !== held));
    // Every ack reached the server: only the held message is still pending.
    await waitUntil(async () => (await jsm.consumers.info(stream, 'acks')).num_ack_pending === 1, 10_000, 'the acks to land');
    const info = await jsm.consumers.info(stream, 'acks');
    expect(info.ack_floor.stream_seq).toBe(held.raw.info.streamSequence - 1);
    expect(info.delivered.stream_seq).toBe(300);
    // Handed back, it is the one message that comes again, marked redelivered.
    source.retry(held, 0);
    const [redelivered] = await source.receive(10, 5_000);
    expect(redelivered!.id).toBe(held.id);
    expect(redelivered!.redelivered).toBe(true);
    source.ackMany([redelivered!]);
    await waitUntil(async () => (await jsm.consumers.info(stream, 'acks')).num_ack_pending === 0, 10_000, 'the last ack to land');
    expect((await jsm.consumers.info(stream, 'acks')).ack_floor.stream_seq).toBe(300);
    await source.close();
  });
});

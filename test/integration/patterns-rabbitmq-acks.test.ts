import * as amqp from 'amqplib';
import { RabbitMqSource, type RabbitMqMessage } from '../../src/patterns';
import { RABBITMQ_URL, reachable } from './patterns-support';

const maybe = reachable(RABBITMQ_URL, 'RabbitMQ') ? describe : describe.skip;

maybe('RabbitMqSource.ackMany (cumulative acknowledgements)', () => {
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;
  const queues: string[] = [];

  beforeAll(async () => {
    connection = await amqp.connect(RABBITMQ_URL);
    channel = await connection.createConfirmChannel();
  });
  afterAll(async () => {
    for (const q of queues) await channel.deleteQueue(q).catch(() => undefined);
    await connection.close();
  });

  async function queueWith(n: number): Promise<string> {
    const queue = `tributary-acks-test-${process.pid}-${queues.length}-${Date.now()}`;
    queues.push(queue);
    await channel.assertQueue(queue, { durable: false });
    for (let i = 0; i < n; i++) channel.sendToQueue(queue, Buffer.from(String(i)), { messageId: `m-${i}` });
    await channel.waitForConfirms();
    return queue;
  }

  async function receiveAll(source: RabbitMqSource, n: number): Promise<RabbitMqMessage[]> {
    const out: RabbitMqMessage[] = [];
    while (out.length < n) out.push(...(await source.receive(n - out.length, 5_000)));
    return out;
  }

  test('batches settled out of order, with retries among them: the broker ends up holding nothing', async () => {
    const queue = await queueWith(400);
    const source = new RabbitMqSource({ url: RABBITMQ_URL, queue, prefetch: 1000 });
    await source.start();
    const messages = await receiveAll(source, 400);
    const batches = [messages.slice(100, 200), messages.slice(300, 400), messages.slice(0, 100), messages.slice(200, 300)];
    const retried = [messages[150]!, messages[5]!];
    for (const b of batches) source.ackMany(b.filter((m) => !retried.includes(m)));
    for (const m of retried) source.retry(m);
    const again = await receiveAll(source, 2);
    expect(again.map((m) => m.id).sort()).toEqual(['m-150', 'm-5']);
    expect(again.every((m) => m.redelivered)).toBe(true);
    source.ackMany(again);
    await source.close();
    // A wrong cumulative ack (a tag already settled) closes the channel, and unsettled ones come back.
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
  });

  test('retry(message, delayMs) requeues after the delay, not at once; a close during the delay requeues it straight away', async () => {
    const queue = await queueWith(3);
    const source = new RabbitMqSource({ url: RABBITMQ_URL, queue });
    await source.start();
    const [first, second, third] = await receiveAll(source, 3);
    const delayMs = 400;
    const retriedAt = performance.now();
    source.retry(first!, delayMs);
    source.ackMany([second!]);
    // Nothing comes back while the delay runs (a plain nack would be redelivered within a few ms).
    const early = await source.receive(1, delayMs / 2);
    expect(early).toEqual([]);
    const [again] = await receiveAll(source, 1);
    expect(again!.id).toBe('m-0');
    expect(again!.redelivered).toBe(true);
    expect(performance.now() - retriedAt).toBeGreaterThanOrEqual(delayMs - 5);
    source.ackMany([again!]);
    // Held for a long delay, then closed: the broker has it back at once, not after the delay.
    source.retry(third!, 60_000);
    await source.close();
    const check = await channel.checkQueue(queue);
    expect(check.messageCount).toBe(1);
    const back = await channel.get(queue, { noAck: true });
    expect(back && back.properties.messageId).toBe('m-2');
  });

  test('acknowledgements waiting behind an unsettled delivery are sent on close; only that one comes back', async () => {
    const queue = await queueWith(50);
    const source = new RabbitMqSource({ url: RABBITMQ_URL, queue });
    await source.start();
    const messages = await receiveAll(source, 50);
    source.ackMany(messages.slice(1));
    await source.close();
    const check = await channel.checkQueue(queue);
    expect(check.messageCount).toBe(1);
    const back = await channel.get(queue, { noAck: true });
    expect(back && back.properties.messageId).toBe('m-0');
  });
});

import { createHash } from 'node:crypto';
import type * as amqp from 'amqplib';
import { MessageBuffer, type MessageSource, type SourceMessage } from '../message-source';
import { TributaryError } from '../../errors';

export interface RabbitMqSourceOptions {
  /** `amqp://user:pass@host:5672/vhost` */
  url: string;
  queue: string;
  /** Unacknowledged messages the broker may have in flight to us (default 1000). */
  prefetch?: number;
  /**
   * Declared (durable) before consuming when given: the queue's arguments, e.g.
   * `{ 'x-dead-letter-exchange': 'dlx' }` so `reject` routes poison messages to the broker's DLQ.
   */
  assertQueue?: amqp.Options.AssertQueue | boolean;
}

export interface RabbitMqMessage extends SourceMessage {
  readonly raw: amqp.ConsumeMessage;
}

/**
 * RabbitMQ through amqplib: manual acknowledgement, bounded prefetch. When the process dies, the
 * broker requeues everything unacknowledged on the closed channel at once (marked `redelivered`).
 * Classic queues do not count deliveries; quorum queues do (`x-delivery-count`), and the dequeuer
 * counts attempts itself as well.
 *
 * Message ids: the publisher's `messageId` property; without one, a hash of the body (so two
 * identical bodies count as one message — set `messageId` when that matters).
 */
export class RabbitMqSource implements MessageSource<RabbitMqMessage> {
  readonly name: string;
  private connection: amqp.ChannelModel | null = null;
  private channel: amqp.Channel | null = null;
  private readonly buffer = new MessageBuffer<RabbitMqMessage>();
  private failure: Error | null = null;

  constructor(private readonly options: RabbitMqSourceOptions) {
    this.name = `rabbitmq:${options.queue}`;
  }

  async start(): Promise<void> {
    // Loaded on use, so the package entry does not pay for brokers nobody uses.
    const { connect } = await import('amqplib');
    const connection = await connect(this.options.url);
    this.connection = connection;
    connection.on('error', (e: Error) => (this.failure = e));
    const channel = await connection.createChannel();
    this.channel = channel;
    channel.on('error', (e: Error) => (this.failure = e));
    channel.on('close', () => {
      this.failure ??= new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', `${this.name}: channel closed`);
      this.buffer.close();
    });
    if (this.options.assertQueue) {
      await channel.assertQueue(this.options.queue, this.options.assertQueue === true ? { durable: true } : this.options.assertQueue);
    }
    await channel.prefetch(this.options.prefetch ?? 1000);
    await channel.consume(this.options.queue, (raw) => {
      if (raw) this.buffer.push(toMessage(raw));
      else {
        this.failure = new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', `${this.name}: the broker cancelled the consumer`);
        this.buffer.close();
      }
    }, { noAck: false });
  }

  async receive(max: number, waitMs: number, signal?: AbortSignal): Promise<RabbitMqMessage[]> {
    const items = await this.buffer.take(max, waitMs, signal);
    if (items.length === 0 && this.failure) throw this.failure;
    return items;
  }

  ack(message: RabbitMqMessage): void {
    this.channel!.ack(message.raw);
  }

  retry(message: RabbitMqMessage): void {
    this.channel!.nack(message.raw, false, true);
  }

  reject(message: RabbitMqMessage): void {
    this.channel!.nack(message.raw, false, false);
  }

  async close(): Promise<void> {
    this.buffer.close();
    const connection = this.connection;
    this.connection = null;
    this.channel = null;
    // Closing the channel requeues whatever we did not settle.
    if (connection) await connection.close().catch(() => undefined);
  }
}

function toMessage(raw: amqp.ConsumeMessage): RabbitMqMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.properties.headers ?? {})) if (v !== undefined && v !== null) headers[k] = String(v);
  const count = Number(headers['x-delivery-count'] ?? NaN);
  const id = typeof raw.properties.messageId === 'string' && raw.properties.messageId !== ''
    ? raw.properties.messageId
    : 'sha256:' + createHash('sha256').update(raw.content).digest('hex');
  return {
    id,
    body: raw.content,
    subject: raw.fields.routingKey,
    headers,
    deliveryCount: Number.isFinite(count) ? count + 1 : raw.fields.redelivered ? 2 : 1,
    redelivered: raw.fields.redelivered,
    raw,
  };
}

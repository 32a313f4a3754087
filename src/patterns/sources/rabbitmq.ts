import { createHash } from 'node:crypto';
import type * as amqp from 'amqplib';
import { MessageBuffer, type MessageSource, type SourceMessage } from '../message-source';
import { AckWindow } from './ack-window';
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
  private readonly window = new AckWindow();
  /** Retries waiting out their delay before they are requeued. */
  private readonly delayed = new Set<NodeJS.Timeout>();
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
      // The broker requeued every unsettled delivery, the delayed retries with them.
      for (const timer of this.delayed) clearTimeout(timer);
      this.delayed.clear();
      this.buffer.close();
    });
    if (this.options.assertQueue) {
      await channel.assertQueue(this.options.queue, this.options.assertQueue === true ? { durable: true } : this.options.assertQueue);
    }
    await channel.prefetch(this.options.prefetch ?? 1000);
    await channel.consume(this.options.queue, (raw) => {
      if (raw) {
        this.window.delivered(raw.fields.deliveryTag);
        this.buffer.push(toMessage(raw));
      }
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
    this.settled(message, 'settled');
  }

  /**
   * Acknowledges cumulatively (`basic.ack` with `multiple`): one frame up to the end of the
   * settled prefix of deliveries; those after a delivery still being worked on go with a later one.
   */
  ackMany(messages: readonly RabbitMqMessage[]): void {
    const channel = this.channel!;
    let upTo = 0;
    for (const m of messages) upTo = Math.max(upTo, this.window.settle(m.raw.fields.deliveryTag, 'acknowledge'));
    if (upTo > 0) channel.ack(tagged(upTo), true);
  }

  /**
   * Requeues the message after `delayMs`. RabbitMQ has no delayed requeue of its own (a plain
   * `nack` redelivers at once, so a dequeuer's back-off would be spent in milliseconds): the
   * delivery is held, unsettled, for the delay and then nacked with `requeue`. It keeps its
   * prefetch slot meanwhile; closing the source (or losing the channel) requeues it at once.
   */
  retry(message: RabbitMqMessage, delayMs = 0): void {
    if (!(delayMs > 0)) {
      this.requeue(message);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      this.requeue(message);
    }, delayMs);
    timer.unref();
    this.delayed.add(timer);
  }

  private requeue(message: RabbitMqMessage): void {
    const channel = this.channel;
    // Closed meanwhile: the channel's close requeued it.
    if (!channel) return;
    channel.nack(message.raw, false, true);
    this.settled(message, 'settled');
  }

  reject(message: RabbitMqMessage): void {
    this.channel!.nack(message.raw, false, false);
    this.settled(message, 'settled');
  }

  private settled(message: RabbitMqMessage, how: 'settled'): void {
    const upTo = this.window.settle(message.raw.fields.deliveryTag, how);
    if (upTo > 0) this.channel!.ack(tagged(upTo), true);
  }

  async close(): Promise<void> {
    this.buffer.close();
    // Retries still waiting out their delay are unsettled: the channel's close requeues them now.
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    // Acknowledged but waiting behind a delivery never settled (it is requeued by the close).
    const channel = this.channel;
    if (channel) for (const tag of this.window.takeUnsent()) channel.ack(tagged(tag));
    const connection = this.connection;
    this.connection = null;
    this.channel = null;
    // Closing the channel requeues whatever we did not settle. The channel first: its close goes
    // after the acknowledgements just queued on it, which a connection close could overtake.
    if (channel) await channel.close().catch(() => undefined);
    if (connection) await connection.close().catch(() => undefined);
  }
}

/** What amqplib's ack reads of a message: its delivery tag. */
function tagged(deliveryTag: number): amqp.Message {
  return { fields: { deliveryTag } } as amqp.Message;
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

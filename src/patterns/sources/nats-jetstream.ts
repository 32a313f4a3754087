import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { MessageBuffer, type MessageSource, type SourceMessage } from '../message-source';
import { TributaryError } from '../../errors';

export interface JetStreamSourceOptions {
  /** `nats://host:4222` (or a list). */
  servers: string | string[];
  stream: string;
  /** A durable pull consumer on `stream` with explicit acks (create it with `jsm.consumers.add`). */
  consumer: string;
  /** Messages buffered ahead of the dequeuer (default 1000); keep it ≤ the consumer's max_ack_pending. */
  maxMessages?: number;
}

export interface JetStreamMessage extends SourceMessage {
  readonly raw: JsMsg;
}

/**
 * NATS JetStream through nats.js: a durable pull consumer, explicit acks. A message not acked
 * within the consumer's `ack_wait` is redelivered (to us or to whoever consumes next), with its
 * delivery count. The stream sequence identifies a message for good: id `<stream>:<sequence>`.
 */
export class JetStreamSource implements MessageSource<JetStreamMessage> {
  readonly name: string;
  private nc: NatsConnection | null = null;
  private messages: ConsumerMessages | null = null;
  private readonly buffer = new MessageBuffer<JetStreamMessage>();
  private failure: Error | null = null;
  private pumping: Promise<void> | null = null;

  constructor(private readonly options: JetStreamSourceOptions) {
    this.name = `jetstream:${options.stream}/${options.consumer}`;
  }

  async start(): Promise<void> {
    // Loaded on use, so the package entry does not pay for brokers nobody uses.
    const { connect } = await import('nats');
    this.nc = await connect({ servers: this.options.servers });
    const consumer = await this.nc.jetstream().consumers.get(this.options.stream, this.options.consumer);
    this.messages = await consumer.consume({ max_messages: this.options.maxMessages ?? 1000 });
    const messages = this.messages;
    this.pumping = (async () => {
      try {
        for await (const m of messages) this.buffer.push(toMessage(m));
      } catch (e) {
        this.failure = e instanceof Error ? e : new TributaryError('CONNECTOR_SOURCE_UNAVAILABLE', String(e));
      } finally {
        this.buffer.close();
      }
    })();
  }

  async receive(max: number, waitMs: number, signal?: AbortSignal): Promise<JetStreamMessage[]> {
    const items = await this.buffer.take(max, waitMs, signal);
    if (items.length === 0 && this.failure) throw this.failure;
    return items;
  }

  ack(message: JetStreamMessage): void {
    message.raw.ack();
  }

  /**
   * Acknowledges each (the consumer's ack policy is the user's, and with `explicit` every message
   * needs its own ack), all in one go: nats.js sends what was queued in one turn as one write, where
   * an `await` between acks cost a socket write per message.
   */
  ackMany(messages: readonly JetStreamMessage[]): void {
    for (const m of messages) m.raw.ack();
  }

  retry(message: JetStreamMessage, delayMs: number): void {
    message.raw.nak(delayMs);
  }

  reject(message: JetStreamMessage): void {
    message.raw.term();
  }

  async close(): Promise<void> {
    this.buffer.close();
    // Hand back what we hold so it is redelivered without waiting for ack_wait.
    for (const m of this.buffer.drain()) m.raw.nak();
    const nc = this.nc;
    this.nc = null;
    if (this.messages) await this.messages.close().catch(() => undefined);
    await this.pumping?.catch(() => undefined);
    if (nc) await nc.drain().catch(() => nc.close());
  }
}

function toMessage(raw: JsMsg): JetStreamMessage {
  const headers: Record<string, string> = {};
  if (raw.headers) for (const [k, v] of raw.headers) headers[k] = v.join(', ');
  return {
    id: `${raw.info.stream}:${raw.info.streamSequence}`,
    body: raw.data,
    subject: raw.subject,
    headers,
    deliveryCount: raw.info.deliveryCount,
    redelivered: raw.redelivered,
    raw,
  };
}

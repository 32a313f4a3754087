/**
 * The contract between the dequeuer and a message broker. Kafka, SQS or Redis Streams plug in by
 * implementing it; RabbitMQ (`RabbitMqSource`) and NATS JetStream (`JetStreamSource`) ship.
 *
 * A source hands out messages it has received but not settled; the dequeuer settles every one
 * exactly once, and only after the realm write that carries it was acknowledged by the server
 * (so a kill -9 between the two redelivers the message, and the dequeuer recognises it by `id`).
 */
export interface SourceMessage {
  /**
   * Stable across redeliveries and unique within the source: RabbitMQ's `messageId` property (or
   * a hash of the body when the publisher set none), JetStream's `<stream>:<stream sequence>`.
   */
  readonly id: string;
  readonly body: Uint8Array;
  /** Routing key / subject. */
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on first delivery; from the broker when it counts (JetStream, quorum queues), else a lower bound. */
  readonly deliveryCount: number;
  /** The broker says this may have been delivered before (to this or another consumer). */
  readonly redelivered: boolean;
}

export interface MessageSource<M extends SourceMessage = SourceMessage> {
  /** For logs and dead letters: `rabbitmq:<queue>`, `jetstream:<stream>/<consumer>`. */
  readonly name: string;
  /** Connects and starts the flow of messages (bounded by the source's own prefetch). */
  start(): Promise<void>;
  /**
   * Up to `max` received messages: waits up to `waitMs` for the first one, then returns what is
   * buffered. An empty array on timeout or when `signal` aborts.
   */
  receive(max: number, waitMs: number, signal?: AbortSignal): Promise<M[]>;
  /** Done with it: the broker forgets the message. */
  ack(message: M): Promise<void> | void;
  /**
   * Optional: done with all of these. A source may acknowledge cumulatively where its broker can
   * (RabbitMQ's `multiple`), as long as nothing it was not given here or in an earlier `ack` is
   * covered; acknowledgements it holds back for that reason it sends later or on `close()`.
   * Without it the dequeuer calls `ack` for each.
   */
  ackMany?(messages: readonly M[]): Promise<void> | void;
  /** Not done: deliver it again later (after `delayMs` where the broker supports it). */
  retry(message: M, delayMs: number): Promise<void> | void;
  /** Give up on it: to the broker's dead-letter route when one is configured, else dropped. */
  reject(message: M): Promise<void> | void;
  /** Stops receiving; unsettled messages go back to the broker. */
  close(): Promise<void>;
}

/**
 * A FIFO of received messages with one waiting reader, shared by the push-style adapters
 * (amqplib's consume callback, nats.js's consume iterator).
 */
export class MessageBuffer<M> {
  private readonly items: M[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;

  push(item: M): void {
    this.items.push(item);
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  close(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  get length(): number {
    return this.items.length;
  }

  /** Removes and returns everything buffered (for returning it to the broker on close). */
  drain(): M[] {
    return this.items.splice(0);
  }

  async take(max: number, waitMs: number, signal?: AbortSignal): Promise<M[]> {
    if (this.items.length === 0 && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          if (this.waiter === done) this.waiter = null;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener('abort', done, { once: true });
        this.waiter = done;
      });
    }
    return this.items.splice(0, max);
  }
}

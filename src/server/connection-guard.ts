import type { Socket } from 'node:net';
import { TributaryError } from '../errors';
import type { Logger } from '../shared/logger';
import { FrameWatch } from './frame-watch';

export interface GuardOptions {
  /** A socket must complete its HTTP request or WebSocket upgrade within this (ms). */
  handshakeTimeoutMs: number;
  /** A message that stopped arriving part-way is given up after this (ms). */
  frameTimeoutMs: number;
  /** Sockets still in their handshake at once; past it the oldest is closed. */
  maxPendingHandshakes: number;
  /** Bytes of half-received messages over all connections; past it the largest is refused. */
  maxInflightBytes: number;
  /** The protocol's largest message. */
  maxMessageBytes: number;
}

/** What the guard asks of an upgraded connection it has to end. */
export interface Refusable {
  refuse(error: TributaryError): void;
}

interface Watched {
  socket: Socket;
  watch: FrameWatch;
  connection: Refusable | null;
}

/**
 * Keeps any one client — or many silent ones — from freezing the server or exhausting its memory
 * or file descriptors:
 *
 * - a socket that has not finished its handshake within `handshakeTimeoutMs` is closed, and at
 *   most `maxPendingHandshakes` wait at once (the oldest goes first), so idle TCP connections
 *   cannot use up the descriptors real clients need;
 * - every upgraded socket's bytes are watched at the frame level ({@link FrameWatch}): a message
 *   declared larger than the limit gets the documented LIMITS_EXCEEDED ERROR before the close,
 *   half-received messages are capped in total across connections, and one that stalls part-way
 *   for `frameTimeoutMs` ends its connection with TIMED_OUT.
 */
export class ConnectionGuard {
  private readonly pending = new Map<Socket, number>();
  private readonly watched = new Set<Watched>();
  private inflight = 0;
  /** Counts for tests and metrics. */
  readonly stats = { handshakeTimeouts: 0, pendingEvictions: 0, oversize: 0, memoryRefusals: 0, frameTimeouts: 0 };

  constructor(
    private readonly options: GuardOptions,
    private readonly log: Logger,
  ) {}

  /** A new TCP connection (before any HTTP). */
  accepted(socket: Socket): void {
    if (this.pending.size >= this.options.maxPendingHandshakes) {
      const oldest = this.pending.keys().next().value as Socket;
      this.pending.delete(oldest);
      this.stats.pendingEvictions++;
      oldest.destroy();
    }
    this.pending.set(socket, Date.now());
    socket.once('close', () => this.pending.delete(socket));
  }

  /** The socket carried a complete HTTP request: Node's keep-alive time-out governs it from now on. */
  requested(socket: Socket): void {
    this.pending.delete(socket);
  }

  /**
   * The socket is being upgraded: watch its frames from the first byte (`head` is what arrived with
   * the request). Call `bind` with the connection once it exists.
   */
  upgrading(socket: Socket, head: Buffer): { bind(connection: Refusable): void } {
    this.pending.delete(socket);
    const entry: Watched = { socket, watch: new FrameWatch(), connection: null };
    this.watched.add(entry);
    const onData = (chunk: Buffer) => this.received(entry, chunk);
    // Before ws's own listener, so a refusal goes out before ws has read the frame.
    socket.prependListener('data', onData);
    socket.once('close', () => {
      if (this.watched.delete(entry)) this.inflight -= entry.watch.inFlight;
      socket.off('data', onData);
    });
    if (head.length > 0) this.received(entry, head);
    return { bind: (connection) => (entry.connection = connection) };
  }

  /** Ends what has waited too long; call about once a second. */
  sweep(now = Date.now()): void {
    for (const [socket, since] of this.pending) {
      if (now - since <= this.options.handshakeTimeoutMs) break; // insertion order = age order
      this.pending.delete(socket);
      this.stats.handshakeTimeouts++;
      socket.destroy();
    }
    for (const entry of this.watched) {
      const last = entry.watch.lastProgress;
      if (last !== null && now - last > this.options.frameTimeoutMs) {
        this.stats.frameTimeouts++;
        this.end(entry, new TributaryError('TIMED_OUT', `a message stopped arriving part-way for more than ${Math.round(this.options.frameTimeoutMs / 1000)} s (frameTimeout)`));
      }
    }
  }

  private received(entry: Watched, chunk: Buffer): void {
    if (!this.watched.has(entry)) return; // refused; the socket is on its way out
    const before = entry.watch.inFlight;
    const over = entry.watch.push(chunk, Date.now(), this.options.maxMessageBytes);
    this.inflight += entry.watch.inFlight - before;
    if (over !== null) {
      this.stats.oversize++;
      this.end(entry, new TributaryError('LIMITS_EXCEEDED', `a message of ${over} bytes exceeds the limit of ${this.options.maxMessageBytes} bytes (maxMessageBytes)`));
      return;
    }
    if (this.inflight > this.options.maxInflightBytes) {
      let largest = entry;
      for (const w of this.watched) if (w.watch.inFlight > largest.watch.inFlight) largest = w;
      this.stats.memoryRefusals++;
      this.log.warn('half-received messages over maxInflightBytes; refusing the largest', { bytes: this.inflight, limit: this.options.maxInflightBytes });
      this.end(largest, new TributaryError('LIMITS_EXCEEDED', `the server is holding too many half-received messages (maxInflightBytes); send smaller messages or retry later`));
    }
  }

  /** ERROR (when the connection exists), close, stop reading, and cut the socket if it lingers. */
  private end(entry: Watched, error: TributaryError): void {
    if (!this.watched.has(entry)) return;
    this.watched.delete(entry);
    this.inflight -= entry.watch.inFlight;
    if (entry.connection) entry.connection.refuse(error);
    entry.socket.pause();
    setTimeout(() => entry.socket.destroy(), 2000).unref();
  }
}

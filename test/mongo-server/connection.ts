/**
 * One client socket: frames in, replies out, one request at a time (the driver never pipelines;
 * OP_MSG exhaust is the exception, below). Also the awaitable hello of the driver's streaming
 * monitor: a hello carrying the server's current topologyVersion and maxAwaitTimeMS is answered
 * after maxAwaitTimeMS (the topology of a single node never changes while it runs), and when the
 * request allowed exhaust the server keeps answering on its own every maxAwaitTimeMS, each reply
 * flagged moreToCome and responding to the previous one, until the connection closes.
 */
import type { Socket } from 'node:net';
import type { Document } from 'mongodb';
import { isNumeric, isPlainDocument, toNumber } from './bson-values';
import { Dispatcher, type ConnectionInfo } from './dispatcher';
import { FrameError, FrameReader } from './wire/frame-reader';
import {
  decodeRequest, encodeMsg, encodeReply, FLAG_EXHAUST_ALLOWED, FLAG_MORE_TO_COME, MessageError, type Request,
} from './wire/messages';
import type { ServerState } from './server-state';

let nextRequestId = 1;
function requestId(): number {
  nextRequestId = (nextRequestId % 0x7fffffff) + 1;
  return nextRequestId;
}

const HELLO_NAMES = new Set(['hello', 'isMaster', 'ismaster']);

export class ClientConnection {
  private readonly reader: FrameReader;
  private readonly abort = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  readonly info: ConnectionInfo;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly state: ServerState,
    private readonly dispatcher: Dispatcher,
    private readonly onClose: (connection: ClientConnection) => void,
  ) {
    this.reader = new FrameReader(state.options.maxMessageSizeBytes);
    this.info = { id, signal: this.abort.signal, appName: undefined };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  close(): void {
    if (!this.abort.signal.aborted) this.abort.abort();
    this.socket.destroy();
    this.onClose(this);
  }

  private receive(chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      if (error instanceof FrameError) return this.close();
      throw error;
    }
    for (const message of messages) {
      this.queue = this.queue.then(() => this.handle(message)).catch(() => this.close());
    }
  }

  private async handle(message: Buffer): Promise<void> {
    if (this.abort.signal.aborted) return;
    let request: Request;
    try {
      request = decodeRequest(message);
    } catch (error) {
      if (error instanceof MessageError) return this.close();
      throw error;
    }
    if (request.kind === 'unsupported') return this.close();
    if (request.kind === 'query') return this.handleQuery(request);
    const { command, flags, header } = request;
    this.noteClient(command);
    if (HELLO_NAMES.has(Object.keys(command)[0] ?? '')) return this.handleHello(command, header.requestId, (flags & FLAG_EXHAUST_ALLOWED) !== 0);
    const outcome = await this.dispatcher.dispatch(command, this.info);
    if ('closeConnection' in outcome) return this.close();
    if (flags & FLAG_MORE_TO_COME) return; // the client asked for no reply (w: 0)
    this.write(encodeMsg(outcome.reply, requestId(), header.requestId));
  }

  private async handleQuery(request: Extract<Request, { kind: 'query' }>): Promise<void> {
    const command = { ...request.command };
    const name = Object.keys(command)[0] ?? '';
    if (!HELLO_NAMES.has(name) || !request.collection.endsWith('.$cmd')) {
      const reply = {
        ok: 0,
        errmsg: `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
        code: 352,
        codeName: 'UnsupportedOpQueryCommand',
      };
      return this.write(encodeReply(reply, requestId(), request.header.requestId));
    }
    this.noteClient(command);
    command.$db = request.collection.slice(0, -'.$cmd'.length);
    const outcome = await this.dispatcher.dispatch(command, this.info);
    if ('closeConnection' in outcome) return this.close();
    this.write(encodeReply(outcome.reply, requestId(), request.header.requestId));
  }

  private async handleHello(command: Document, responseTo: number, exhaustAllowed: boolean): Promise<void> {
    const awaitMs = this.awaitTime(command);
    if (awaitMs === undefined) {
      const outcome = await this.dispatcher.dispatch(command, this.info);
      if ('closeConnection' in outcome) return this.close();
      return this.write(encodeMsg(outcome.reply, requestId(), responseTo));
    }
    let previous = responseTo;
    for (;;) {
      await this.sleep(awaitMs);
      if (this.abort.signal.aborted) return;
      const outcome = await this.dispatcher.dispatch(command, this.info);
      if ('closeConnection' in outcome) return this.close();
      const id = requestId();
      this.write(encodeMsg(outcome.reply, id, previous, exhaustAllowed));
      if (!exhaustAllowed) return;
      previous = id;
    }
  }

  /** How long an awaitable hello waits: its maxAwaitTimeMS, when it names this process's topology. */
  private awaitTime(command: Document): number | undefined {
    const tv = command.topologyVersion;
    if (!isPlainDocument(tv) || !isNumeric(command.maxAwaitTimeMS)) return undefined;
    const sameProcess = tv.processId !== undefined && String(tv.processId) === String(this.state.processId);
    return sameProcess ? toNumber(command.maxAwaitTimeMS) : undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private noteClient(command: Document): void {
    const client = command.client;
    if (this.info.appName === undefined && isPlainDocument(client) && isPlainDocument(client.application)) {
      const name = client.application.name;
      if (typeof name === 'string') this.info.appName = name;
    }
  }

  private write(buffer: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(buffer);
  }
}

/**
 * The listener and the handle tests hold. `stop()` closes the listener and every connection (the
 * driver sees network errors) but keeps the data, the oplog and the sessions' retryable-write
 * records; `start()` listens again on the same port as a new incarnation (new topologyVersion
 * processId, open cursors and transactions gone) — a mongod restart.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Document } from 'mongodb';
import { ClientConnection } from './connection';
import { Dispatcher } from './dispatcher';
import type { FailNextOptions } from './fail-points';
import { resolveOptions, type MongoTestServerOptions } from './options';
import { ServerState } from './server-state';
import { idKey } from './id-key';
import type { ClusterTime } from './cluster-clock';

/** How often expired transactions, idle cursors and sessions are swept. */
const SWEEP_INTERVAL_MS = 1000;

export interface MongoTestServer {
  /** A connection string for the driver: `replicaSet=<name>`, or `directConnection=true` for a standalone. */
  readonly url: string;
  /** The same server with `directConnection=true`. */
  readonly directUrl: string;
  readonly host: string;
  readonly port: number;
  /** The replica set name, or undefined for a standalone. */
  readonly replSetName: string | undefined;
  /** Whether the listener is up. */
  readonly running: boolean;
  /** Closes every connection and the listener; data is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port (after stop): a restarted server with the same data. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Closes every client connection (monitoring ones included) without stopping the listener. */
  dropConnections(): void;
  /** Makes the next `commandName` fail (like failCommand with `times: 1`). */
  failNext(commandName: string, options: FailNextOptions): void;
  /** The latest cluster time (seconds, increment). */
  clusterTime(): { t: number; i: number };
  /** A collection's documents as stored (tests' back door). */
  documents(db: string, coll: string): Document[];
  /** A document by `_id`, as stored. */
  document(db: string, coll: string, id: unknown): Document | undefined;
  /** Number of oplog entries currently kept. */
  oplogEntries(): number;
  /** Open connections (for tests of connection handling). */
  connectionCount(): number;
}

class TestServer implements MongoTestServer {
  private listener: Server | undefined;
  private readonly connections = new Set<ClientConnection>();
  private readonly dispatcher: Dispatcher;
  private sweeper: NodeJS.Timeout | undefined;
  private nextConnectionId = 1;
  port = 0;

  constructor(private readonly state: ServerState) {
    this.dispatcher = new Dispatcher(state);
  }

  get host(): string {
    return this.state.options.host;
  }

  get replSetName(): string | undefined {
    return this.state.isReplicaSet ? this.state.options.replSetName : undefined;
  }

  get url(): string {
    return this.replSetName === undefined ? this.directUrl : `mongodb://${this.address}/?replicaSet=${encodeURIComponent(this.replSetName)}`;
  }

  get directUrl(): string {
    return `mongodb://${this.address}/?directConnection=true`;
  }

  get running(): boolean {
    return this.listener !== undefined;
  }

  private get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.listener) return;
    this.state.beginIncarnation();
    const listener = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: this.host, port: this.port, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.listener = listener;
    this.port = (listener.address() as { port: number }).port;
    this.state.address = this.address;
    this.sweeper = setInterval(() => this.state.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    this.dropConnections();
    await closed;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dropConnections(): void {
    for (const connection of [...this.connections]) connection.close();
  }

  failNext(commandName: string, options: FailNextOptions): void {
    this.state.failPoints.queue(commandName, options);
  }

  clusterTime(): { t: number; i: number } {
    const time: ClusterTime = this.state.engine.clock.current;
    return { t: Number(time >> 32n), i: Number(time & 0xffffffffn) };
  }

  documents(db: string, coll: string): Document[] {
    const store = this.state.engine.catalog.get(db, coll);
    return store ? [...store.scan()].map(([, doc]) => doc) : [];
  }

  document(db: string, coll: string, id: unknown): Document | undefined {
    return this.state.engine.catalog.get(db, coll)?.get(idKey(id));
  }

  oplogEntries(): number {
    return this.state.engine.oplog.size;
  }

  connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    const connection = new ClientConnection(this.nextConnectionId++, socket, this.state, this.dispatcher, (c) => this.connections.delete(c));
    this.connections.add(connection);
  }
}

/**
 * Starts an in-memory MongoDB test server on a free loopback port.
 *
 * @example
 * const server = await startMongoTestServer();
 * const client = new MongoClient(server.url);
 * await client.db('app').collection('items').insertOne({ _id: 1 });
 * await client.close();
 * await server.stop();
 */
export async function startMongoTestServer(options?: MongoTestServerOptions): Promise<MongoTestServer> {
  const server = new TestServer(new ServerState(resolveOptions(options)));
  await server.start();
  return server;
}

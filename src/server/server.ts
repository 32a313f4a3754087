import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { WebSocketServer } from 'ws';
import { TributaryError } from '../errors';
import { DEFAULT_PROTOCOL_LIMITS } from '../protocol/codec';
import { SYNC_PATH, SYNC_SUBPROTOCOL } from '../protocol/messages';
import { startAccounts, type Accounts, type AccountsConfig } from './accounts-setup';
import { CommitQueue } from './commit-queue';
import { Connection } from './connection';
import { ConnectionGuard } from './connection-guard';
import { createRequestHandler } from './http';
import { loadOrCreateKeys } from './keys';
import { adminTokenFile } from '../shared/admin-token';
import { JsonLogger, type Logger } from '../shared/logger';
import { resolveOptions, type ServerOptions } from './options';
import { SqliteDriver, unwritable } from './storage/sqlite';
import type { StorageDriver } from './storage/types';
import { SyncService } from './sync-service';
import type { TokenClaims, TokenService } from './tokens';
import { packageVersion } from '../shared/package-version';

/**
 * Configuration of {@link Server}: any option of the table in options.ts (defaults apply to the
 * rest), plus injected dependencies.
 */
export interface ServerConfig extends Partial<ServerOptions>, AccountsConfig {
  /** Structured logger; defaults to JSON lines on stdout at `logLevel`. */
  logger?: Logger;
  /** Storage driver; defaults to SQLite in `dataPath`. A given driver is not closed by `stop()`. */
  storage?: StorageDriver;
}

/**
 * The sync server: HTTP (`/health`, `/auth`) and the sync WebSocket (`/sync`) on one port.
 *
 * @example
 * const server = new Server({ dataPath: './data', port: 0 });
 * await server.start();
 * console.log(`listening on ${server.url}`);
 * await server.stop();
 */
export class Server {
  readonly options: ServerOptions;
  readonly log: Logger;
  private readonly injectedStorage?: StorageDriver;
  private readonly accountsConfig: AccountsConfig;
  private accounts?: Accounts;
  private storage?: StorageDriver;
  private queue?: CommitQueue;
  private sync?: SyncService;
  private httpServer?: http.Server;
  private wss?: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private guard: ConnectionGuard | null = null;
  private guardTimer: NodeJS.Timeout | null = null;
  private pingTimer?: NodeJS.Timeout;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private boundPort = 0;

  constructor(config: ServerConfig = {}) {
    const { logger, storage, authProviders, jwt, mailer, ...options } = config;
    this.options = resolveOptions(options);
    this.accountsConfig = { authProviders, jwt, mailer };
    this.log = logger ?? new JsonLogger(this.options.logLevel as 'info');
    this.injectedStorage = storage;
  }

  /** The port the server listens on (the chosen one when configured with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** `http://host:port` of the running server. */
  get url(): string {
    const host = this.options.address === '0.0.0.0' || this.options.address === '::' ? '127.0.0.1' : this.options.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`;
  }

  /** Where the admin token is written. */
  get adminTokenPath(): string {
    return path.resolve(adminTokenFile(this.options.dataPath));
  }

  /**
   * Work counters (group commit batches; upload backpressure pauses of the open connections;
   * clients whose merge state is kept between uploads).
   */
  get stats(): { batches: number; jobs: number; largestBatch: number; queuedJobs: number; connections: number; readPauses: number; mergeStates: number } {
    let readPauses = 0;
    for (const c of this.connections) readPauses += c.readPauses;
    return {
      ...(this.queue?.stats ?? { batches: 0, jobs: 0, largestBatch: 0 }),
      queuedJobs: this.queue?.queuedJobs ?? 0,
      connections: this.connections.size,
      readPauses,
      mergeStates: this.sync?.mergeStates ?? 0,
    };
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new TributaryError('INVALID_STATE', `start() called on a server that is ${this.state}`);
    this.state = 'starting';
    try {
      await this.startInner();
      this.state = 'running';
    } catch (e) {
      this.state = 'running';
      await this.stop().catch(() => {});
      throw e;
    }
  }

  private async startInner(): Promise<void> {
    const o = this.options;
    // The database first: it takes the data directory's lock, so a second server stops here
    // before touching the keys, and an unwritable directory is reported as such.
    this.storage = this.injectedStorage ?? new SqliteDriver(o.dataPath, { historyCacheBytes: o.historyCacheBytes });
    let keys: ReturnType<typeof loadOrCreateKeys>;
    try {
      if (!fs.existsSync(o.dataPath)) fs.mkdirSync(o.dataPath, { recursive: true, mode: 0o700 });
      keys = loadOrCreateKeys(o.dataPath);
    } catch (e) {
      throw unwritable(o.dataPath, e);
    }
    this.queue = new CommitQueue(this.storage, this.log.child({ component: 'commit' }), o.groupCommitTurns);
    const sync = new SyncService(this.storage, this.queue, this.log.child({ component: 'sync' }), o.maxPathLength, o.uploadSliceMs);
    await sync.init();
    this.sync = sync;
    try {
      // Writes the admin token file (accounts-setup.ts): an unwritable directory is reported as such.
      this.accounts = await startAccounts({ options: o, config: this.accountsConfig, keys, storage: this.storage, queue: this.queue, sync, log: this.log });
    } catch (e) {
      throw e instanceof TributaryError ? e : unwritable(o.dataPath, e);
    }
    const tokens = this.accounts.tokens;
    // A revoked login ends its live connections now, not when their access token expires.
    this.accounts.onRevocation(() => void this.endRevokedConnections(tokens));

    const httpLog = this.log.child({ component: 'http' });
    const queue = this.queue;
    const handler = createRequestHandler(this.accounts.routes, { version: packageVersion(), maxBodyBytes: o.maxBodyBytes, storageHealth: () => queue.storageHealth() }, httpLog);
    const guard = new ConnectionGuard(
      {
        handshakeTimeoutMs: o.handshakeTimeout * 1000,
        frameTimeoutMs: o.frameTimeout * 1000,
        maxPendingHandshakes: o.maxPendingHandshakes,
        maxInflightBytes: o.maxInflightBytes,
        maxMessageBytes: o.maxMessageBytes,
      },
      this.log.child({ component: 'guard' }),
    );
    this.guard = guard;
    this.httpServer = http.createServer((req, res) => {
      guard.requested(req.socket);
      void handler(req, res);
    });
    this.httpServer.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      guard.accepted(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.httpServer.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });

    this.wss = new WebSocketServer({
      noServer: true,
      // ws applies the 1 KiB threshold only without context takeover; with takeover every frame,
      // however small, would go through an asynchronous deflate (one frame per event-loop turn).
      perMessageDeflate: { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true },
      // Headroom above the protocol limit, so a slightly oversized message gets a LIMITS_EXCEEDED
      // ERROR from the decoder instead of a bare close from ws.
      maxPayload: o.maxMessageBytes * 2,
      handleProtocols: (protocols) => (protocols.has(SYNC_SUBPROTOCOL) ? SYNC_SUBPROTOCOL : false),
    });
    const connLog = this.log.child({ component: 'sync' });
    const connectionOptions = {
      protocol: { ...DEFAULT_PROTOCOL_LIMITS, maxMessageBytes: o.maxMessageBytes, maxPathLength: o.maxPathLength },
      maxSessionsPerConnection: o.maxSessionsPerConnection,
      downloadBatchBytes: o.downloadBatchBytes,
      downloadBatchChangesets: o.downloadBatchChangesets,
      coalesceDownloadsMs: o.coalesceDownloadsMs,
      maxBufferedBytes: o.maxBufferedBytes,
      maxPendingUploadBytes: o.maxPendingUploadBytes,
      maxClockSkewMs: o.maxClockSkew * 1000,
      maxInstructionsPerChangeset: o.maxInstructionsPerChangeset,
      maxInstructionsPerUpload: o.maxInstructionsPerUpload,
    };
    let nextConnectionId = 1;
    // Kept apart from the upgrade's closure, so a connection's listeners do not hold its request.
    const opened = (claims: TokenClaims, ws: import('ws').WebSocket, watched: { bind(c: Connection): void }, remote: string | undefined) => {
      const id = nextConnectionId++;
      const log = connLog.child({ connection: id, identity: claims.sub });
      const conn = new Connection(ws, claims, sync, tokens, connectionOptions, log);
      watched.bind(conn);
      this.connections.add(conn);
      ws.on('close', () => this.connections.delete(conn));
      log.debug('connection opened', { remote });
    };
    this.httpServer.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const watched = guard.upgrading(socket, head);
      const remote = req.socket.remoteAddress;
      void this.upgrade(req, socket, head, tokens, (claims, ws) => opened(claims, ws, watched, remote));
    });

    await new Promise<void>((resolve, reject) => {
      const server = this.httpServer!;
      const onError = (e: Error) => reject(new TributaryError('CONFIG_INVALID', `cannot listen on ${o.address}:${o.port}: ${e.message}`, { cause: e }));
      server.once('error', onError);
      server.listen(o.port, o.address, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.httpServer.address() as AddressInfo).port;

    const interval = Math.max(1000, Math.min(30_000, (o.pingTimeout * 1000) / 4));
    this.pingTimer = setInterval(() => this.closeIdleConnections(), interval);
    this.pingTimer.unref();
    this.guardTimer = setInterval(() => guard.sweep(), 1000);
    this.guardTimer.unref();

    this.log.info('listening', {
      port: this.boundPort,
      address: o.address,
      url: this.url,
      syncPath: SYNC_PATH,
      dataPath: path.resolve(o.dataPath),
      adminTokenFile: this.adminTokenPath,
      storage: this.storage.kind,
      version: packageVersion(),
    });
  }

  private async endRevokedConnections(tokens: TokenService): Promise<void> {
    for (const conn of [...this.connections]) {
      try {
        if (await tokens.revoked(conn.tokenClaims)) conn.refuse(new TributaryError('BAD_AUTHENTICATION', 'the login of this connection was revoked (logout, password change or admin-token rotation); log in again'));
      } catch (e) {
        this.log.error('checking a connection for revocation failed', { error: e });
      }
    }
  }

  /** What the connection guard refused or timed out so far (tests, metrics). */
  get guardStats(): ConnectionGuard['stats'] | undefined {
    return this.guard?.stats;
  }

  private async upgrade(
    req: http.IncomingMessage,
    socket: Socket,
    head: Buffer,
    tokens: TokenService,
    onConnection: (claims: TokenClaims, ws: import('ws').WebSocket) => void,
  ): Promise<void> {
    const refuse = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ code, message });
      const reason = http.STATUS_CODES[status] ?? 'Error';
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else socket.destroy();
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== SYNC_PATH) return refuse(404, 'NOT_FOUND', `no WebSocket endpoint at ${url.pathname}; use ${SYNC_PATH}`);
      if (this.state !== 'running') return refuse(503, 'CONNECTION_CLOSED', 'the server is shutting down');
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(SYNC_SUBPROTOCOL)) {
        return refuse(400, 'WRONG_PROTOCOL_VERSION', `the WebSocket subprotocol must be ${SYNC_SUBPROTOCOL}`);
      }
      const header = String(req.headers.authorization ?? '');
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) return refuse(401, 'BAD_AUTHENTICATION', 'the upgrade request needs Authorization: Bearer <access token>');
      let claims: TokenClaims;
      try {
        claims = await tokens.verify(match[1]!, ['access', 'admin']);
      } catch (e) {
        const code = e instanceof TributaryError ? e.code : 'BAD_AUTHENTICATION';
        this.log.info('sync upgrade refused', { code, remote: req.socket.remoteAddress });
        return refuse(401, code, e instanceof TributaryError ? e.message : 'bad token');
      }
      if (socket.destroyed || this.state !== 'running') return;
      this.wss!.handleUpgrade(req, socket, head, (ws) => onConnection(claims, ws));
    } catch (e) {
      this.log.error('upgrade failed', { error: e });
      refuse(500, 'OTHER_ERROR', 'internal server error');
    }
  }

  private closeIdleConnections(): void {
    const deadline = Date.now() - this.options.pingTimeout * 1000;
    for (const c of this.connections) {
      if (c.lastActivity < deadline) {
        this.log.info('closing an idle connection (no PING within pingTimeout)');
        c.close(1001, 'ping timeout');
      }
    }
  }

  /** Closes every connection, lets queued commits finish, and closes storage. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping' || this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.guardTimer) clearInterval(this.guardTimer);
    this.accounts?.stop();
    for (const c of this.connections) c.close(1001, 'server shutting down');
    this.connections.clear();
    const closed = this.httpServer ? new Promise<void>((resolve) => this.httpServer!.close(() => resolve())) : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    this.wss?.close();
    await closed;
    await this.queue?.close();
    if (this.storage && this.storage !== this.injectedStorage) await this.storage.close();
    this.state = 'stopped';
    this.log.info('stopped');
  }
}

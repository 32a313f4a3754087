import WebSocket from 'ws';
import { ERROR_CODES, TributaryError, errorCodeForProtocol, type ErrorCode } from '../errors';
import { SYNC_SUBPROTOCOL, decodeServerMessage, encodeClientMessage, type ClientMessage, type ErrorMessage, type ServerMessage } from '../protocol';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from '../shared/backoff';
import { syncLog } from './sync-log';

export interface ConnectionOptions {
  backoff: BackoffOptions;
  /** PING interval (default 60 s; the server requires one at least every 10 minutes). */
  pingIntervalMs: number;
  /** Close and reconnect when a PONG takes longer than this (default 120 s). */
  pongTimeoutMs: number;
  /** WebSocket handshake time limit (default 30 s). */
  connectTimeoutMs: number;
}

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  backoff: DEFAULT_BACKOFF,
  pingIntervalMs: 60_000,
  pongTimeoutMs: 120_000,
  connectTimeoutMs: 30_000,
};

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

/** What a connection needs from its user: the current token and a way to renew it. */
export interface TokenSource {
  readonly token: string;
  /** True when the token is expired or about to expire. */
  readonly tokenNeedsRefresh: boolean;
  refreshAccessToken(): Promise<string>;
  onTokenChange(listener: (token: string) => void): () => void;
}

/** A session as its connection drives it. */
export interface ConnectionClient {
  /** The socket is open: bind (the connection allocated `sessionId`). */
  connected(): void;
  /** The socket closed; the session is unbound. */
  disconnected(): void;
  message(message: Exclude<ServerMessage, { type: 'PONG' }>): void;
  /** A connection-level error that will not be retried (fatal). */
  failed(error: TributaryError): void;
}

/**
 * One WebSocket to one server for one user, shared by every session of that user on that server
 * (PROTOCOL.md §1). Reconnects with exponential back-off and full jitter while sessions remain,
 * pings, renews the token on a 401 at upgrade and sends REFRESH when the token changes.
 */
export class Connection {
  private ws: WebSocket | null = null;
  private state_: ConnectionState = 'disconnected';
  private readonly sessions = new Map<number, ConnectionClient>();
  private readonly clients = new Set<ConnectionClient>();
  private nextSessionId = 1;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;
  private lastRtt = 0;
  private closed = false;
  private unauthorizedStreak = 0;
  private readonly unsubscribeToken: () => void;
  private readonly options: ConnectionOptions;
  private readonly stateListeners = new Set<(state: ConnectionState, previous: ConnectionState) => void>();
  /** Observers for tests and metrics. */
  readonly stats = { connects: 0, disconnects: 0 };

  constructor(
    readonly url: string,
    private readonly user: TokenSource,
    options: Partial<ConnectionOptions> = {},
    private readonly onEmpty?: (c: Connection) => void,
  ) {
    this.options = { ...DEFAULT_CONNECTION_OPTIONS, ...options };
    this.backoff = new Backoff(this.options.backoff);
    this.unsubscribeToken = user.onTokenChange((token) => {
      if (this.state_ === 'connected') this.send({ type: 'REFRESH', token });
    });
  }

  get state(): ConnectionState {
    return this.state_;
  }

  /** Registers a session; it is told `connected()` whenever the socket is (or becomes) open. */
  attach(client: ConnectionClient): void {
    if (this.closed) throw new TributaryError('REALM_CLOSED', 'the connection was closed');
    this.clients.add(client);
    if (this.state_ === 'connected') client.connected();
    else if (this.state_ === 'disconnected' && !this.reconnectTimer) this.connect();
  }

  /** Unregisters a session (after it unbound); closes the socket when none remain. */
  detach(client: ConnectionClient): void {
    this.clients.delete(client);
    for (const [id, c] of this.sessions) if (c === client) this.sessions.delete(id);
    if (this.clients.size === 0) {
      this.shutdown();
      this.onEmpty?.(this);
    }
  }

  /** A fresh, non-zero session id for `client`, unique on this connection. */
  allocateSessionId(client: ConnectionClient): number {
    const id = this.nextSessionId++;
    this.sessions.set(id, client);
    return id;
  }

  releaseSessionId(id: number): void {
    this.sessions.delete(id);
  }

  send(message: ClientMessage): boolean {
    if (this.state_ !== 'connected' || !this.ws) return false;
    this.ws.send(encodeClientMessage(message));
    return true;
  }

  /** Closes the socket now (tests: simulate a network drop); reconnects as usual. */
  dropConnection(): void {
    this.ws?.terminate();
  }

  /** Closes for good. */
  close(): void {
    this.shutdown();
    this.clients.clear();
    this.closed = true;
    this.unsubscribeToken();
  }

  private shutdown(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    const wasConnected = this.state_ === 'connected';
    this.setState('disconnected');
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.close();
      if (ws.readyState !== WebSocket.CLOSED) setTimeout(() => ws.terminate(), 1000).unref();
    }
    this.sessions.clear();
    if (wasConnected) for (const c of [...this.clients]) c.disconnected();
  }

  private async connect(): Promise<void> {
    if (this.closed || this.clients.size === 0 || this.ws) return;
    this.setState('connecting');
    syncLog('debug', () => `connecting to ${this.url}`);
    if (this.user.tokenNeedsRefresh) {
      try {
        await this.user.refreshAccessToken();
      } catch {
        // try with the token we have; a 401 brings us back here with back-off
      }
      if (this.closed || this.clients.size === 0 || this.state_ !== 'connecting') return;
    }
    const ws = new WebSocket(this.url, [SYNC_SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${this.user.token}` },
      handshakeTimeout: this.options.connectTimeoutMs,
      perMessageDeflate: false,
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    let unauthorized = false;
    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      unauthorized = status === 401;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body.length < 4096 ? (body += d) : undefined));
      res.on('end', () => {
        req.destroy();
        // A refusal no retry can change (wrong URL, wrong protocol, forbidden) ends it for the
        // sessions now, with the server's code; anything else (401, 5xx) is retried.
        if (status === 400 || status === 403 || status === 404) return this.refused(ws, status, body);
        this.lastError = `HTTP ${status}${body ? ` ${body.slice(0, 200)}` : ''}`;
        this.lost(ws, unauthorized);
      });
      res.on('error', () => this.lost(ws, unauthorized));
    });
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.lastError = null;
      this.setState('connected');
      syncLog('info', () => `connected to ${this.url}`);
      this.stats.connects++;
      this.unauthorizedStreak = 0;
      this.startPing();
      for (const c of [...this.clients]) c.connected();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ws !== ws) return;
      // A server that speaks garbage gets the same treatment as a dropped socket: reconnect with back-off.
      if (!isBinary) return this.lost(ws, false);
      let message: ServerMessage;
      try {
        message = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch {
        return this.lost(ws, false);
      }
      this.dispatch(message);
    });
    ws.on('error', (e: Error) => {
      // 'close' follows; the reconnect is scheduled there
      this.lastError = (e as NodeJS.ErrnoException).code ?? e.message;
    });
    ws.on('close', () => this.lost(ws, unauthorized));
  }

  private dispatch(message: ServerMessage): void {
    if (message.type === 'PONG') {
      this.lastRtt = Math.max(0, Date.now() - message.timestamp);
      if (this.pongTimer) clearTimeout(this.pongTimer);
      this.pongTimer = null;
      return;
    }
    if (message.type === 'ERROR' && message.session === 0) return this.connectionError(message);
    this.backoff.reset(); // the server talks to us: the connection works
    const client = this.sessions.get(message.session);
    if (!client) return; // a retired session (UNBOUND after UNBIND, or late messages)
    client.message(message);
  }

  private connectionError(message: ErrorMessage): void {
    const code: ErrorCode = errorCodeForProtocol(message.code) ?? 'OTHER_ERROR';
    const error = new TributaryError(code, `server closed the connection: ${message.message} (${message.code})`);
    if (message.action === 'fatal' && !message.tryAgain) {
      this.failAll(error);
      return;
    }
    const ws = this.ws;
    if (ws) this.lost(ws, false, message.backoffMs);
  }

  /** What the last connection attempt failed with (for messages such as Realm.open's time-out). */
  lastError: string | null = null;

  /** The server refused the upgrade for good: every session fails with the server's code. */
  private refused(ws: WebSocket, status: number, body: string): void {
    if (this.ws !== ws) return;
    let code: ErrorCode = status === 404 ? 'NOT_FOUND' : status === 403 ? 'PERMISSION_DENIED' : 'WRONG_PROTOCOL_VERSION';
    let message = `the server refused the sync connection (HTTP ${status})`;
    try {
      const parsed = JSON.parse(body) as { code?: string; message?: string };
      if (parsed.code && parsed.code in ERROR_CODES) code = parsed.code as ErrorCode;
      if (parsed.message) message = `${message}: ${parsed.message}`;
    } catch {
      // not JSON: keep the status's meaning
    }
    this.failAll(new TributaryError(code, `${message} (${this.url})`));
  }

  /** Stops for good and fails every client with `error` (they report it; nothing retries). */
  private failAll(error: TributaryError): void {
    const clients = [...this.clients];
    this.shutdown();
    this.clients.clear();
    for (const c of clients) c.failed(error);
  }

  /** The socket `ws` is gone (or must go): tell the sessions and schedule a reconnect. */
  private lost(ws: WebSocket, unauthorized: boolean, floorMs = 0): void {
    if (this.ws !== ws) return;
    this.ws = null;
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    const wasConnected = this.state_ === 'connected';
    this.setState('disconnected');
    this.stopPing();
    this.sessions.clear();
    syncLog(unauthorized ? 'warn' : 'info', () => `connection to ${this.url} ${wasConnected ? 'lost' : 'failed'}${unauthorized ? ' (401: renewing the token)' : ''}`);
    if (wasConnected) {
      this.stats.disconnects++;
      for (const c of [...this.clients]) c.disconnected();
    }
    if (this.closed || this.clients.size === 0) return;
    if (unauthorized) {
      // An expired token: renew it and try again at once. Refused again with a token just renewed
      // (or with an admin token, which cannot be renewed), the token is bad: that is final.
      this.unauthorizedStreak++;
      if (this.unauthorizedStreak > 2) {
        this.failAll(new TributaryError('BAD_AUTHENTICATION', `the server at ${this.url} refused the token (HTTP 401) even after renewing it; log in again`));
        return;
      }
      this.user.refreshAccessToken().then(
        () => this.schedule(this.unauthorizedStreak > 1 ? this.backoff.next(floorMs) : 0),
        (e: unknown) => {
          if (e instanceof TributaryError && e.code === 'AUTH_FAILED') this.failAll(new TributaryError('BAD_AUTHENTICATION', `the token cannot be renewed: ${e.message}`, { cause: e }));
          else this.schedule(this.backoff.next(floorMs));
        },
      );
      return;
    }
    this.schedule(this.backoff.next(floorMs));
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.clients.size === 0 || this.reconnectTimer || this.ws) return;
    this.setState('connecting');
    syncLog('debug', () => `reconnecting to ${this.url} in ${Math.round(delayMs)} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.setState('disconnected');
      void this.connect();
    }, delayMs);
  }

  /**
   * realm-js `Realm.Sync.reconnect()`: a connection waiting out its back-off tries again now (the
   * back-off starts over).
   */
  reconnectNow(): void {
    if (!this.reconnectTimer || this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.backoff.reset();
    this.setState('disconnected');
    void this.connect();
  }

  /** Calls `listener(newState, oldState)` on every change of {@link state}. Returns the removal. */
  onStateChange(listener: (state: ConnectionState, previous: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: ConnectionState): void {
    const previous = this.state_;
    if (previous === state) return;
    this.state_ = state;
    for (const l of [...this.stateListeners]) {
      try {
        l(state, previous);
      } catch {
        // a failing listener must not break the connection
      }
    }
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (this.pongTimer) return; // one outstanding PING at a time
      this.send({ type: 'PING', timestamp: Date.now(), rtt: this.lastRtt });
      this.pongTimer = setTimeout(() => {
        this.pongTimer = null;
        const ws = this.ws;
        if (ws) this.lost(ws, false);
      }, this.options.pongTimeoutMs);
    }, this.options.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }
}

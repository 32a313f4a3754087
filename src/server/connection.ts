import type { WebSocket } from 'ws';
import { TributaryError, type ErrorCode } from '../errors';
import { decodeClientMessage, encodeServerMessage, type ProtocolLimits } from '../protocol/codec';
import type { ClientMessage, ServerMessage } from '../protocol/messages';
import type { Logger } from '../shared/logger';
import { Session, type SessionLimits } from './session';
import type { SyncService, SyncUser } from './sync-service';
import type { TokenClaims, TokenService } from './tokens';

export interface ConnectionOptions extends SessionLimits {
  protocol: ProtocolLimits;
  maxSessionsPerConnection: number;
  /**
   * Upload bytes received on the connection and not yet committed (or failed) above which the
   * server stops reading the socket until half of them are done.
   */
  maxPendingUploadBytes: number;
}

/** WebSocket close codes used when a connection-level error ends the connection. */
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_TOO_BIG = 1009;

/**
 * One WebSocket connection: decodes frames at the edge (any failure becomes an ERROR, never an
 * exception past this class), answers connection messages (PING, REFRESH) and routes session
 * messages to their {@link Session} by the client-chosen id.
 *
 * Errors that mean the byte stream cannot be trusted (undecodable frame, unknown message type,
 * oversized message, text frame) send ERROR with session 0 and close the connection. Misuse of a
 * session id (0, unknown, reused) rejects that one message with an ERROR for session 0 and keeps
 * the connection and its other sessions. Everything about one session is a session ERROR.
 *
 * Backpressure: uploads are committed in the background (pipelined per session), so the bytes of
 * received, not yet committed UPLOADs are counted; above `maxPendingUploadBytes` the socket is
 * paused (TCP pushes back on the client) and resumed once they are down to half of that.
 */
export class Connection {
  private readonly sessions = new Map<number, Session>();
  private claims: TokenClaims;
  private closed = false;
  private drainWaiters: (() => void)[] = [];
  private gate: Promise<void> | null = null;
  private pendingUploadBytes = 0;
  private readPaused = false;
  /** Times reading was paused for the upload backlog (tests, metrics). */
  readPauses = 0;
  lastActivity = Date.now();

  constructor(
    private readonly ws: WebSocket,
    claims: TokenClaims,
    private readonly service: SyncService,
    private readonly tokens: TokenService,
    private readonly options: ConnectionOptions,
    private readonly log: Logger,
  ) {
    this.claims = claims;
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', (error) => this.log.debug('socket error', { error: error.message }));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Closes the socket (server shutdown or ping timeout). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.onClose();
  }

  private onFrame(data: unknown, isBinary: boolean): void {
    this.lastActivity = Date.now();
    if (this.closed) return;
    if (!isBinary) {
      this.fatal(new TributaryError('BAD_SYNTAX', 'text frames are not part of the protocol; send binary frames'));
      return;
    }
    const bytes = toBytes(data);
    let msg: ClientMessage;
    try {
      msg = decodeClientMessage(bytes, this.options.protocol);
    } catch (e) {
      this.fatal(e instanceof TributaryError ? e : new TributaryError('BAD_SYNTAX', 'undecodable message'));
      return;
    }
    if (this.gate) this.gated(() => this.handle(msg));
    else this.handle(msg);
  }

  /**
   * Runs `fn` after everything gated before it. A REFRESH is gated, and while one is being
   * verified every later message waits behind it, so a BIND sent right after a REFRESH sees the
   * new token.
   */
  private gated(fn: () => void | Promise<void>): void {
    const p: Promise<void> = (this.gate ?? Promise.resolve()).then(fn).catch((e) => this.log.error('gated handler failed', { error: e }));
    this.gate = p;
    void p.then(() => {
      if (this.gate === p) this.gate = null;
    });
  }

  private handle(msg: ClientMessage): void {
    if (this.closed) return;
    try {
      this.dispatch(msg);
    } catch (e) {
      this.log.error('message handler failed', { type: msg.type, error: e });
      this.reject('OTHER_ERROR', 'internal server error');
    }
  }

  private dispatch(msg: ClientMessage): void {
    switch (msg.type) {
      case 'PING':
        this.trySend({ type: 'PONG', timestamp: msg.timestamp });
        return;
      case 'REFRESH':
        this.gated(() => this.refresh(msg.token));
        return;
      case 'BIND': {
        if (msg.session === 0) return this.reject('BAD_SESSION_IDENT', 'session id 0 is reserved');
        if (this.sessions.has(msg.session)) return this.reject('REUSE_OF_SESSION_IDENT', `session ${msg.session} is already bound on this connection`);
        if (this.sessions.size >= this.options.maxSessionsPerConnection) {
          this.sendError(msg.session, new TributaryError('TOO_MANY_SESSIONS', `at most ${this.options.maxSessionsPerConnection} sessions per connection`));
          return;
        }
        const session = new Session(msg.session, this.host, this.service, this.options, this.log.child({ session: msg.session }));
        this.sessions.set(msg.session, session);
        session.bind(msg);
        return;
      }
      default: {
        const session = msg.session === 0 ? undefined : this.sessions.get(msg.session);
        if (!session) return this.reject('BAD_SESSION_IDENT', `no session ${msg.session} is bound on this connection`);
        switch (msg.type) {
          case 'IDENT':
            return session.ident(msg);
          case 'UPLOAD': {
            let size = 64;
            for (const c of msg.changesets) size += c.data.length + 32;
            this.pendingUploadBytes += size;
            if (!this.readPaused && this.pendingUploadBytes > this.options.maxPendingUploadBytes) this.pauseReading();
            return session.upload(msg, () => this.uploadSettled(size));
          }
          case 'MARK':
            return session.mark(msg);
          case 'STATE_REQUEST':
            return session.stateRequest();
          case 'UNBIND':
            return session.unbind();
        }
      }
    }
  }

  private readonly host = {
    send: (m: ServerMessage) => this.send(m),
    bufferedAmount: () => this.ws.bufferedAmount,
    whenDrained: (fn: () => void) => {
      this.drainWaiters.push(fn);
    },
    user: (): SyncUser & { exp?: number } => ({ identity: this.claims.sub, isAdmin: this.claims.adm, exp: this.claims.exp }),
    release: (s: Session) => {
      if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    },
  };

  /** How many received upload bytes are waiting for their commit (tests, metrics). */
  get pendingUploads(): { bytes: number; paused: boolean } {
    return { bytes: this.pendingUploadBytes, paused: this.readPaused };
  }

  private pauseReading(): void {
    this.readPaused = true;
    this.readPauses++;
    this.ws.pause();
    this.log.debug('upload backlog; reading paused', { pendingUploadBytes: this.pendingUploadBytes });
  }

  private uploadSettled(size: number): void {
    this.pendingUploadBytes -= size;
    if (this.readPaused && this.pendingUploadBytes <= this.options.maxPendingUploadBytes / 2) {
      this.readPaused = false;
      if (!this.closed) this.ws.resume();
    }
  }

  private async refresh(token: string): Promise<void> {
    try {
      const claims = await this.tokens.verify(token, ['access', 'admin']);
      if (claims.sub !== this.claims.sub) throw new TributaryError('USER_MISMATCH', 'the new token belongs to a different user');
      this.claims = claims;
      this.log.debug('token refreshed');
    } catch (e) {
      const err = e instanceof TributaryError ? e : new TributaryError('BAD_AUTHENTICATION', 'token refresh failed');
      this.sendError(0, err);
    }
  }

  /**
   * Encodes and sends. A message that cannot be encoded throws a coded error (OTHER_ERROR) before
   * anything is sent, so the caller never advances a cursor past what the client did not get; the
   * session then fails with that error and the client binds again from its own cursor.
   */
  send(message: ServerMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeServerMessage(message);
    } catch (e) {
      this.log.error('could not encode a server message', { type: message.type, code: 'OTHER_ERROR', error: e });
      throw new TributaryError('OTHER_ERROR', `the server could not encode a ${message.type} message`, { cause: e });
    }
    this.ws.send(bytes, { binary: true }, () => this.onSent());
  }

  private onSent(): void {
    if (this.drainWaiters.length === 0 || this.ws.bufferedAmount > this.options.maxBufferedBytes / 2) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const fn of waiters) fn();
  }

  /** Sends where a failure to encode can only be logged (errors, pongs). */
  private trySend(message: ServerMessage): void {
    try {
      this.send(message);
    } catch {
      // logged by send()
    }
  }

  private sendError(session: number, err: TributaryError): void {
    this.trySend({
      type: 'ERROR',
      session,
      code: err.protocolCode ?? 101,
      message: err.message.slice(0, 1000),
      tryAgain: err.action === 'retry',
      action: err.action,
      backoffMs: err.action === 'retry' ? 1000 : 0,
    });
  }

  /** Rejects one message with a connection-scoped ERROR; the connection stays open. */
  private reject(code: ErrorCode, message: string): void {
    this.log.info('message rejected', { code, message });
    this.sendError(0, new TributaryError(code, message));
  }

  /** The claims of the token the connection currently runs on (the upgrade's, or a REFRESH's). */
  get tokenClaims(): TokenClaims {
    return this.claims;
  }

  /** Ends the connection for a reason found outside the message flow (limits, time-outs): ERROR, then close. */
  refuse(err: TributaryError): void {
    this.fatal(err);
  }

  /** A connection-level protocol violation: ERROR for session 0, then close. */
  private fatal(err: TributaryError): void {
    this.log.info('protocol violation; closing the connection', { code: err.code, message: err.message });
    this.sendError(0, err);
    this.close(err.code === 'LIMITS_EXCEEDED' ? CLOSE_TOO_BIG : CLOSE_PROTOCOL_ERROR, err.code);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    this.drainWaiters = [];
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(0);
}

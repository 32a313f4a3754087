import { TributaryError, errorCodeForProtocol, type ErrorCode } from '../errors';
import type { DownloadMessage, ErrorMessage, StateMessage } from '../protocol';
import type { ConnectionState, SyncSessionHandle, SyncSessionState, SyncUserLike } from '../realm/sync-types';
import type { ReplicaHandle } from '../store';
import { Backoff } from '../shared/backoff';
import type { Connection, ConnectionClient } from './connection';
import { downloadBatch, snapshotOf } from './download-batch';
import { IntegrationQueue, type SessionMessage } from './integration-queue';
import { SessionWaiters } from './session-waiters';
import { SessionProgress, type ProgressCallback, type ProgressDirection, type ProgressMode } from './progress';
import { syncLog } from './sync-log';

/** realm-js `addConnectionNotification` callback: `(newState, oldState)`. */
export type ConnectionNotification = (newState: ConnectionState, oldState: ConnectionState) => void;

export interface SessionOptions {
  /** Upload batch size, soft (default 128 KiB; one changeset larger than it still goes alone). */
  uploadBatchBytes?: number;
  /**
   * UPLOAD messages sent and not yet acknowledged, at most (default 4). Local writes made while
   * this many wait for their acknowledgement go up together in the next UPLOAD, when one is
   * acknowledged: a client writing fast sends fewer, larger messages (one socket write and one
   * server transaction for many changesets) instead of one per write; at a pace the server
   * acknowledges in time, every write still goes up at once.
   */
  maxUploadsInFlight?: number;
  /** Client resets in a row (without a successful download in between) before giving up (default 3). */
  maxConsecutiveResets?: number;
  /** Where a progress callback's exception goes (default: dropped). */
  log?: { error(msg: string, fields?: Record<string, unknown>): void };
}

type Phase = 'unbound' | 'awaiting-ident' | 'bootstrapping' | 'ready';

/**
 * One realm's sync session on a shared connection (PROTOCOL.md §3-4):
 * BIND (asking for a file ident when the replica has none) → IDENT with the stored cursors →
 * for a replica that never downloaded anything, STATE_REQUEST and the snapshot → UPLOAD every
 * local changeset after the acknowledged cursor, in order → DOWNLOADs integrated atomically.
 * After every reconnect it starts again from the durable cursors, so nothing is lost and the
 * server's skip rule drops what it already has.
 *
 * When messages reach the replica is the IntegrationQueue's business; the promises owed to
 * callers are SessionWaiters'.
 */
export class Session implements SyncSessionHandle, ConnectionClient {
  private state_: SyncSessionState = 'active';
  private phase: Phase = 'unbound';
  private sessionId = 0;
  private uploadedUpTo = 0;
  private uploadScheduled = false;
  private stateSegments: Uint8Array[] = [];
  private readonly queue: IntegrationQueue;
  private readonly waiters = new SessionWaiters();
  private readonly errorListeners = new Set<(e: Error) => void>();
  private readonly rebindBackoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private rebindTimer: NodeJS.Timeout | null = null;
  private consecutiveResets = 0;
  private readonly removeExtension: () => void;
  private closed = false;
  private readonly uploadBatchBytes: number;
  private readonly maxUploadsInFlight: number;
  /** The last client version of each UPLOAD of this binding not yet acknowledged, in order. */
  private uploadsInFlight: number[] = [];
  private readonly maxConsecutiveResets: number;
  /** Counters for tests and metrics. */
  readonly stats = { binds: 0, uploads: 0, uploadedChangesets: 0, downloads: 0, resets: 0 };

  private connection: Connection;
  private readonly progress: SessionProgress;
  private readonly connectionNotifications = new Map<ConnectionNotification, () => void>();
  /** Rejected when the connection drops while the last Realm of the file waits for its uploads. */
  private readonly lingering = new Set<(e: Error) => void>();

  constructor(
    /** The user's current connection to the server (a new one after the old one closed). */
    private readonly connectionFor: () => Connection,
    readonly replica: ReplicaHandle,
    /** The realm path as the server gets it (`~` unresolved). */
    readonly path: string,
    readonly url: string,
    readonly user: SyncUserLike & { refreshAccessToken(): Promise<string> },
    options: SessionOptions = {},
  ) {
    this.progress = new SessionProgress(replica, options.log);
    this.queue = new IntegrationQueue({
      replica,
      isCurrent: (m) => m.session === this.sessionId && this.sessionId !== 0,
      handle: (m) => this.handle(m),
      handleDownloads: (batch) => {
        try {
          this.receiveDownloads(batch);
        } catch (e) {
          this.localFailure(e);
        }
      },
    });
    this.uploadBatchBytes = options.uploadBatchBytes ?? 128 * 1024;
    this.maxUploadsInFlight = Math.max(1, options.maxUploadsInFlight ?? 4);
    this.maxConsecutiveResets = options.maxConsecutiveResets ?? 3;
    this.connection = connectionFor();
    this.removeExtension = replica.addExtension({
      committed: (e) => {
        if (e.origin === 'local' && e.clientVersion !== undefined) {
          this.scheduleUpload();
          this.progress.localCommitted();
        }
      },
    });
    // Downloaded changes the disk refused to commit went back, cursors included: ask again from there.
    this.removeCommitFailure = replica.onCommitFailure((e) => {
      if (!this.closed) this.localFailure(e);
    });
    this.connection.attach(this);
  }

  private readonly removeCommitFailure: () => void;

  get state(): SyncSessionState {
    return this.state_;
  }

  get lastConnectionError(): string | null {
    return this.connection.lastError;
  }

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True once bound, identified and (for a new replica) bootstrapped. */
  get isReady(): boolean {
    return this.phase === 'ready';
  }

  // ---- user API ------------------------------------------------------------------------------

  pause(): void {
    if (this.state_ === 'inactive' || this.closed) return;
    this.state_ = 'inactive';
    this.unbind();
    this.connection.detach(this);
  }

  resume(): void {
    if (this.state_ === 'active' || this.closed) return;
    this.state_ = 'active';
    const before = this.connection;
    this.connection = this.connectionFor();
    if (this.connection !== before) for (const cb of [...this.connectionNotifications.keys()]) this.subscribeConnection(cb);
    this.connection.attach(this);
  }

  /** realm-js: true when the session is active and its connection is open. */
  isConnected(): boolean {
    return this.state_ === 'active' && !this.closed && this.connection.state === 'connected';
  }

  /** realm-js: `callback(newState, oldState)` on every change of {@link connectionState}. */
  addConnectionNotification(callback: ConnectionNotification): void {
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addConnectionNotification expects a function (newState, oldState) => void');
    this.subscribeConnection(callback);
  }

  removeConnectionNotification(callback: ConnectionNotification): void {
    this.connectionNotifications.get(callback)?.();
    this.connectionNotifications.delete(callback);
  }

  private subscribeConnection(callback: ConnectionNotification): void {
    this.connectionNotifications.get(callback)?.();
    this.connectionNotifications.set(callback, this.connection.onStateChange(callback));
  }

  /** realm-js `session.reconnect()`: stop waiting out the back-off and connect now. */
  reconnect(): void {
    this.connection.reconnectNow();
  }

  /** Local changes the server has not acknowledged yet. */
  get hasPendingUploads(): boolean {
    if (this.closed || this.state_ !== 'active' || this.replica.isClosed) return false;
    const acked = this.replica.progress.acknowledged.clientVersion;
    return acked < this.replica.lastClientVersion && this.replica.changesetsAfter(acked, 1).length > 0;
  }

  /**
   * The last Realm of the file closed with changes not yet uploaded (realm/registry.ts): resolves
   * once they are acknowledged; rejects when `timeoutMs` passes, the session fails, or the
   * connection is or gets lost — the changes then stay in the local file and go up the next time
   * the realm is opened.
   */
  finishUploads(timeoutMs: number): Promise<void> {
    if (!this.hasPendingUploads) return Promise.resolve();
    if (this.connection.state === 'disconnected') return Promise.reject(new TributaryError('CONNECTION_CLOSED', 'not connected'));
    return new Promise<void>((resolve, reject) => {
      const lost = (e: Error) => reject(e);
      this.lingering.add(lost);
      this.uploadAllLocalChanges(timeoutMs).then(resolve, reject).finally(() => this.lingering.delete(lost));
    });
  }

  uploadAllLocalChanges(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new TributaryError('REALM_CLOSED', 'the session is closed'));
      const target = this.replica.lastClientVersion;
      if (this.replica.progress.acknowledged.clientVersion >= target || this.replica.changesetsAfter(this.replica.progress.acknowledged.clientVersion, 1).length === 0) {
        return resolve();
      }
      this.waiters.waitForUpload(target, resolve, reject, timeoutMs);
    });
  }

  downloadAllServerChanges(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new TributaryError('REALM_CLOSED', 'the session is closed'));
      this.waiters.waitForMark(resolve, reject, timeoutMs, this.phase === 'ready' ? this.sendMark : null);
    });
  }

  /**
   * realm-js progress notifications: `callback(transferred, transferable)` in changeset bytes.
   * `direction`: 'upload' | 'download'; `mode`: 'reportIndefinitely' |
   * 'forCurrentlyOutstandingWork' (stops once what was outstanding at registration is done).
   */
  addProgressNotification(direction: ProgressDirection, mode: ProgressMode, callback: ProgressCallback): void {
    this.progress.add(direction, mode, callback);
  }

  removeProgressNotification(callback: ProgressCallback): void {
    this.progress.remove(callback);
  }

  addErrorListener(listener: (error: Error) => void): void {
    this.errorListeners.add(listener);
  }

  removeErrorListener(listener: (error: Error) => void): void {
    this.errorListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    for (const off of this.connectionNotifications.values()) off();
    this.connectionNotifications.clear();
    this.unbind();
    this.closed = true;
    this.state_ = 'inactive';
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.removeExtension();
    this.removeCommitFailure();
    this.progress.clear();
    this.connection.detach(this);
    this.waiters.rejectAll(new TributaryError('REALM_CLOSED', 'the session was closed'));
  }

  /** Tests: drop the shared socket as a network failure would. */
  _dropConnection(): void {
    this.connection.dropConnection();
  }

  // ---- connection callbacks ------------------------------------------------------------------

  connected(): void {
    if (this.state_ !== 'active' || this.closed || this.rebindTimer) return;
    this.bind();
  }

  disconnected(): void {
    for (const lost of [...this.lingering]) lost(new TributaryError('CONNECTION_CLOSED', 'the connection was lost'));
    this.queue.clear();
    this.sessionId = 0;
    this.phase = 'unbound';
    this.stateSegments = [];
    this.waiters.unbound();
  }

  failed(error: TributaryError): void {
    this.disconnected();
    this.state_ = 'inactive';
    this.emitError(error);
    this.waiters.rejectAll(error);
  }

  /**
   * Admin tools (notifier, Adapter): while at least one hold is taken, server messages queue and
   * are integrated in arrival order after the last release. Taking a hold inside a replica
   * extension's `committed` stops integration right after that commit. Returns the (idempotent)
   * release.
   */
  holdIntegration(): () => void {
    return this.queue.hold();
  }

  /** True while a hold is taken. */
  get isHeld(): boolean {
    return this.queue.isHeld;
  }

  /**
   * Admin tools: integrate every downloaded changeset in its own transaction (one commit per server
   * transaction), with the cursor the server gave for it, instead of one per DOWNLOAD message.
   */
  get splitDownloads(): boolean {
    return this.queue.splitDownloads;
  }
  set splitDownloads(split: boolean) {
    this.queue.splitDownloads = split;
  }

  message(message: SessionMessage): void {
    if (message.session !== this.sessionId || this.sessionId === 0) return;
    this.queue.receive(message);
  }

  private handle(message: SessionMessage): void {
    try {
      switch (message.type) {
        case 'IDENT':
          return this.receiveIdent(message.fileIdent, message.fileSalt);
        case 'STATE':
          return this.receiveState(message);
        case 'DOWNLOAD':
          return this.receiveDownload(message);
        case 'MARK':
          return this.waiters.markAnswered(message.requestId);
        case 'ERROR':
          return this.receiveError(message);
        case 'UNBOUND':
          return;
      }
    } catch (e) {
      this.localFailure(e);
    }
  }

  // ---- protocol ------------------------------------------------------------------------------

  private bind(): void {
    if (this.replica.isClosed) return;
    this.sessionId = this.connection.allocateSessionId(this);
    this.stats.binds++;
    const needIdent = this.replica.fileIdent === 0;
    syncLog('debug', () => `binding ${this.path}${needIdent ? ' (new file)' : ''}`);
    this.connection.send({ type: 'BIND', session: this.sessionId, path: this.path, needIdent });
    if (needIdent) this.phase = 'awaiting-ident';
    else this.identify();
  }

  private unbind(): void {
    if (this.sessionId !== 0) {
      this.connection.send({ type: 'UNBIND', session: this.sessionId });
      this.connection.releaseSessionId(this.sessionId);
    }
    this.disconnected();
  }

  private receiveIdent(fileIdent: number, fileSalt: number): void {
    if (this.phase !== 'awaiting-ident') throw new TributaryError('BAD_MESSAGE_ORDER', 'IDENT from the server when none was asked for');
    this.replica.setIdent(fileIdent, fileSalt); // durable before first use
    this.identify();
  }

  private identify(): void {
    const p = this.replica.progress;
    this.connection.send({
      type: 'IDENT',
      session: this.sessionId,
      fileIdent: this.replica.fileIdent,
      fileSalt: this.replica.fileSalt,
      serverVersion: p.download.serverVersion,
      lastIntegratedClientVersion: p.download.lastIntegratedClientVersion,
      latestServerVersion: p.latestServerVersion,
      latestServerVersionSalt: p.latestServerVersionSalt,
    });
    if (p.download.serverVersion === 0 && p.latestServerVersion === 0) {
      // A replica that never downloaded anything bootstraps from a snapshot instead of replaying
      // the whole history; its own changes are re-applied on top (store/recovery.ts).
      this.phase = 'bootstrapping';
      this.stateSegments = [];
      this.connection.send({ type: 'STATE_REQUEST', session: this.sessionId });
    } else {
      this.ready();
    }
  }

  private ready(): void {
    this.phase = 'ready';
    this.uploadedUpTo = this.replica.progress.acknowledged.clientVersion;
    this.uploadsInFlight = [];
    this.upload();
    this.waiters.sendUnsent(this.sendMark);
  }

  private receiveState(message: StateMessage): void {
    if (this.phase !== 'bootstrapping') throw new TributaryError('BAD_MESSAGE_ORDER', 'STATE without a STATE_REQUEST');
    if (message.segment !== this.stateSegments.length) throw new TributaryError('BAD_MESSAGE_ORDER', `STATE segment ${message.segment} out of order`);
    this.stateSegments.push(message.data);
    if (!message.last) return;
    const segments = this.stateSegments;
    this.stateSegments = [];
    const { snapshot, bytes } = snapshotOf(message, segments);
    this.progress.snapshotDownloaded(bytes);
    this.replica.applySnapshot(snapshot);
    this.ready();
  }

  private receiveDownload(message: DownloadMessage): void {
    this.receiveDownloads([message]);
  }

  /** Integrates consecutive DOWNLOADs in one replica transaction (see {@link Replica.integrateAll}). */
  private receiveDownloads(messages: DownloadMessage[]): void {
    if (this.phase === 'bootstrapping') return; // the snapshot covers it; DOWNLOADs resume after it
    if (this.phase !== 'ready') throw new TributaryError('BAD_MESSAGE_ORDER', 'DOWNLOAD before IDENT');
    this.progress.acknowledging(messages);
    this.replica.integrateAll(messages.map(downloadBatch));
    this.stats.downloads += messages.length;
    this.consecutiveResets = 0;
    this.progress.downloaded(messages);
    const acked = this.replica.progress.acknowledged.clientVersion;
    if (acked > this.uploadedUpTo) this.uploadedUpTo = acked;
    const inFlight = this.uploadsInFlight;
    if (inFlight.length > 0 && inFlight[0]! <= acked) {
      const full = inFlight.length >= this.maxUploadsInFlight;
      while (inFlight.length > 0 && inFlight[0]! <= acked) inFlight.shift();
      // Writes held back while the window was full go up now, together.
      if (full) this.scheduleUpload();
    }
    this.waiters.acknowledged(acked);
  }

  private receiveError(message: ErrorMessage): void {
    const code: ErrorCode = errorCodeForProtocol(message.code) ?? 'OTHER_ERROR';
    const error = new TributaryError(code, `${this.path}: ${message.message} (${message.code})`);
    syncLog(message.action === 'fatal' ? 'error' : 'warn', () => `session error on ${this.path}: ${code} ${message.message} (action ${message.action})`);
    this.unbind(); // mandatory after a session-level error
    if (message.action === 'reset') {
      this.emitError(error);
      this.clientReset();
    } else if (message.action === 'retry' || message.tryAgain) {
      if (code === 'TOKEN_EXPIRED') {
        // The connection sends REFRESH when the new token arrives; bind again after that.
        this.user.refreshAccessToken().then(
          () => this.scheduleRebind(0),
          () => this.scheduleRebind(message.backoffMs),
        );
        return;
      }
      this.scheduleRebind(message.backoffMs);
    } else {
      this.state_ = 'inactive';
      this.emitError(error);
      this.waiters.rejectAll(error);
      this.connection.detach(this);
    }
  }

  /** Something we received could not be integrated locally (bad changeset, cursor regression). */
  private localFailure(e: unknown): void {
    const error = localError(e);
    this.unbind();
    this.emitError(error);
    // Only what the server sent being wrong (a bad changeset, cursors that moved backwards) is a
    // reason to throw the replica's sync state away; a local disk or program failure is retried.
    if (error.action === 'reset' || error.code === 'BAD_SERVER_VERSION' || error.code === 'BAD_CLIENT_VERSION') {
      this.clientReset();
      return;
    }
    this.scheduleRebind(0);
  }

  /**
   * Client reset (PROTOCOL.md §6): forget the file ident and cursors, bind again for a new ident,
   * bootstrap from a snapshot and re-apply the local changes the server never acknowledged.
   */
  private clientReset(): void {
    this.stats.resets++;
    syncLog('warn', () => `client reset of ${this.path}`);
    if (++this.consecutiveResets > this.maxConsecutiveResets) {
      const error = new TributaryError('DIVERGING_HISTORIES', `${this.path}: client reset failed ${this.maxConsecutiveResets} times in a row; the session stops`);
      this.state_ = 'inactive';
      this.emitError(error);
      this.waiters.rejectAll(error);
      this.connection.detach(this);
      return;
    }
    this.replica.resetSyncState();
    this.scheduleRebind(0);
  }

  private scheduleRebind(hintMs: number): void {
    if (this.rebindTimer || this.closed) return;
    const delay = hintMs === 0 && this.rebindBackoff.attempts === 0 ? 0 : this.rebindBackoff.next(hintMs);
    this.rebindTimer = setTimeout(() => {
      this.rebindTimer = null;
      if (this.state_ === 'active' && !this.closed && this.connection.state === 'connected' && this.sessionId === 0) this.bind();
    }, delay);
  }

  private readonly sendMark = (requestId: number): void => {
    this.connection.send({ type: 'MARK', session: this.sessionId, requestId });
  };

  private scheduleUpload(): void {
    if (this.uploadScheduled) return;
    this.uploadScheduled = true;
    queueMicrotask(() => {
      this.uploadScheduled = false;
      this.upload();
    });
  }

  /** Sends every local changeset after what this binding has sent, in order, in batches. */
  private upload(): void {
    if (this.phase !== 'ready' || this.replica.isClosed) return;
    for (;;) {
      // Nothing made since the last batch sent: no need to ask the history.
      if (this.uploadedUpTo >= this.replica.lastClientVersion) return;
      // The window is full: what is left goes up when an acknowledgement frees a place.
      if (this.uploadsInFlight.length >= this.maxUploadsInFlight) return;
      const batch = this.replica.changesetsAfter(this.uploadedUpTo, this.uploadBatchBytes);
      if (batch.length === 0) return;
      const last = batch[batch.length - 1];
      const sent = this.connection.send({
        type: 'UPLOAD',
        session: this.sessionId,
        progressClientVersion: last.clientVersion,
        progressServerVersion: last.lastIntegratedServerVersion,
        changesets: batch.map((c) => ({
          clientVersion: c.clientVersion,
          lastIntegratedServerVersion: c.lastIntegratedServerVersion,
          originTimestamp: c.originTimestamp,
          data: c.data,
        })),
      });
      if (!sent) return;
      this.stats.uploads++;
      this.stats.uploadedChangesets += batch.length;
      this.uploadedUpTo = last.clientVersion;
      this.uploadsInFlight.push(last.clientVersion);
      this.replica.noteUploaded(last.clientVersion);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private emitError(error: Error): void {
    for (const l of [...this.errorListeners]) {
      try {
        l(error);
      } catch {
        // a failing error listener must not break the session
      }
    }
  }
}

/** A failure while integrating what the server sent, as a coded error. */
function localError(e: unknown): TributaryError {
  if (e instanceof TributaryError) return e;
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return new TributaryError('STORAGE_FAILURE', `the local replica failed (${code}): ${(e as Error).message}`, { cause: e });
  return new TributaryError('OTHER_ERROR', `integrating the server's changes failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

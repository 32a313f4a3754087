import { decodeChangeset, type Instruction } from '../changeset';
import { TributaryError, errorCodeForProtocol, type ErrorCode } from '../errors';
import type { DownloadMessage, ErrorMessage, ServerMessage, StateMessage } from '../protocol';
import type { ConnectionState, SyncSessionHandle, SyncSessionState, SyncUserLike } from '../realm/sync-types';
import type { ReplicaHandle } from '../store';
import { Backoff } from '../shared/backoff';
import type { Connection, ConnectionClient } from './connection';
import { ProgressNotifier, type ProgressCallback, type ProgressDirection, type ProgressMode } from './progress';

export interface SessionOptions {
  /** Upload batch size, soft (default 128 KiB; one changeset larger than it still goes alone). */
  uploadBatchBytes?: number;
  /** Client resets in a row (without a successful download in between) before giving up (default 3). */
  maxConsecutiveResets?: number;
}

type Phase = 'unbound' | 'awaiting-ident' | 'bootstrapping' | 'ready';

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

interface UploadWaiter extends Waiter {
  target: number;
}

/**
 * One realm's sync session on a shared connection (PROTOCOL.md §3-4):
 * BIND (asking for a file ident when the replica has none) → IDENT with the stored cursors →
 * for a replica that never downloaded anything, STATE_REQUEST and the snapshot → UPLOAD every
 * local changeset after the acknowledged cursor, in order → DOWNLOADs integrated atomically.
 * After every reconnect it starts again from the durable cursors, so nothing is lost and the
 * server's skip rule drops what it already has.
 */
export class Session implements SyncSessionHandle, ConnectionClient {
  private state_: SyncSessionState = 'active';
  private phase: Phase = 'unbound';
  private sessionId = 0;
  private uploadedUpTo = 0;
  private uploadScheduled = false;
  private stateSegments: Uint8Array[] = [];
  private deferred: Exclude<ServerMessage, { type: 'PONG' }>[] = [];
  private holds = 0;
  private nextRequestId = 1;
  /** MARK requests in flight on the current binding, by request id. */
  private readonly marks = new Map<number, Waiter>();
  /** downloadAllServerChanges() calls waiting for a binding to send their MARK on. */
  private readonly unsentMarks: Waiter[] = [];
  private readonly uploadWaiters: UploadWaiter[] = [];
  private readonly errorListeners = new Set<(e: Error) => void>();
  private readonly rebindBackoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private rebindTimer: NodeJS.Timeout | null = null;
  private consecutiveResets = 0;
  private readonly unsubscribeCommit: () => void;
  private closed = false;
  private readonly uploadBatchBytes: number;
  private readonly maxConsecutiveResets: number;
  /** Counters for tests and metrics. */
  readonly stats = { binds: 0, uploads: 0, uploadedChangesets: 0, downloads: 0, resets: 0 };

  private connection: Connection;
  private readonly progress = new ProgressNotifier();
  private uploadAckedBytes = 0;
  private downloadedBytes = 0;

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
    this.uploadBatchBytes = options.uploadBatchBytes ?? 128 * 1024;
    this.maxConsecutiveResets = options.maxConsecutiveResets ?? 3;
    this.connection = connectionFor();
    this.unsubscribeCommit = replica.addExtension({
      committed: (e) => {
        if (e.origin === 'local' && e.clientVersion !== undefined) {
          this.scheduleUpload();
          if (this.progress.active) this.updateUploadProgress();
        }
      },
    });
    this.connection.attach(this);
  }

  get state(): SyncSessionState {
    return this.state_;
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
    this.connection = this.connectionFor();
    this.connection.attach(this);
  }

  uploadAllLocalChanges(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new TributaryError('REALM_CLOSED', 'the session is closed'));
      const target = this.replica.lastClientVersion;
      if (this.replica.progress.acknowledged.clientVersion >= target || this.replica.changesetsAfter(this.replica.progress.acknowledged.clientVersion, 1).length === 0) {
        return resolve();
      }
      const waiter: UploadWaiter = { target, resolve, reject };
      this.withTimeout(waiter, timeoutMs, 'uploadAllLocalChanges', () => this.remove(this.uploadWaiters, waiter));
      this.uploadWaiters.push(waiter);
    });
  }

  downloadAllServerChanges(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new TributaryError('REALM_CLOSED', 'the session is closed'));
      const waiter: Waiter = { resolve, reject };
      this.withTimeout(waiter, timeoutMs, 'downloadAllServerChanges', () => {
        this.remove(this.unsentMarks, waiter);
        for (const [id, w] of this.marks) if (w === waiter) this.marks.delete(id);
      });
      if (this.phase === 'ready') this.sendMark(waiter);
      else this.unsentMarks.push(waiter);
    });
  }

  /**
   * realm-js progress notifications: `callback(transferred, transferable)` in changeset bytes.
   * `direction`: 'upload' | 'download'; `mode`: 'reportIndefinitely' |
   * 'forCurrentlyOutstandingWork' (stops once what was outstanding at registration is done).
   */
  addProgressNotification(direction: ProgressDirection, mode: ProgressMode, callback: ProgressCallback): void {
    if (direction !== 'upload' && direction !== 'download') throw new TributaryError('INVALID_ARGUMENT', `progress direction must be 'upload' or 'download', not ${String(direction)}`);
    if (mode !== 'reportIndefinitely' && mode !== 'forCurrentlyOutstandingWork') {
      throw new TributaryError('INVALID_ARGUMENT', `progress mode must be 'reportIndefinitely' or 'forCurrentlyOutstandingWork', not ${String(mode)}`);
    }
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addProgressNotification expects a callback');
    if (direction === 'upload') this.updateUploadProgress();
    this.progress.add(direction, mode, callback);
  }

  removeProgressNotification(callback: ProgressCallback): void {
    this.progress.remove(callback);
  }

  private updateUploadProgress(): void {
    if (this.replica.isClosed) return;
    const acked = this.replica.progress.acknowledged.clientVersion;
    const pending = this.replica.changesetsAfter(acked).reduce((n, c) => n + c.data.length, 0);
    this.progress.update('upload', this.uploadAckedBytes, this.uploadAckedBytes + pending);
  }

  addErrorListener(listener: (error: Error) => void): void {
    this.errorListeners.add(listener);
  }

  removeErrorListener(listener: (error: Error) => void): void {
    this.errorListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.unbind();
    this.closed = true;
    this.state_ = 'inactive';
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.unsubscribeCommit();
    this.progress.clear();
    this.connection.detach(this);
    this.rejectAll(new TributaryError('REALM_CLOSED', 'the session was closed'));
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
    this.deferred = [];
    this.sessionId = 0;
    this.phase = 'unbound';
    this.stateSegments = [];
    // MARKs in flight are lost with the socket; send them again on the next binding.
    for (const w of this.marks.values()) this.unsentMarks.push(w);
    this.marks.clear();
  }

  failed(error: TributaryError): void {
    this.disconnected();
    this.state_ = 'inactive';
    this.emitError(error);
    this.rejectAll(error);
  }

  /**
   * Admin tools (notifier, Adapter): while at least one hold is taken, server messages queue and
   * are integrated in arrival order after the last release. Taking a hold inside a replica
   * extension's `committed` stops integration right after that commit. Returns the (idempotent)
   * release.
   */
  holdIntegration(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.deferred.length > 0) setImmediate(() => this.drainDeferred());
    };
  }

  /** True while a hold is taken. */
  get isHeld(): boolean {
    return this.holds > 0;
  }

  /**
   * Admin tools: integrate every downloaded changeset in its own transaction (one commit per server
   * transaction), with the cursor the server gave for it, instead of one per DOWNLOAD message.
   */
  splitDownloads = false;

  message(message: Exclude<ServerMessage, { type: 'PONG' }>): void {
    if (message.session !== this.sessionId || this.sessionId === 0) return;
    if (this.splitDownloads && message.type === 'DOWNLOAD' && message.changesets.length > 1) {
      for (const part of splitDownload(message)) this.accept(part);
      return;
    }
    this.accept(message);
  }

  private accept(message: Exclude<ServerMessage, { type: 'PONG' }>): void {
    // A user's write transaction (or an admin tool's hold) holds the replica: integrate after it
    // ends, in arrival order. DOWNLOADs also wait for the end of the current turn (a microtask),
    // so those that arrived together are integrated in one replica transaction.
    const coalesce = message.type === 'DOWNLOAD' && !this.splitDownloads;
    if (this.deferred.length > 0 || this.replica.isInWrite || this.holds > 0 || coalesce) {
      this.deferred.push(message);
      if (this.deferred.length === 1) {
        if (coalesce && !this.replica.isInWrite && this.holds === 0) queueMicrotask(() => this.drainDeferred());
        else this.drainDeferred();
      }
      return;
    }
    this.handle(message);
  }

  private drainDeferred(): void {
    if (this.replica.isClosed) {
      this.deferred = [];
      return;
    }
    while (this.deferred.length > 0) {
      if (this.holds > 0) return; // the last release drains
      if (this.replica.isInWrite) {
        setTimeout(() => this.drainDeferred(), 2);
        return;
      }
      const m = this.deferred.shift()!;
      if (m.session !== this.sessionId || this.sessionId === 0) continue;
      if (m.type === 'DOWNLOAD' && !this.splitDownloads && this.deferred[0]?.type === 'DOWNLOAD') {
        const batch: DownloadMessage[] = [m];
        while (this.deferred[0]?.type === 'DOWNLOAD' && this.deferred[0].session === m.session) batch.push(this.deferred.shift() as DownloadMessage);
        try {
          this.receiveDownloads(batch);
        } catch (e) {
          this.localFailure(e);
        }
      } else this.handle(m);
    }
  }

  private handle(message: Exclude<ServerMessage, { type: 'PONG' }>): void {
    try {
      switch (message.type) {
        case 'IDENT':
          return this.receiveIdent(message.fileIdent, message.fileSalt);
        case 'STATE':
          return this.receiveState(message);
        case 'DOWNLOAD':
          return this.receiveDownload(message);
        case 'MARK': {
          const w = this.marks.get(message.requestId);
          this.marks.delete(message.requestId);
          if (w) this.settle(w);
          return;
        }
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
    this.upload();
    for (const w of this.unsentMarks.splice(0)) this.sendMark(w);
  }

  private receiveState(message: StateMessage): void {
    if (this.phase !== 'bootstrapping') throw new TributaryError('BAD_MESSAGE_ORDER', 'STATE without a STATE_REQUEST');
    if (message.segment !== this.stateSegments.length) throw new TributaryError('BAD_MESSAGE_ORDER', `STATE segment ${message.segment} out of order`);
    this.stateSegments.push(message.data);
    if (!message.last) return;
    const bytes = concat(this.stateSegments);
    this.stateSegments = [];
    const instructions: Instruction[] = bytes.length === 0 ? [] : decodeChangeset(bytes);
    this.downloadedBytes += bytes.length;
    this.replica.applySnapshot({
      serverVersion: message.serverVersion,
      serverVersionSalt: message.serverVersionSalt,
      lastIntegratedClientVersion: message.lastIntegratedClientVersion,
      instructions,
    });
    this.ready();
  }

  private receiveDownload(message: DownloadMessage): void {
    this.receiveDownloads([message]);
  }

  /** Integrates consecutive DOWNLOADs in one replica transaction (see {@link Replica.integrateAll}). */
  private receiveDownloads(messages: DownloadMessage[]): void {
    if (this.phase === 'bootstrapping') return; // the snapshot covers it; DOWNLOADs resume after it
    if (this.phase !== 'ready') throw new TributaryError('BAD_MESSAGE_ORDER', 'DOWNLOAD before IDENT');
    const last = messages[messages.length - 1]!;
    const ackBefore = this.replica.progress.acknowledged.clientVersion;
    const ackAfter = Math.max(...messages.map((m) => m.uploadClientVersion));
    if (this.progress.active && ackAfter > ackBefore) {
      for (const c of this.replica.changesetsAfter(ackBefore)) if (c.clientVersion <= ackAfter) this.uploadAckedBytes += c.data.length;
    }
    this.replica.integrateAll(
      messages.map((message) => ({
        serverVersion: message.serverVersion,
        lastIntegratedClientVersion: message.lastIntegratedClientVersion,
        latestServerVersion: message.latestServerVersion,
        latestServerVersionSalt: message.latestServerVersionSalt,
        uploadClientVersion: message.uploadClientVersion,
        uploadServerVersion: message.uploadServerVersion,
        changesets: message.changesets.map((c) => ({
          serverVersion: c.serverVersion,
          lastIntegratedClientVersion: c.lastIntegratedClientVersion,
          originTimestamp: c.originTimestamp,
          originFileIdent: c.originFileIdent,
          instructions: decodeChangeset(c.data),
        })),
      })),
    );
    this.stats.downloads += messages.length;
    this.consecutiveResets = 0;
    for (const message of messages) this.downloadedBytes += message.changesets.reduce((n, c) => n + c.data.length, 0);
    if (this.progress.active) {
      this.progress.update('download', this.downloadedBytes, this.downloadedBytes + last.downloadableBytes);
      this.updateUploadProgress();
    }
    const acked = this.replica.progress.acknowledged.clientVersion;
    if (acked > this.uploadedUpTo) this.uploadedUpTo = acked;
    for (const w of [...this.uploadWaiters]) {
      if (w.target <= acked) {
        this.remove(this.uploadWaiters, w);
        this.settle(w);
      }
    }
  }

  private receiveError(message: ErrorMessage): void {
    const code: ErrorCode = errorCodeForProtocol(message.code) ?? 'OTHER_ERROR';
    const error = new TributaryError(code, `${this.path}: ${message.message} (${message.code})`);
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
      this.rejectAll(error);
      this.connection.detach(this);
    }
  }

  /** Something we received could not be integrated locally (bad changeset, cursor regression). */
  private localFailure(e: unknown): void {
    const error = e instanceof TributaryError ? e : new TributaryError('BAD_CHANGESET', (e as Error)?.message ?? String(e), { cause: e });
    this.unbind();
    this.emitError(error);
    if (error.code === 'REALM_CLOSED' || error.code === 'STORAGE_FAILURE') {
      this.scheduleRebind(0);
      return;
    }
    this.clientReset();
  }

  /**
   * Client reset (PROTOCOL.md §6): forget the file ident and cursors, bind again for a new ident,
   * bootstrap from a snapshot and re-apply the local changes the server never acknowledged.
   */
  private clientReset(): void {
    this.stats.resets++;
    if (++this.consecutiveResets > this.maxConsecutiveResets) {
      const error = new TributaryError('DIVERGING_HISTORIES', `${this.path}: client reset failed ${this.maxConsecutiveResets} times in a row; the session stops`);
      this.state_ = 'inactive';
      this.emitError(error);
      this.rejectAll(error);
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

  private sendMark(waiter: Waiter): void {
    const requestId = this.nextRequestId++;
    this.marks.set(requestId, waiter);
    this.connection.send({ type: 'MARK', session: this.sessionId, requestId });
  }

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
      this.replica.noteUploaded(last.clientVersion);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private withTimeout(w: Waiter, timeoutMs: number | undefined, what: string, cleanup: () => void): void {
    if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return;
    w.timer = setTimeout(() => {
      cleanup();
      w.reject(new TributaryError('TIMEOUT', `${what} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  }

  private settle(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    w.resolve();
  }

  private remove<T>(list: T[], item: T): void {
    const i = list.indexOf(item);
    if (i >= 0) list.splice(i, 1);
  }

  private rejectAll(error: Error): void {
    const all: Waiter[] = [...this.marks.values(), ...this.unsentMarks.splice(0), ...this.uploadWaiters.splice(0)];
    this.marks.clear();
    for (const w of all) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
  }

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

/**
 * One DOWNLOAD per changeset. Each part's cursor is the one the server gave its changeset
 * (`serverVersion`, `lastIntegratedClientVersion` as of it); the last part keeps the message's,
 * which may be further on (own changesets are skipped, not sent).
 */
function splitDownload(message: DownloadMessage): DownloadMessage[] {
  const n = message.changesets.length;
  return message.changesets.map((c, i) =>
    i === n - 1
      ? { ...message, changesets: [c] }
      : { ...message, serverVersion: c.serverVersion, lastIntegratedClientVersion: c.lastIntegratedClientVersion, changesets: [c] },
  );
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

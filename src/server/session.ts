import { changesetInstructionCount } from '../changeset/codec';
import { HLC_COUNTER_BITS, hlcPhysicalTime } from '../model/clock';
import { TributaryError } from '../errors';
import type {
  BindMessage,
  ClientIdentMessage,
  DownloadChangeset,
  MarkMessage,
  ServerMessage,
  UploadMessage,
} from '../protocol/messages';
import type { Logger } from '../shared/logger';
import type { AccessHolder } from './live-access';
import { atLeast, type Access } from './permissions';
import { segments } from './snapshot';
import type { RealmRecord } from './storage/types';
import type { DecodedUpload, DownloadBatch, RealmListener, SyncService, SyncUser } from './sync-service';

/** What a session needs from its connection. */
export interface SessionHost {
  send(message: ServerMessage): void;
  /** Bytes queued on the socket and not yet written. */
  bufferedAmount(): number;
  /** Calls `fn` once the socket's queue has drained below the limit. */
  whenDrained(fn: () => void): void;
  /** The connection's current user and token expiry (seconds), which REFRESH may replace. */
  user(): SyncUser & { exp?: number };
  /** Forgets the session id (after UNBIND). */
  release(session: Session): void;
}

export interface SessionLimits {
  downloadBatchBytes: number;
  /** Most history entries read into one DOWNLOAD (option downloadBatchChangesets). */
  downloadBatchChangesets: number;
  /** Option coalesceDownloadsMs: a session sent changes less than this ago waits for a running commit; 0 for never. */
  coalesceDownloadsMs?: number;
  maxBufferedBytes: number;
  /** How far (ms) a changeset's timestamp may be ahead of the server's clock (option maxClockSkew). */
  maxClockSkewMs: number;
  /** Most instructions in one changeset, and in one UPLOAD message (options of the same names). */
  maxInstructionsPerChangeset: number;
  maxInstructionsPerUpload: number;
}

/**
 * One realm session on a connection (PROTOCOL.md §3):
 *
 * `binding` → (BIND checked, IDENT sent when asked) `bound` → (client IDENT checked) `ready`, in
 * which UPLOAD, MARK and STATE_REQUEST are accepted and DOWNLOADs stream. A session-level error
 * sends ERROR and moves to `errored`, where everything but UNBIND is ignored; other sessions on
 * the connection are untouched. Messages of one session are handled strictly in order (a promise
 * chain); the download pump runs beside it and is woken by new versions and by socket drain.
 */
export class Session implements RealmListener, AccessHolder {
  state: 'binding' | 'bound' | 'ready' | 'errored' | 'closed' = 'binding';
  private realm?: RealmRecord;
  private access?: Access;
  private fileIdent = 0;
  /** Download cursor: what has been sent. */
  private cursor = { serverVersion: 0, lastIntegratedClientVersion: 0 };
  /** Durable upload cursor (acknowledged in every DOWNLOAD). */
  private acked = { clientVersion: 0, serverVersion: 0 };
  /** Highest upload progress accepted, including the message being committed. */
  private progress = { clientVersion: 0, serverVersion: 0 };
  private ackDirty = false;
  private marks: { requestId: number; target: number }[] = [];
  private tail: Promise<void> = Promise.resolve();
  /** Settles when every upload submitted so far has committed (or failed). */
  private uploadTail: Promise<void> = Promise.resolve();
  /** Shared with the commit jobs of this session's uploads: once one fails, the later ones fail too. */
  private readonly uploadGuard = { failed: false, ended: false };
  private attached = false;
  private pumping = false;
  private wanted = false;
  /** The next DOWNLOAD already waited for a running group commit (it waits for one at most). */
  private coalesced = false;
  /** When the last DOWNLOAD with changes went out (performance.now()). */
  private lastChangesAt = -Infinity;
  /** Bumped when the cursor jumps (STATE), so an in-flight pump read is discarded. */
  private epoch = 0;
  private unwatchAccess?: () => void;

  constructor(
    readonly id: number,
    private readonly host: SessionHost,
    private readonly service: SyncService,
    private readonly limits: SessionLimits,
    private readonly log: Logger,
  ) {}

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  get realmPath(): string | undefined {
    return this.realm?.path;
  }

  /**
   * Queues a message handler behind the session's earlier ones. Handlers also wait for the
   * uploads before them to commit, except a `pipelined` one (UPLOAD), which only needs the
   * earlier handlers to have run: its commit may overlap earlier commits (the group commit keeps
   * their order). `skipped` runs when the session closed before the handler's turn.
   */
  enqueue(task: () => Promise<void> | void, pipelined = false, skipped?: () => void): void {
    this.tail = this.tail
      .then(async () => {
        if (this.state === 'closed') return skipped?.();
        if (!pipelined) {
          await this.uploadTail;
          if (this.isClosed()) return;
        }
        await task();
      })
      .catch((e) => this.fail(e));
  }

  bind(msg: BindMessage): void {
    this.enqueue(async () => {
      const user = this.host.user();
      if (user.exp !== undefined && user.exp * 1000 <= Date.now()) {
        throw new TributaryError('TOKEN_EXPIRED', 'the access token expired; refresh it and bind again');
      }
      const { realm, access, file } = await this.service.bind(user, msg.path, msg.needIdent);
      if (this.state !== 'binding') return;
      this.realm = realm;
      this.access = access;
      this.state = 'bound';
      this.unwatchAccess = this.service.accessWatch?.watch(this);
      this.log.debug('bound', { path: realm.path, access: access.level });
      if (file) this.host.send({ type: 'IDENT', session: this.id, fileIdent: file.ident, fileSalt: file.salt });
    });
  }

  ident(msg: ClientIdentMessage): void {
    this.enqueue(async () => {
      if (this.state === 'errored') return;
      if (this.state !== 'bound') throw new TributaryError('BAD_MESSAGE_ORDER', `IDENT in state ${this.state}`);
      const { file } = await this.service.ident(this.realm!.id, msg);
      if (this.state !== 'bound') return;
      this.fileIdent = file.ident;
      this.cursor = { serverVersion: msg.serverVersion, lastIntegratedClientVersion: msg.lastIntegratedClientVersion };
      this.acked = { clientVersion: file.uploadClientVersion, serverVersion: file.uploadServerVersion };
      this.progress = { ...this.acked };
      this.state = 'ready';
      // The first DOWNLOAD tells the client the server's upload cursor, even when there is nothing to send.
      this.ackDirty = true;
      this.service.attach(this.realm!.id, this);
      this.attached = true;
      this.wake();
    });
  }

  /**
   * Checks an UPLOAD in order and submits it to the group commit without waiting for the earlier
   * uploads' commits (so a client streaming changesets gets them committed together). Commits,
   * and so acknowledgements, keep the upload order; a failed upload fails every later one of
   * this session. `settled` runs once the upload committed, failed or was dropped.
   */
  upload(msg: UploadMessage, settled?: () => void): void {
    let pending = true;
    const finish = () => {
      if (!pending) return;
      pending = false;
      settled?.();
    };
    this.enqueue(
      () => {
        try {
          if (!this.usable('UPLOAD')) return finish();
          if (!atLeast(this.access!.level, 'write')) throw new TributaryError('PERMISSION_DENIED', `no write access to ${this.realm!.path}`);
          const decoded = this.checkUpload(msg);
          const progress = { clientVersion: msg.progressClientVersion, serverVersion: msg.progressServerVersion };
          this.progress = progress;
          const realmId = this.realm!.id;
          const committed = this.service.upload(realmId, this.fileIdent, decoded, progress, this.uploadGuard).then(
            () => {
              if (this.state === 'ready' && progress.clientVersion >= this.acked.clientVersion) {
                // Set before the realm is notified, so the DOWNLOAD that carries our new entry also acknowledges it.
                this.acked = progress;
                this.ackDirty = true;
              }
              this.service.notify(realmId);
            },
            (e) => this.fail(e),
          );
          this.uploadTail = this.uploadTail.then(() => committed).finally(finish);
        } catch (e) {
          finish();
          throw e;
        }
      },
      true,
      finish,
    );
  }

  mark(msg: MarkMessage): void {
    this.enqueue(async () => {
      if (!this.usable('MARK')) return;
      const target = await this.service.latestVersion(this.realm!.id);
      this.marks.push({ requestId: msg.requestId, target });
      this.flushMarks();
      if (this.marks.length > 0) this.wake();
    });
  }

  stateRequest(): void {
    this.enqueue(async () => {
      if (!this.usable('STATE_REQUEST')) return;
      this.epoch++;
      const snap = await this.service.snapshot(this.realm!.id, this.fileIdent);
      if (this.state !== 'ready') return;
      const parts = segments(snap.data, this.limits.downloadBatchBytes);
      parts.forEach((data, segment) =>
        this.host.send({
          type: 'STATE',
          session: this.id,
          serverVersion: snap.serverVersion,
          serverVersionSalt: snap.serverVersionSalt,
          lastIntegratedClientVersion: snap.lastIntegratedClientVersion,
          segment,
          last: segment === parts.length - 1,
          data,
        }),
      );
      this.cursor = { serverVersion: snap.serverVersion, lastIntegratedClientVersion: snap.lastIntegratedClientVersion };
      this.ackDirty = true;
      this.flushMarks();
      this.wake();
    });
  }

  unbind(): void {
    this.enqueue(() => {
      this.close();
      this.host.release(this);
      this.host.send({ type: 'UNBOUND', session: this.id });
    });
  }

  /** AccessHolder: the connection's user. */
  accessUser(): { identity: string; isAdmin: boolean } {
    return this.host.user();
  }

  /** AccessHolder: a permission change re-evaluated this session's access (live-access.ts). */
  accessChanged(access: Access): void {
    if (this.state === 'closed' || this.state === 'errored') return;
    this.access = access;
    if (access.level === 'none') this.fail(new TributaryError('PERMISSION_DENIED', `access to ${this.realm?.path} was revoked`));
  }

  /** The connection went away: stop everything, send nothing. */
  close(): void {
    this.unwatchAccess?.();
    this.state = 'closed';
    this.uploadGuard.ended = true;
    if (this.realm && this.fileIdent) this.service.endUploads(this.realm.id, this.fileIdent);
    if (this.attached) this.service.detach(this.realm!.id, this);
    this.attached = false;
  }

  realmChanged(): void {
    this.wake();
  }

  /** Sends a session ERROR and stops the session until the client UNBINDs. */
  fail(e: unknown): void {
    if (this.state === 'closed' || this.state === 'errored') return;
    const err = toSessionError(e);
    if (err.code === 'OTHER_ERROR' || err.code === 'STORAGE_FAILURE') this.log.error('session failed', { error: e, path: this.realm?.path });
    else this.log.info('session error', { code: err.code, message: err.message, path: this.realm?.path });
    this.state = 'errored';
    this.unwatchAccess?.();
    if (this.attached) this.service.detach(this.realm!.id, this);
    this.attached = false;
    this.host.send({
      type: 'ERROR',
      session: this.id,
      code: err.protocolCode ?? 101,
      message: err.message.slice(0, 1000),
      tryAgain: err.action === 'retry',
      action: err.action,
      backoffMs: err.action === 'retry' ? 1000 : 0,
    });
  }

  private usable(what: string): boolean {
    if (this.state === 'errored') return false;
    if (this.state !== 'ready') throw new TributaryError('BAD_MESSAGE_ORDER', `${what} before IDENT`);
    return true;
  }

  /** Validates cursors and decodes the changesets of an UPLOAD (PROTOCOL.md §2: cursors never go backwards). */
  private checkUpload(msg: UploadMessage): DecodedUpload[] {
    if (msg.progressClientVersion < this.progress.clientVersion || msg.progressServerVersion < this.progress.serverVersion) {
      throw new TributaryError(
        'BAD_CLIENT_VERSION',
        `upload cursor moved backwards: (${msg.progressClientVersion}, ${msg.progressServerVersion}) after (${this.progress.clientVersion}, ${this.progress.serverVersion})`,
      );
    }
    // A client cannot have integrated a server version it was never sent.
    if (msg.progressServerVersion > this.cursor.serverVersion) {
      throw new TributaryError('BAD_SERVER_VERSION', `upload based on server version ${msg.progressServerVersion}, which was never downloaded (cursor ${this.cursor.serverVersion})`);
    }
    const out: DecodedUpload[] = [];
    let previousClient = 0;
    let previousServer = 0;
    let total = 0;
    for (const c of msg.changesets) {
      if (c.clientVersion <= previousClient || c.clientVersion > msg.progressClientVersion) {
        throw new TributaryError('BAD_CLIENT_VERSION', `changeset client version ${c.clientVersion} out of order or beyond the upload cursor`);
      }
      if (c.lastIntegratedServerVersion < previousServer || c.lastIntegratedServerVersion > msg.progressServerVersion) {
        throw new TributaryError('BAD_CLIENT_VERSION', `changeset base server version ${c.lastIntegratedServerVersion} moves backwards or beyond the upload cursor`);
      }
      checkTimestamp(c.clientVersion, c.originTimestamp, this.limits.maxClockSkewMs);
      previousClient = c.clientVersion;
      previousServer = c.lastIntegratedServerVersion;
      // Checked from the declared count before anything is decoded: one write transaction is
      // integrated in one step, so its size bounds how long that step can hold the server.
      const count = changesetInstructionCount(c.data);
      if (count > this.limits.maxInstructionsPerChangeset) {
        throw new TributaryError('LIMITS_EXCEEDED', `changeset ${c.clientVersion} has ${count} instructions, over maxInstructionsPerChangeset (${this.limits.maxInstructionsPerChangeset}); split the write into several transactions`);
      }
      total += Math.max(0, count);
      if (total > this.limits.maxInstructionsPerUpload) {
        throw new TributaryError('LIMITS_EXCEEDED', `the UPLOAD holds more than maxInstructionsPerUpload (${this.limits.maxInstructionsPerUpload}) instructions; send fewer changesets per message`);
      }
      if (count < 0) throw new TributaryError('BAD_CHANGESET', `changeset ${c.clientVersion}: unreadable header`);
      // Decoded when its slice integrates it, so a big message is never decoded in one go.
      out.push({ clientVersion: c.clientVersion, lastIntegratedServerVersion: c.lastIntegratedServerVersion, originTimestamp: c.originTimestamp, data: c.data });
    }
    return out;
  }

  private wake(): void {
    this.wanted = true;
    if (!this.pumping) void this.pump();
  }

  /** Streams history after the cursor in byte-bounded DOWNLOADs, pausing while the socket is backed up. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.wanted && this.state === 'ready') {
        this.wanted = false;
        for (;;) {
          if (this.state !== 'ready') return;
          if (this.host.bufferedAmount() > this.limits.maxBufferedBytes) {
            this.host.whenDrained(() => this.wake());
            return;
          }
          const epoch = this.epoch;
          const from = this.cursor;
          // Own entries are skipped, so they do not count against the batch size: keep reading
          // until enough bytes to send are gathered or the history ends.
          let serverVersion = from.serverVersion;
          let lic = from.lastIntegratedClientVersion;
          let bytes = 0;
          // Entries read, own ones included: what one turn of the loop spends is bounded by count
          // as well as by bytes (10,000 changesets of 20 bytes took 15 ms to gather and encode).
          let read = 0;
          const changesets: DownloadChangeset[] = [];
          let batch: DownloadBatch;
          do {
            batch = await this.service.download(this.realm!.id, serverVersion, this.limits.downloadBatchBytes - bytes, this.limits.downloadBatchChangesets - read);
            if (this.state !== 'ready') return;
            if (epoch !== this.epoch || from !== this.cursor) break;
            read += batch.entries.length;
            for (const e of batch.entries) {
              serverVersion = e.version;
              // A client never receives its own changesets; they move its lastIntegratedClientVersion.
              if (e.originFileIdent === this.fileIdent) {
                lic = e.clientVersion;
                continue;
              }
              bytes += e.byteSize;
              changesets.push({
                serverVersion: e.version,
                lastIntegratedClientVersion: lic,
                originTimestamp: e.originTimestamp,
                originFileIdent: e.originFileIdent,
                data: e.data,
              });
            }
          } while (batch.entries.length > 0 && batch.remainingBytes > 0 && bytes < this.limits.downloadBatchBytes && read < this.limits.downloadBatchChangesets);
          if (epoch !== this.epoch || from !== this.cursor) continue; // the cursor jumped (STATE) meanwhile
          // Changes to send, to a session being streamed changes (sent some less than
          // coalesceDownloadsMs ago), while other sessions' writes are committing: wait for that
          // commit and send its changes in the same DOWNLOAD (read again then). Under a stream the
          // commits run back to back, so each DOWNLOAD carries two commits' changes instead of one;
          // a lone change, or changes further apart (a trickle, a merge's slices), go out at once.
          // Never an acknowledgement alone.
          if (changesets.length > 0 && !this.coalesced && serverVersion >= batch.latestVersion && performance.now() - this.lastChangesAt < (this.limits.coalesceDownloadsMs ?? 0)) {
            if (this.service.afterShortCommit(() => this.wake())) {
              this.coalesced = true;
              return;
            }
          }
          if (serverVersion === from.serverVersion) {
            if (this.ackDirty) this.sendDownload([], batch.latestVersion, batch.latestSalt, 0);
            this.flushMarks();
            break;
          }
          // Encoded and sent first: the cursor moves only past what the client was sent.
          this.sendDownload(changesets, batch.latestVersion, batch.latestSalt, batch.remainingBytes, { serverVersion, lastIntegratedClientVersion: lic });
          this.cursor = { serverVersion, lastIntegratedClientVersion: lic };
          this.flushMarks();
          // Caught up with what the read saw: newer versions wake the pump again (`wanted`).
          if (serverVersion >= batch.latestVersion) break;
          // One batch per turn of the event loop: a long catch-up never holds up other sessions
          // for more than the encoding of one DOWNLOAD.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.pumping = false;
    }
  }

  private sendDownload(changesets: DownloadChangeset[], latestVersion: number, latestSalt: number, remaining: number, cursor = this.cursor): void {
    this.coalesced = false;
    if (changesets.length > 0) this.lastChangesAt = performance.now();
    this.host.send({
      type: 'DOWNLOAD',
      session: this.id,
      serverVersion: cursor.serverVersion,
      lastIntegratedClientVersion: cursor.lastIntegratedClientVersion,
      latestServerVersion: latestVersion,
      latestServerVersionSalt: latestSalt,
      uploadClientVersion: this.acked.clientVersion,
      uploadServerVersion: this.acked.serverVersion,
      downloadableBytes: remaining,
      changesets,
    });
    this.ackDirty = false;
  }

  private flushMarks(): void {
    while (this.marks.length > 0 && this.marks[0]!.target <= this.cursor.serverVersion) {
      const { requestId } = this.marks.shift()!;
      this.host.send({ type: 'MARK', session: this.id, requestId });
    }
  }
}

/**
 * A changeset timestamp is a hybrid logical clock value that every replica of the realm will
 * observe: one far in the future would drag every clock there with it (and past 2^53 make them
 * fail). So a timestamp more than the allowed skew ahead of the server's clock is refused; the
 * client's device clock is wrong and must be fixed.
 */
function checkTimestamp(clientVersion: number, timestamp: number, maxSkewMs: number): void {
  const limit = (Date.now() + maxSkewMs) * HLC_COUNTER_BITS;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > limit) {
    const ahead = Number.isFinite(timestamp) ? `${Math.round((hlcPhysicalTime(timestamp) - Date.now()) / 1000)} s ahead of` : 'not comparable with';
    throw new TributaryError(
      'BAD_CHANGESET_HEADER',
      `changeset ${clientVersion}: its timestamp is ${ahead} the server's clock (maxClockSkew ${Math.round(maxSkewMs / 1000)} s); fix the device clock`,
    );
  }
}

function toSessionError(e: unknown): TributaryError {
  if (e instanceof TributaryError) {
    if (e.protocolCode !== undefined) return e;
    if (e.code === 'STORAGE_FAILURE') return new TributaryError('OTHER_ERROR', 'the server could not store the change; try again', { cause: e });
    return new TributaryError('OTHER_ERROR', e.message, { cause: e });
  }
  return new TributaryError('OTHER_ERROR', 'internal server error', { cause: e });
}

import { TributaryError } from '../errors';
import type { DownloadMessage } from '../protocol';
import { silentLogger, type Logger } from '../shared/logger';
import type { ReplicaHandle } from '../store';

export type ProgressDirection = 'upload' | 'download';
export type ProgressMode = 'reportIndefinitely' | 'forCurrentlyOutstandingWork';
export type ProgressCallback = (transferred: number, transferable: number) => void;

interface Registration {
  direction: ProgressDirection;
  mode: ProgressMode;
  callback: ProgressCallback;
  /** forCurrentlyOutstandingWork: the transferable bytes when registered. */
  target?: number;
}

/**
 * realm-js progress notifications of one session. Byte counts are changeset bytes since the
 * session started: upload transferable = acknowledged + not yet acknowledged local changesets;
 * download transferable = received + what the server said remained after its last DOWNLOAD.
 * `forCurrentlyOutstandingWork` reports up to the amount outstanding when registered, then
 * removes itself; `reportIndefinitely` reports every change until removed.
 */
export class ProgressNotifier {
  private readonly registrations = new Set<Registration>();

  /** `log`: where a callback's exception goes (it is caught so the session carries on). */
  constructor(private readonly log: Pick<Logger, 'error'> = silentLogger) {}

  private readonly state = { upload: { transferred: 0, transferable: 0 }, download: { transferred: 0, transferable: 0 } };

  get active(): boolean {
    return this.registrations.size > 0;
  }

  add(direction: ProgressDirection, mode: ProgressMode, callback: ProgressCallback): void {
    const reg: Registration = { direction, mode, callback };
    if (mode === 'forCurrentlyOutstandingWork') reg.target = this.state[direction].transferable;
    this.registrations.add(reg);
    setImmediate(() => {
      if (this.registrations.has(reg)) this.report(reg);
    });
  }

  remove(callback: ProgressCallback): void {
    for (const r of this.registrations) if (r.callback === callback) this.registrations.delete(r);
  }

  update(direction: ProgressDirection, transferred: number, transferable: number): void {
    const s = this.state[direction];
    if (s.transferred === transferred && s.transferable === transferable) return;
    s.transferred = transferred;
    s.transferable = Math.max(transferable, transferred);
    for (const r of [...this.registrations]) if (r.direction === direction) this.report(r);
  }

  get download(): { transferred: number; transferable: number } {
    return { ...this.state.download };
  }

  private report(r: Registration): void {
    const s = this.state[r.direction];
    const transferable = r.target ?? s.transferable;
    const transferred = Math.min(s.transferred, transferable);
    if (r.target !== undefined && transferred >= transferable) this.registrations.delete(r);
    try {
      r.callback(transferred, transferable);
    } catch (e) {
      this.log.error('a progress callback threw', { direction: r.direction, error: e });
    }
  }

  clear(): void {
    this.registrations.clear();
  }
}

/**
 * The byte counts behind one session's progress notifications, kept from what the session
 * integrates and commits: upload transferred = bytes of local changesets the server acknowledged,
 * counted before the integration that acknowledges them trims them from the history; download
 * transferred = changeset bytes received (snapshots included).
 */
export class SessionProgress {
  private readonly notifier: ProgressNotifier;
  private uploadAckedBytes = 0;
  private downloadedBytes = 0;

  /** `log`: where a progress callback's exception goes. */
  constructor(
    private readonly replica: Pick<ReplicaHandle, 'isClosed' | 'progress' | 'changesetsAfter'>,
    log: Pick<Logger, 'error'> = silentLogger,
  ) {
    this.notifier = new ProgressNotifier(log);
  }

  /** See Session.addProgressNotification. */
  add(direction: ProgressDirection, mode: ProgressMode, callback: ProgressCallback): void {
    if (direction !== 'upload' && direction !== 'download') throw new TributaryError('INVALID_ARGUMENT', `progress direction must be 'upload' or 'download', not ${String(direction)}`);
    if (mode !== 'reportIndefinitely' && mode !== 'forCurrentlyOutstandingWork') {
      throw new TributaryError('INVALID_ARGUMENT', `progress mode must be 'reportIndefinitely' or 'forCurrentlyOutstandingWork', not ${String(mode)}`);
    }
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addProgressNotification expects a callback');
    if (direction === 'upload') this.updateUpload();
    this.notifier.add(direction, mode, callback);
  }

  remove(callback: ProgressCallback): void {
    this.notifier.remove(callback);
  }

  clear(): void {
    this.notifier.clear();
  }

  /** A local changeset was committed: there is more to upload. */
  localCommitted(): void {
    if (this.notifier.active) this.updateUpload();
  }

  /** Before `messages` are integrated: counts the local changesets they acknowledge. */
  acknowledging(messages: DownloadMessage[]): void {
    const ackBefore = this.replica.progress.acknowledged.clientVersion;
    const ackAfter = Math.max(...messages.map((m) => m.uploadClientVersion));
    if (this.notifier.active && ackAfter > ackBefore) {
      for (const c of this.replica.changesetsAfter(ackBefore)) if (c.clientVersion <= ackAfter) this.uploadAckedBytes += c.data.length;
    }
  }

  /** After `messages` were integrated. */
  downloaded(messages: DownloadMessage[]): void {
    for (const message of messages) this.downloadedBytes += message.changesets.reduce((n, c) => n + c.data.length, 0);
    if (this.notifier.active) {
      this.notifier.update('download', this.downloadedBytes, this.downloadedBytes + messages[messages.length - 1]!.downloadableBytes);
      this.updateUpload();
    }
  }

  /** A snapshot of `bytes` encoded bytes arrived. */
  snapshotDownloaded(bytes: number): void {
    this.downloadedBytes += bytes;
    if (this.notifier.active) this.notifier.update('download', this.downloadedBytes, this.downloadedBytes);
  }

  private updateUpload(): void {
    if (this.replica.isClosed) return;
    const acked = this.replica.progress.acknowledged.clientVersion;
    const pending = this.replica.changesetsAfter(acked).reduce((n, c) => n + c.data.length, 0);
    this.notifier.update('upload', this.uploadAckedBytes, this.uploadAckedBytes + pending);
  }
}

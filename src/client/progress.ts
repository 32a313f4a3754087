import { silentLogger, type Logger } from '../shared/logger';

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

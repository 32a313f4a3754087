import { TributaryError } from '../errors';

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

interface UploadWaiter extends Waiter {
  target: number;
}

/**
 * The promises a session owes its callers — `uploadAllLocalChanges` (until the server acknowledges
 * a client version) and `downloadAllServerChanges` (until a MARK round trip completes) — with
 * their timeouts. MARKs belong to one binding: the ones in flight when the connection drops are
 * sent again on the next binding. Kept apart from the session so its protocol code reads as
 * protocol, not bookkeeping.
 */
export class SessionWaiters {
  private nextRequestId = 1;
  /** MARK requests in flight on the current binding, by request id. */
  private readonly marks = new Map<number, Waiter>();
  /** downloadAllServerChanges() calls waiting for a binding to send their MARK on. */
  private readonly unsentMarks: Waiter[] = [];
  private readonly uploads: UploadWaiter[] = [];

  /** Settles once {@link acknowledged} reaches `target`. */
  waitForUpload(target: number, resolve: () => void, reject: (e: Error) => void, timeoutMs: number | undefined): void {
    const waiter: UploadWaiter = { target, resolve, reject };
    withTimeout(waiter, timeoutMs, 'uploadAllLocalChanges', () => remove(this.uploads, waiter));
    this.uploads.push(waiter);
  }

  /** Settles when the MARK answers: sent now through `send` when bound, else on {@link sendUnsent}. */
  waitForMark(resolve: () => void, reject: (e: Error) => void, timeoutMs: number | undefined, send: ((requestId: number) => void) | null): void {
    const waiter: Waiter = { resolve, reject };
    withTimeout(waiter, timeoutMs, 'downloadAllServerChanges', () => {
      remove(this.unsentMarks, waiter);
      for (const [id, w] of this.marks) if (w === waiter) this.marks.delete(id);
    });
    if (send) this.sendMark(waiter, send);
    else this.unsentMarks.push(waiter);
  }

  /** A binding is ready: sends the MARKs that waited for one. */
  sendUnsent(send: (requestId: number) => void): void {
    for (const w of this.unsentMarks.splice(0)) this.sendMark(w, send);
  }

  private sendMark(waiter: Waiter, send: (requestId: number) => void): void {
    const requestId = this.nextRequestId++;
    this.marks.set(requestId, waiter);
    send(requestId);
  }

  /** The server answered MARK `requestId`. */
  markAnswered(requestId: number): void {
    const w = this.marks.get(requestId);
    this.marks.delete(requestId);
    if (w) settle(w);
  }

  /** The binding is gone: MARKs in flight are lost with it; send them again on the next one. */
  unbound(): void {
    for (const w of this.marks.values()) this.unsentMarks.push(w);
    this.marks.clear();
  }

  /** The server acknowledged every local changeset up to `clientVersion`. */
  acknowledged(clientVersion: number): void {
    for (const w of [...this.uploads]) {
      if (w.target <= clientVersion) {
        remove(this.uploads, w);
        settle(w);
      }
    }
  }

  rejectAll(error: Error): void {
    const all: Waiter[] = [...this.marks.values(), ...this.unsentMarks.splice(0), ...this.uploads.splice(0)];
    this.marks.clear();
    for (const w of all) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
  }
}

function withTimeout(w: Waiter, timeoutMs: number | undefined, what: string, cleanup: () => void): void {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return;
  w.timer = setTimeout(() => {
    cleanup();
    w.reject(new TributaryError('TIMEOUT', `${what} did not finish within ${timeoutMs} ms`));
  }, timeoutMs);
}

function settle(w: Waiter): void {
  if (w.timer) clearTimeout(w.timer);
  w.resolve();
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

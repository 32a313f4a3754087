/**
 * Callers waiting until a position is reached: an apply barrier waiting for capture to process
 * the database's position at the moment the barrier was taken, `caughtUp()` waiting for a marker.
 * `reached` releases every waiter at or below the position; `rejectAll` fails them (stop, halt).
 */
export class PositionWaiters<P> {
  private waiters: { at: P; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(private readonly compare: (a: P, b: P) => number) {}

  /** Resolves once `reached(p)` is called with `p` at or after `at`; rejects with `timeout()` after `timeoutMs`. */
  wait(at: P, timeoutMs: number, timeout: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        reject(timeout());
      }, timeoutMs);
      const entry = {
        at,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(entry);
    });
  }

  reached(p: P): void {
    this.waiters = this.waiters.filter((w) => (this.compare(w.at, p) <= 0 ? (w.resolve(), false) : true));
  }

  rejectAll(e: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
}

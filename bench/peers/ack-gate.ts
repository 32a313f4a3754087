/**
 * Waits until a client's unacknowledged changes drop below a limit. Drivers call `check()`
 * whenever an acknowledgement may have arrived, so a writer waiting on its window does not spin
 * the event loop (which would bill busy-waiting as client CPU).
 */
export class AckGate {
  private readonly waiters: Array<{ limit: number; resolve: () => void }> = [];

  constructor(private readonly unacked: () => number) {}

  whenBelow(limit: number): Promise<void> {
    if (this.unacked() < limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ limit, resolve }));
  }

  check(): void {
    if (this.waiters.length === 0) return;
    const n = this.unacked();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (n < this.waiters[i]!.limit) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }
}

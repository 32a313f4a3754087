/** Reconnect timing: exponential back-off with full jitter (AWS architecture blog's "full jitter"). */
export interface BackoffOptions {
  /** First delay's upper bound (default 250 ms). */
  initialMs: number;
  /** Largest upper bound (default 30 s). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000 };

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay: uniform in [0, min(max, initial · 2^attempt)], at least `floorMs`. */
  next(floorMs = 0): number {
    const cap = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(floorMs, Math.floor(this.random() * cap));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

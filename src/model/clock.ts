/**
 * Hybrid logical clock timestamps packed in one safe integer: milliseconds since the epoch times
 * 1024 plus a counter. The packed value orders like (physical ms, counter) and stays below 2^53
 * until the year 2248.
 */
export const HLC_COUNTER_BITS = 1024;

/**
 * How far ahead of this clock's own time an observed timestamp may be and still move it (24 h).
 * A timestamp beyond that is a broken peer's, not a real one (the server refuses uploads more
 * than maxClockSkew ahead of its clock); following it would push every later local timestamp
 * toward 2^53, where they could no longer be encoded.
 */
export const MAX_OBSERVED_SKEW_MS = 24 * 3600 * 1000;

export class HybridLogicalClock {
  private last = 0;
  constructor(private readonly now: () => number = Date.now) {}

  /** A timestamp greater than every earlier one issued or observed. */
  tick(): number {
    const physical = Math.floor(this.now()) * HLC_COUNTER_BITS;
    this.last = physical > this.last ? physical : this.last + 1;
    return this.last;
  }

  /**
   * Moves the clock past a timestamp seen from elsewhere; returns false (and stays put) for one
   * more than {@link MAX_OBSERVED_SKEW_MS} ahead of the local time, or not a safe integer.
   */
  observe(timestamp: number): boolean {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) return false;
    if (timestamp > (Math.floor(this.now()) + MAX_OBSERVED_SKEW_MS) * HLC_COUNTER_BITS) return false;
    if (timestamp > this.last) this.last = timestamp;
    return true;
  }

  /** Starts from this clock's own persisted value (no skew bound: it is ours). */
  restore(timestamp: number): void {
    if (Number.isSafeInteger(timestamp) && timestamp > this.last) this.last = timestamp;
  }

  get current(): number {
    return this.last;
  }
}

export function hlcPhysicalTime(timestamp: number): number {
  return Math.floor(timestamp / HLC_COUNTER_BITS);
}

/**
 * Hybrid logical clock timestamps packed in one safe integer: milliseconds since the epoch times
 * 1024 plus a counter. The packed value orders like (physical ms, counter) and stays below 2^53
 * until the year 2248.
 */
export const HLC_COUNTER_BITS = 1024;

export class HybridLogicalClock {
  private last = 0;
  constructor(private readonly now: () => number = Date.now) {}

  /** A timestamp greater than every earlier one issued or observed. */
  tick(): number {
    const physical = Math.floor(this.now()) * HLC_COUNTER_BITS;
    this.last = physical > this.last ? physical : this.last + 1;
    return this.last;
  }

  /** Moves the clock past a timestamp seen from elsewhere. */
  observe(timestamp: number): void {
    if (Number.isSafeInteger(timestamp) && timestamp > this.last) this.last = timestamp;
  }

  get current(): number {
    return this.last;
  }
}

export function hlcPhysicalTime(timestamp: number): number {
  return Math.floor(timestamp / HLC_COUNTER_BITS);
}

/**
 * The cluster time: a BSON Timestamp (seconds since the epoch, increment) that every committed
 * write takes a new, strictly greater value of. Held as a bigint `t << 32 | i` so it orders with
 * `<`; converted to `Timestamp` only on the wire.
 */
import { Timestamp } from 'mongodb';

export type ClusterTime = bigint;

export function toTimestamp(time: ClusterTime): Timestamp {
  return new Timestamp({ t: Number(time >> 32n), i: Number(time & 0xffffffffn) });
}

export function fromTimestamp(ts: Timestamp): ClusterTime {
  return (BigInt(ts.t) << 32n) | BigInt(ts.i);
}

export function secondsOf(time: ClusterTime): number {
  return Number(time >> 32n);
}

export class ClusterClock {
  private last: ClusterTime;

  constructor(private readonly nowMs: () => number = Date.now) {
    // The first time is a no-op "initiate" entry, as a fresh replica set has.
    this.last = BigInt(Math.floor(this.nowMs() / 1000)) << 32n | 1n;
  }

  /** The latest cluster time handed out (what reads report as `operationTime`). */
  get current(): ClusterTime {
    return this.last;
  }

  /** A new cluster time for a commit: this second with the next increment, or the next second. */
  tick(): ClusterTime {
    const seconds = BigInt(Math.floor(this.nowMs() / 1000));
    const lastSeconds = this.last >> 32n;
    this.last = seconds > lastSeconds ? (seconds << 32n) | 1n : this.last + 1n;
    return this.last;
  }

  /** Gossip: a client that saw a later time (from this server before a restart) moves the clock on. */
  advanceTo(time: ClusterTime): void {
    if (time > this.last) this.last = time;
  }
}

import { TributaryError } from '../errors';

export interface LoginThrottleOptions {
  /** Failed logins of one account before it backs off. */
  perAccount: number;
  /** Failed logins from one address (any accounts) before it backs off. */
  perAddress: number;
  /** Longest back-off, ms; failures older than twice this are forgotten. */
  maxMs: number;
  /** Entries kept (oldest dropped first), so a flood of names cannot grow memory without bound. */
  maxEntries?: number;
}

interface Entry {
  failures: number;
  last: number;
  until: number;
}

/**
 * Back-off for password logins, per account and per client address. After `perAccount` failures
 * an account is locked for 1 s, doubling with each further failure up to `maxMs`; the same for an
 * address after `perAddress` failures over any accounts. While locked, attempts are refused with
 * RATE_LIMITED before the password is checked — the right password included, so a guesser learns
 * nothing — and do not extend the lock. A successful login clears its account, never its address
 * (or one valid account would let an attacker reset the address count).
 *
 * In memory: a restart forgets it, and several server processes each count on their own.
 */
export class LoginThrottle {
  private readonly accounts = new Map<string, Entry>();
  private readonly addresses = new Map<string, Entry>();
  private readonly maxEntries: number;

  constructor(
    private readonly options: LoginThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Throws RATE_LIMITED while the account or the address is locked. */
  check(account: string, address: string): void {
    const t = this.now();
    const wait = Math.max(this.lockedFor(this.accounts, account.toLowerCase(), t), this.lockedFor(this.addresses, address, t));
    if (wait > 0) {
      throw new TributaryError('RATE_LIMITED', `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
    }
  }

  failed(account: string, address: string): void {
    const t = this.now();
    this.bump(this.accounts, account.toLowerCase(), this.options.perAccount, t);
    this.bump(this.addresses, address, this.options.perAddress, t);
  }

  succeeded(account: string): void {
    this.accounts.delete(account.toLowerCase());
  }

  private lockedFor(map: Map<string, Entry>, key: string, t: number): number {
    const e = map.get(key);
    if (!e) return 0;
    if (t - e.last > 2 * this.options.maxMs) {
      map.delete(key);
      return 0;
    }
    return Math.max(0, e.until - t);
  }

  private bump(map: Map<string, Entry>, key: string, threshold: number, t: number): void {
    let e = map.get(key);
    if (e && t - e.last > 2 * this.options.maxMs) e = undefined;
    if (!e) {
      e = { failures: 0, last: t, until: 0 };
      if (map.size >= this.maxEntries) map.delete(map.keys().next().value!);
    }
    map.delete(key); // re-inserted last: the map stays in least-recently-failed order
    e.failures++;
    e.last = t;
    if (e.failures >= threshold) e.until = t + Math.min(this.options.maxMs, 1000 * 2 ** Math.min(30, e.failures - threshold));
    map.set(key, e);
  }
}

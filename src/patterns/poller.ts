import * as path from 'node:path';
import type { User } from '../client';
import { Backoff } from '../shared/backoff';
import { realmBaseUrl } from '../admin-client';
import { TributaryError } from '../errors';
import type { ObjectSchemaInput } from '../model';
import type { Realm } from '../realm';
import { sleep } from './dequeuer';
import { applyDiff, type DiffCounts } from './diff';
import { describeError } from './fetch-request';
import { quietLog, type PatternLogger } from './log';
import { OwnerId } from './owner';
import type { PollFunction } from './poll-source';
import { RealmPool } from './realm-pool';
import { PollerLeaseSchema } from './schemas';

export interface PollerOptions<Item extends Record<string, unknown> = Record<string, unknown>> {
  /** `realm://host:port` of the sync server. */
  serverUrl: string;
  adminUser: User;
  /** Local state (the realm copy, the runtime id); one running process per directory. */
  directory: string;
  /** Names the polled source; runtimes with the same target and path share one lease. */
  target: string;
  /** The realm the items go to. */
  path: string;
  /** Schemas of the realm (`PollerLease` is added); `type` must have a primary key. */
  schema: ObjectSchemaInput[];
  /** The object type the items are written as. */
  type: string;
  /** Fetches the current list (see `httpJsonSource` for JSON over HTTP with ETag / If-Modified-Since). */
  poll: PollFunction<Item>;
  /** Between polls (default 60 s). */
  intervalMs?: number;
  /** ± this fraction of the interval, at random (default 0.1), so pollers started together drift apart. */
  jitter?: number;
  /** Delete objects the source no longer lists (default true). */
  deleteMissing?: boolean;
  /** Back-off after a failed poll: full jitter, doubling (default from the interval up to 10 intervals). */
  retry?: { initialMs: number; maxMs: number };
  /** How long a lease lasts unless renewed (default 3 intervals). The holder renews it every poll. */
  leaseMs?: number;
  /**
   * After a claim was acknowledged, wait this long, download, and poll only if the claim is still
   * ours (default a quarter of the interval, at most 1 s). Claims made at the same moment by two
   * runtimes merge last-writer-wins, the same way everywhere; the wait lets the other claim reach
   * the server first so both read the same winner.
   */
  confirmDelayMs?: number;
  /** Time limit for the server's acknowledgements (default 30 s). */
  syncTimeoutMs?: number;
  /** Stable runtime id (default: generated once and kept in `directory`). */
  owner?: string;
  log?: PatternLogger;
  signal?: AbortSignal;
}

export interface PollerStats extends DiffCounts {
  polls: number;
  notModified: number;
  errors: number;
  claims: number;
  lostClaims: number;
}

type Role = 'holder' | 'follower';

/**
 * Polls an external source on an interval and writes only what changed into a realm, with one
 * active poller per target across runtimes.
 *
 * The lease is a `PollerLease {target, owner, leaseUntil}` object in the same realm. A runtime
 * claims it when it is free or expired — another runtime's lease only once a download confirms the
 * expiry, so a replica behind the holder's renewals does not take over — (writing owner and expiry, waiting for the server's ack,
 * then confirming after `confirmDelayMs` that the converged value names it); the holder renews it
 * with every poll, and a graceful `stop()` releases it.
 *
 * @example
 * const poller = new Poller({
 *   serverUrl: 'realm://127.0.0.1:9080', adminUser, directory: './poller',
 *   target: 'products', path: '/catalog', schema: [Product], type: 'Product',
 *   poll: httpJsonSource('https://example.com/products.json', (json) => json.products),
 *   intervalMs: 30_000,
 * });
 * await poller.start();
 */
export class Poller<Item extends Record<string, unknown> = Record<string, unknown>> {
  readonly stats: PollerStats = { polls: 0, notModified: 0, errors: 0, claims: 0, lostClaims: 0, inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
  readonly owner: OwnerId;
  private readonly pool: RealmPool;
  private readonly abort = new AbortController();
  private readonly log: PatternLogger;
  private readonly backoff: Backoff;
  private readonly o: { intervalMs: number; jitter: number; deleteMissing: boolean; leaseMs: number; confirmDelayMs: number; syncTimeoutMs: number };
  private loop: Promise<void> | null = null;
  private stopped = false;
  private role: Role = 'follower';

  constructor(private readonly options: PollerOptions<Item>) {
    if (!options || typeof options.poll !== 'function' || !options.target || !options.path || !options.type) {
      throw new TributaryError('INVALID_ARGUMENT', 'new Poller(options) needs target, path, type and a poll function');
    }
    const intervalMs = options.intervalMs ?? 60_000;
    this.o = {
      intervalMs,
      jitter: options.jitter ?? 0.1,
      deleteMissing: options.deleteMissing ?? true,
      leaseMs: options.leaseMs ?? 3 * intervalMs,
      confirmDelayMs: options.confirmDelayMs ?? Math.min(1000, Math.round(intervalMs / 4)),
      syncTimeoutMs: options.syncTimeoutMs ?? 30_000,
    };
    this.backoff = new Backoff(options.retry ?? { initialMs: intervalMs, maxMs: 10 * intervalMs });
    this.log = options.log ?? quietLog;
    this.owner = new OwnerId(options.directory, options.owner);
    this.pool = new RealmPool({ realmUrl: realmBaseUrl(options.serverUrl), adminUser: options.adminUser, directory: path.join(options.directory, 'realms'), schema: [...options.schema, PollerLeaseSchema] });
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Starts the loop (after the realm's first download). */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.pool.ready(this.options.path, this.o.syncTimeoutMs);
    this.loop = this.run();
  }

  /** True while this runtime holds the lease. */
  get isActive(): boolean {
    return this.role === 'holder';
  }

  /** Stops polling (aborting a poll in flight) and releases the lease if held. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    if (this.role === 'holder') {
      try {
        const realm = this.realm;
        realm.write(() => {
          const lease = this.lease(realm);
          if (lease && this.owner.isMe(lease.owner)) lease.leaseUntil = new Date();
        });
        await this.pool.upload(this.options.path, 5_000);
      } catch (e) {
        this.log.warn?.('poller: could not release the lease; it expires on its own', { target: this.options.target, error: e });
      }
      this.role = 'follower';
    }
    this.pool.close();
  }

  private get realm(): Realm {
    return this.pool.get(this.options.path);
  }

  private lease(realm: Realm): any {
    return realm.objectForPrimaryKey<any>('PollerLease', this.options.target);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const tickStart = Date.now();
      let wait = this.nextInterval();
      try {
        if (await this.hold()) {
          const ok = await this.pollOnce();
          // The interval runs from poll start to poll start.
          wait = ok ? Math.max(0, wait - (Date.now() - tickStart)) : this.backoff.next(Math.round(this.o.intervalMs / 2));
        } else {
          // Look again when the current lease would expire, or after an interval.
          const lease = this.lease(this.realm);
          const until = lease?.leaseUntil instanceof Date ? lease.leaseUntil.getTime() - Date.now() : 0;
          wait = Math.max(10, Math.min(wait, until + 10));
        }
      } catch (e) {
        if (this.stopped) break;
        this.log.error('poller: lease or realm failure', { target: this.options.target, error: e });
        wait = this.backoff.next(Math.round(this.o.intervalMs / 2));
      }
      await sleep(wait, this.abort.signal);
    }
  }

  private nextInterval(): number {
    const j = this.o.jitter;
    return Math.max(1, Math.round(this.o.intervalMs * (1 - j + 2 * j * Math.random())));
  }

  /** Holds the lease after this (claiming or renewing it), or returns false. */
  private async hold(): Promise<boolean> {
    const realm = this.realm;
    let now = Date.now();
    let lease = this.lease(realm);
    let mine = lease && this.owner.isMe(lease.owner);
    let free = this.isFree(lease, now);
    if (!mine && free && lease?.owner && !this.owner.isEarlierIncarnation(lease.owner)) {
      // Another runtime's lease looks expired here: the replica may only be behind its renewals.
      // Decide on the server's state, not a stale copy (under load a download can lag the holder's
      // renewals by more than the lease, and a claim on that view would take over a live holder).
      await this.pool.download(this.options.path, this.o.syncTimeoutMs);
      if (this.stopped) return false;
      now = Date.now();
      lease = this.lease(realm);
      mine = lease && this.owner.isMe(lease.owner);
      free = this.isFree(lease, now);
    }
    if (!mine && !free) {
      if (this.role === 'holder') {
        this.stats.lostClaims++;
        this.log.warn?.('poller: another runtime holds the lease now; standing by', { target: this.options.target, owner: lease.owner });
      }
      this.role = 'follower';
      return false;
    }
    realm.write(() => {
      realm.create('PollerLease', { target: this.options.target, owner: this.owner.value, leaseUntil: new Date(now + this.o.leaseMs) }, 'modified');
    });
    await this.pool.upload(this.options.path, this.o.syncTimeoutMs);
    if (this.role === 'holder' && mine) return true;
    // A new claim: let concurrent claims reach the server, then read the converged owner.
    this.stats.claims++;
    await sleep(this.o.confirmDelayMs, this.abort.signal);
    if (this.stopped) return false;
    await this.pool.download(this.options.path, this.o.syncTimeoutMs);
    const after = this.lease(realm);
    if (after && this.owner.isMe(after.owner)) {
      this.role = 'holder';
      this.log.info?.('poller: holding the lease', { target: this.options.target });
      return true;
    }
    this.stats.lostClaims++;
    this.role = 'follower';
    return false;
  }

  private isFree(lease: any, now: number): boolean {
    return !lease || !lease.owner || this.owner.isEarlierIncarnation(lease.owner) || !(lease.leaseUntil instanceof Date) || lease.leaseUntil.getTime() <= now;
  }

  /** One poll and its write; false on failure (logged, and recorded in the lease). */
  private async pollOnce(): Promise<boolean> {
    const realm = this.realm;
    const lease = this.lease(realm);
    this.stats.polls++;
    try {
      const result = await this.options.poll({ signal: this.abort.signal, etag: lease?.etag ?? null, lastModified: lease?.lastModified ?? null });
      if (this.stopped) return true;
      if (result.notModified) {
        this.stats.notModified++;
        realm.write(() => {
          lease.lastPollAt = new Date();
          lease.lastError = null;
        });
      } else {
        realm.write(() => {
          const counts = applyDiff(realm, this.options.type, result.items, this.o.deleteMissing);
          this.stats.inserted += counts.inserted;
          this.stats.updated += counts.updated;
          this.stats.deleted += counts.deleted;
          this.stats.unchanged += counts.unchanged;
          const now = new Date();
          lease.etag = result.etag ?? null;
          lease.lastModified = result.lastModified ?? null;
          lease.lastPollAt = now;
          lease.lastError = null;
          if (counts.inserted + counts.updated + counts.deleted > 0) lease.lastChangeAt = now;
        });
      }
      await this.pool.upload(this.options.path, this.o.syncTimeoutMs);
      this.backoff.reset();
      return true;
    } catch (error) {
      if (this.stopped) return true;
      this.stats.errors++;
      this.log.warn?.('poller: poll failed; backing off', { target: this.options.target, error: describeError(error) });
      try {
        realm.write(() => {
          if (lease?.isValid()) lease.lastError = describeError(error);
        });
      } catch {
        // the realm is going away
      }
      return false;
    }
  }
}

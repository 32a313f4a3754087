import * as path from 'node:path';
import type { User } from '../client';
import { Backoff } from '../shared/backoff';
import { Semaphore, realmBaseUrl } from '../admin-client';
import { TributaryError } from '../errors';
import { Notifier, type ChangeEvent } from '../notifier';
import type { Realm } from '../realm';
import { sleep } from './dequeuer';
import {
  describeError,
  fetchRequestSchema,
  httpCall,
  isRetryable as defaultIsRetryable,
  parseJson,
  storedResult,
  type CallFunction,
  type FetchRequestView,
} from './fetch-request';
import { quietLog, type PatternLogger } from './log';
import { OwnerId } from './owner';
import { RealmPool } from './realm-pool';

export interface FetcherOptions {
  /** `realm://host:port` of the sync server. */
  serverUrl: string;
  adminUser: User;
  /** Local state: the realms it writes, the notifier's copies (unless `notifier` is given), its runtime id. Keep it across restarts. */
  directory: string;
  /** Realms holding requests (a notifier regex, e.g. `^/[0-9a-f]+/requests$`). */
  path: RegExp | string;
  /** The request type (default `FetchRequest`; schema: `fetchRequestSchema(typeName)`). */
  typeName?: string;
  /** The call (default: `fetch` of the request's url). Receives the idempotency key and an AbortSignal. */
  call?: CallFunction;
  /** Per call (default 10 s); the call's signal aborts then. */
  timeoutMs?: number;
  /** Calls per request before it ends in `error` (default 5). */
  maxAttempts?: number;
  /** Back-off between attempts: full jitter, doubling (default 500 ms to 30 s). */
  retry?: { initialMs: number; maxMs: number };
  /** Calls in flight at once, over all realms (default 8). */
  concurrency?: number;
  /** A lease lasts the timeout plus this (default 5 s); another runtime takes a request over only after it. */
  leaseMarginMs?: number;
  /** How often realms are scanned for requests whose lease expired (default 2 s). */
  sweepIntervalMs?: number;
  /**
   * With several fetcher runtimes on the same realms: wait this long after a claim was acknowledged
   * and read it back, so concurrent claims have converged (last writer wins) and only the winner
   * calls (default 0: one runtime per realm, no wait).
   */
  confirmDelayMs?: number;
  /** Which failures are worth another attempt (default: 5xx, 408, 425, 429, timeouts, network errors). */
  isRetryable?: (error: unknown) => boolean;
  /** A notifier to share (its adminUser should be this one); by default the fetcher creates its own. */
  notifier?: Notifier;
  /** Stable runtime id (default: generated once and kept in `directory`). */
  owner?: string;
  log?: PatternLogger;
  signal?: AbortSignal;
}

export interface FetcherStats {
  claimed: number;
  calls: number;
  done: number;
  failed: number;
  retries: number;
  takenOver: number;
}

const FINAL = new Set(['done', 'error']);

/**
 * Watches realms for request objects and performs them: a client inserts `FetchRequest {id, url}`
 * with status `pending`; the fetcher claims it (status `in-progress`, `owner`, `leaseUntil`,
 * `attempts + 1`), waits until the server acknowledged the claim, calls, and writes `result`
 * (status `done`) or, after `maxAttempts` or a permanent failure, `error` (status `error`).
 *
 * Delivery is at-least-once for the external call and exactly-once for the recorded outcome: a
 * runtime killed after a call returned but before its result was acknowledged leaves the request
 * `in-progress`; when the lease expires (at once for a restart of the same runtime) the call is
 * made again with the same idempotency key, so a server that honours it answers from its record.
 *
 * @example
 * const fetcher = new Fetcher({ serverUrl: 'realm://127.0.0.1:9080', adminUser, directory: './fetcher', path: '^/[0-9a-f]+/requests$' });
 * await fetcher.start();
 * // a client: realm.write(() => realm.create('FetchRequest', { id: uuid(), url: 'https://api.example.com/rates' }))
 */
export class Fetcher {
  readonly stats: FetcherStats = { claimed: 0, calls: 0, done: 0, failed: 0, retries: 0, takenOver: 0 };
  readonly owner: OwnerId;
  private readonly typeName: string;
  private readonly pool: RealmPool;
  private readonly notifier: Notifier;
  private readonly ownsNotifier: boolean;
  private readonly slots: Semaphore;
  private readonly active = new Map<string, Promise<void>>();
  private readonly paths = new Set<string>();
  private readonly abort = new AbortController();
  private readonly log: PatternLogger;
  private readonly o: Required<Pick<FetcherOptions, 'timeoutMs' | 'maxAttempts' | 'leaseMarginMs' | 'sweepIntervalMs' | 'confirmDelayMs' | 'isRetryable' | 'call'>> & { retry: { initialMs: number; maxMs: number } };
  private sweeper: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private readonly onChange = (event: ChangeEvent) => this.changed(event);
  private readonly onAvailable = (realmPath: string) => this.available(realmPath);

  constructor(private readonly options: FetcherOptions) {
    if (!options || !options.adminUser || !options.directory || options.path === undefined) {
      throw new TributaryError('INVALID_ARGUMENT', 'new Fetcher(options) needs serverUrl, adminUser, directory and path');
    }
    this.typeName = options.typeName ?? 'FetchRequest';
    this.o = {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 5,
      leaseMarginMs: options.leaseMarginMs ?? 5_000,
      sweepIntervalMs: options.sweepIntervalMs ?? 2_000,
      confirmDelayMs: options.confirmDelayMs ?? 0,
      isRetryable: options.isRetryable ?? defaultIsRetryable,
      call: options.call ?? httpCall,
      retry: options.retry ?? { initialMs: 500, maxMs: 30_000 },
    };
    this.log = options.log ?? quietLog;
    this.owner = new OwnerId(options.directory, options.owner);
    this.slots = new Semaphore(options.concurrency ?? 8);
    this.pool = new RealmPool({ realmUrl: realmBaseUrl(options.serverUrl), adminUser: options.adminUser, directory: path.join(options.directory, 'realms'), schema: [fetchRequestSchema(this.typeName)] });
    this.ownsNotifier = !options.notifier;
    this.notifier = options.notifier ?? new Notifier({ serverUrl: options.serverUrl, adminUser: options.adminUser, directory: path.join(options.directory, 'notifier'), log: options.log });
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Starts watching; resolves when the realm directory has been read. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.notifier.addListener(this.options.path, 'available', this.onAvailable);
    await this.notifier.addListener(this.options.path, 'change', this.onChange);
    this.sweeper = setInterval(() => this.sweep(), this.o.sweepIntervalMs);
    this.sweeper.unref?.();
  }

  /** Stops taking requests, aborts calls in flight (their requests stay leased and are resumed later), closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.abort.abort();
    await this.notifier.removeListener(this.options.path, 'change', this.onChange).catch(() => undefined);
    await this.notifier.removeListener(this.options.path, 'available', this.onAvailable).catch(() => undefined);
    await Promise.allSettled([...this.active.values()]);
    if (this.ownsNotifier) await this.notifier.close();
    this.pool.close();
  }

  /** Requests being worked on now. */
  get inFlight(): number {
    return this.active.size;
  }

  // ---- discovery -----------------------------------------------------------------------------

  private available(realmPath: string): void {
    if (this.stopped) return;
    this.paths.add(realmPath);
    // A restart sees no event for requests left unfinished: find them.
    void this.pool.ready(realmPath).then(() => this.scan(realmPath), (e) => this.log.error('fetcher: cannot read realm', { path: realmPath, error: e }));
  }

  /** Handlers return at once; the work runs beside the notifier (which holds a realm's next event until they return). */
  private changed(event: ChangeEvent): void {
    if (this.stopped) return;
    this.paths.add(event.path);
    const change = event.changes[this.typeName];
    if (!change) return;
    const objects = event.realm.objects<any>(this.typeName);
    for (const i of [...change.insertions, ...change.newModifications]) {
      const o = objects[i];
      if (o && this.actionable(o.status, o.owner, o.leaseUntil)) this.enqueue(event.path, o.id);
    }
  }

  private sweep(): void {
    for (const p of this.paths) this.scan(p);
  }

  private scan(realmPath: string): void {
    if (this.stopped) return;
    let realm: Realm;
    try {
      realm = this.pool.get(realmPath);
      for (const o of realm.objects<any>(this.typeName).filtered('status == "pending" OR status == "in-progress"')) {
        if (this.actionable(o.status, o.owner, o.leaseUntil)) this.enqueue(realmPath, o.id);
      }
    } catch (e) {
      this.log.error('fetcher: scan failed', { path: realmPath, error: e });
    }
  }

  private actionable(status: string, owner: string | null, leaseUntil: Date | null): boolean {
    if (status === 'pending') return true;
    if (status !== 'in-progress') return false;
    return this.owner.isEarlierIncarnation(owner) || !leaseUntil || leaseUntil.getTime() <= Date.now();
  }

  private enqueue(realmPath: string, id: string): void {
    const key = `${realmPath}\u0000${id}`;
    if (this.active.has(key) || this.stopped) return;
    const work = this.slots.acquire().then(async (release) => {
      try {
        if (!this.stopped) await this.process(realmPath, id);
      } catch (e) {
        if (!this.stopped) this.log.error('fetcher: request processing failed; it will be picked up again', { path: realmPath, id, error: e });
      } finally {
        release();
        this.active.delete(key);
      }
    });
    this.active.set(key, work);
  }

  // ---- one request ---------------------------------------------------------------------------

  private async process(realmPath: string, id: string): Promise<void> {
    const realm = await this.pool.ready(realmPath);
    let request = realm.objectForPrimaryKey<any>(this.typeName, id);
    if (!request) {
      await this.pool.download(realmPath);
      request = realm.objectForPrimaryKey<any>(this.typeName, id);
      if (!request) return;
    }
    const backoff = new Backoff(this.o.retry);
    for (;;) {
      if (this.stopped) return;
      if (request.isValid() && request.status === 'in-progress' && request.owner && !this.owner.isMe(request.owner) && !this.owner.isEarlierIncarnation(request.owner)) {
        // Another runtime's lease looks expired here: confirm it with the server first. The holder
        // extends its lease through a back-off, and a replica that has not seen that yet would
        // start the next attempt while the holder waits to make it.
        await this.pool.download(realmPath);
        if (this.stopped || !request.isValid()) return;
      }
      const claim = this.claim(realm, request);
      if (!claim) {
        await this.pool.upload(realmPath); // a request closed for running out of attempts
        return;
      }
      await this.pool.upload(realmPath);
      if (this.o.confirmDelayMs > 0) {
        await sleep(this.o.confirmDelayMs, this.abort.signal);
        await this.pool.download(realmPath);
        if (!request.isValid() || !this.owner.isMe(request.owner)) return;
      }
      if (this.stopped) return;
      this.stats.calls++;
      const view: FetchRequestView = {
        id,
        path: realmPath,
        url: request.url ?? null,
        method: request.method ?? null,
        headers: parseJson<Record<string, string>>(request.headers, {}),
        body: request.body ?? null,
        params: parseJson<unknown>(request.params, null),
        attempt: claim.attempt,
      };
      let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.abort.signal]);
        outcome = { ok: true, value: await this.o.call(view, { signal, idempotencyKey: id }) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      // Stopping aborted the call: leave the request leased; the next start resumes it.
      if (this.stopped) return;
      if (!request.isValid()) return;
      if (outcome.ok) {
        const stored = storedResult(outcome.value);
        realm.write(() => {
          request.status = 'done';
          request.result = stored.result;
          request.httpStatus = stored.httpStatus;
          request.leaseUntil = null;
          request.completedAt = new Date();
        });
        await this.pool.upload(realmPath);
        this.stats.done++;
        return;
      }
      const message = describeError(outcome.error);
      const final = !this.o.isRetryable(outcome.error) || claim.attempt >= this.o.maxAttempts;
      const delay = final ? 0 : backoff.next(Math.min(this.o.retry.initialMs, 10));
      realm.write(() => {
        request.error = message;
        if (final) {
          request.status = 'error';
          request.leaseUntil = null;
          request.completedAt = new Date();
        } else {
          // Keep the lease through the back-off so no other runtime starts the next attempt.
          request.leaseUntil = new Date(Date.now() + delay + this.leaseMs);
        }
      });
      await this.pool.upload(realmPath);
      if (final) {
        this.stats.failed++;
        return;
      }
      this.stats.retries++;
      this.log.warn?.('fetcher: call failed; retrying', { path: realmPath, id, attempt: claim.attempt, error: message, delayMs: delay });
      await sleep(delay, this.abort.signal);
    }
  }

  private get leaseMs(): number {
    return this.o.timeoutMs + this.o.leaseMarginMs;
  }

  /**
   * Takes (or renews) the lease in one local transaction, deciding from the request as this
   * replica sees it; null when the request is finished or someone else's lease is current.
   */
  private claim(realm: Realm, request: any): { attempt: number } | null {
    let attempt = 0;
    realm.write(() => {
      if (!request.isValid() || FINAL.has(request.status)) return;
      const mine = this.owner.isMe(request.owner);
      if (request.status === 'in-progress' && !mine && !this.actionable(request.status, request.owner, request.leaseUntil)) return;
      if (request.attempts >= this.o.maxAttempts) {
        // Out of attempts already (the last one died with its runtime).
        request.status = 'error';
        request.error = `${request.error ? request.error + '; ' : ''}gave up after ${request.attempts} attempts`;
        request.leaseUntil = null;
        request.completedAt = new Date();
        this.stats.failed++;
        return;
      }
      if (request.status === 'in-progress' && !mine) this.stats.takenOver++;
      if (!mine) this.stats.claimed++;
      request.status = 'in-progress';
      request.owner = this.owner.value;
      request.leaseUntil = new Date(Date.now() + this.leaseMs);
      request.attempts = request.attempts + 1;
      attempt = request.attempts;
    });
    return attempt > 0 ? { attempt } : null;
  }
}

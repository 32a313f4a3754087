import type { User } from '../client';
import { Backoff } from '../shared/backoff';
import { realmBaseUrl } from '../admin-client';
import { TributaryError } from '../errors';
import type { ObjectSchemaInput } from '../model';
import type { Realm } from '../realm';
import type { MessageSource, SourceMessage } from './message-source';
import { RealmPool } from './realm-pool';
import { DeadLetterSchema, ProcessedBatchSchema, ProcessedMessageSchema } from './schemas';
import { ProcessedIndex } from './processed-index';
import { quietLog, type PatternLogger } from './log';
import * as path from 'node:path';

/** Where a message goes: a realm path and the writes it makes there (inside the dequeuer's transaction). */
export interface DequeueTarget {
  path: string;
  write(realm: Realm): void;
}

export interface DequeuerOptions<M extends SourceMessage = SourceMessage> {
  /** `realm://host:port` of the sync server. */
  serverUrl: string;
  adminUser: User;
  /** Local copies of the written realms; keep it across restarts (it holds writes not yet acknowledged). */
  directory: string;
  source: MessageSource<M>;
  /** Object schemas of the target realms (`ProcessedBatch`, and `ProcessedMessage` of earlier versions, are added). */
  schema: ObjectSchemaInput[];
  /** message → target; `null` to acknowledge a message without writing anything. May throw (counts as a failed attempt). */
  map(message: M): DequeueTarget | null | undefined;
  /** Messages per batch: one realm transaction per target realm per batch (default 500). */
  batchSize?: number;
  /** How long a batch waits to fill once empty (default 20 ms). */
  batchWaitMs?: number;
  /** Batches written locally and waiting for the server's acknowledgement (default 4). */
  maxInFlightBatches?: number;
  /** Attempts before a failing message is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Back-off before a failed message is offered again (default 200 ms doubling to 30 s, jittered). */
  retry?: { initialMs: number; maxMs: number };
  /** Realm for dead letters (default `/dead-letters`); `null` for none (then the broker's DLQ only). */
  deadLetterPath?: string | null;
  /** Also `reject` dead letters to the broker (its DLX / term) instead of acknowledging them (default false). */
  brokerDeadLetter?: boolean;
  /** Time limit for the server's acknowledgement of a batch (default 60 s); on expiry the batch is retried. */
  uploadTimeoutMs?: number;
  /** `ProcessedBatch` records older than this are deleted (default 7 days); a redelivery older than it would be applied again. */
  processedRetentionMs?: number;
  log?: PatternLogger;
  signal?: AbortSignal;
}

export interface DequeuerStats {
  received: number;
  applied: number;
  duplicates: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  batches: number;
  failedBatches: number;
}

interface Failure<M> {
  message: M;
  error: unknown;
}

const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Consumes a message queue and writes each message into its realm, once.
 *
 * For every batch: the messages are grouped by target realm; each group is one write transaction
 * that applies the messages not seen before and records `ProcessedMessage {id}` for each; the
 * messages are acknowledged to the broker only after the server acknowledged that transaction.
 * A kill at any point therefore either loses nothing (the broker redelivers) or finds the
 * `ProcessedMessage` row and acknowledges without applying twice. A message whose mapping or write
 * throws is retried with back-off and, after `maxAttempts`, written to the dead-letter realm.
 *
 * @example
 * const dequeuer = new Dequeuer({
 *   serverUrl: 'realm://127.0.0.1:9080', adminUser, directory: './dequeuer',
 *   source: new RabbitMqSource({ url: 'amqp://localhost', queue: 'orders' }),
 *   schema: [Order],
 *   map: (m) => {
 *     const order = JSON.parse(Buffer.from(m.body).toString());
 *     return { path: `/${order.customer}/orders`, write: (realm) => realm.create('Order', order, 'modified') };
 *   },
 * });
 * await dequeuer.start();
 */
export class Dequeuer<M extends SourceMessage = SourceMessage> {
  readonly stats: DequeuerStats = { received: 0, applied: 0, duplicates: 0, skipped: 0, retried: 0, deadLettered: 0, batches: 0, failedBatches: 0 };
  private readonly pool: RealmPool;
  private readonly deadLetters: RealmPool;
  /** The duplicate check of each target realm, for the Realm instance it was made on. */
  private readonly indexes = new Map<string, { realm: Realm; index: ProcessedIndex }>();
  private readonly attempts = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly batchBackoff: Backoff;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private lastPrune = 0;
  private readonly log: PatternLogger;
  private readonly o: Required<Pick<DequeuerOptions<M>, 'batchSize' | 'batchWaitMs' | 'maxInFlightBatches' | 'maxAttempts' | 'uploadTimeoutMs' | 'processedRetentionMs'>> & {
    retry: { initialMs: number; maxMs: number };
    deadLetterPath: string | null;
  };

  constructor(private readonly options: DequeuerOptions<M>) {
    if (!options || typeof options.map !== 'function' || !options.source) throw new TributaryError('INVALID_ARGUMENT', 'new Dequeuer(options) needs a source and a map function');
    const realmUrl = realmBaseUrl(options.serverUrl);
    this.o = {
      batchSize: positive(options.batchSize, 500, 'batchSize'),
      batchWaitMs: options.batchWaitMs ?? 20,
      maxInFlightBatches: positive(options.maxInFlightBatches, 4, 'maxInFlightBatches'),
      maxAttempts: positive(options.maxAttempts, 5, 'maxAttempts'),
      uploadTimeoutMs: options.uploadTimeoutMs ?? 60_000,
      processedRetentionMs: options.processedRetentionMs ?? 7 * 24 * 3600_000,
      retry: options.retry ?? { initialMs: 200, maxMs: 30_000 },
      deadLetterPath: options.deadLetterPath === undefined ? '/dead-letters' : options.deadLetterPath,
    };
    this.log = options.log ?? quietLog;
    this.batchBackoff = new Backoff(this.o.retry);
    this.pool = new RealmPool({ realmUrl, adminUser: options.adminUser, directory: path.join(options.directory, 'realms'), schema: [...options.schema, ProcessedBatchSchema, ProcessedMessageSchema] });
    this.deadLetters = new RealmPool({ realmUrl, adminUser: options.adminUser, directory: path.join(options.directory, 'dead-letters'), schema: [DeadLetterSchema] });
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Connects the source and starts consuming; resolves once messages flow. */
  async start(): Promise<void> {
    if (this.loop) return;
    await this.options.source.start();
    this.loop = this.run();
  }

  /** Resolves when the dequeuer stops (after `stop()`), rejects if its source fails for good. */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Stops receiving, waits until the batches in flight are acknowledged, closes the source and the realms. */
  async stop(): Promise<void> {
    if (this.stopped) return this.loop?.catch(() => undefined);
    this.stopped = true;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const source = this.options.source;
    try {
      while (!this.stopped) {
        while (this.inFlight.size >= this.o.maxInFlightBatches) await Promise.race(this.inFlight);
        const messages = await source.receive(this.o.batchSize, this.o.batchWaitMs, this.abort.signal);
        if (messages.length === 0) {
          this.maybePrune();
          continue;
        }
        this.stats.received += messages.length;
        const batch = this.process(messages).finally(() => this.inFlight.delete(batch));
        this.inFlight.add(batch);
        // Writes happen synchronously at the start of process(); let the next receive overlap the upload.
        await Promise.resolve();
      }
    } finally {
      await Promise.allSettled([...this.inFlight]);
      await source.close().catch((e) => this.log.error('dequeuer: closing the source failed', { source: source.name, error: e }));
      for (const { index } of this.indexes.values()) index.close();
      this.indexes.clear();
      this.pool.close();
      this.deadLetters.close();
    }
  }

  /** One batch: write, wait for the server, settle every message. Never throws. */
  private async process(messages: M[]): Promise<void> {
    const source = this.options.source;
    const failures: Failure<M>[] = [];
    try {
      const groups = new Map<string, { message: M; target: DequeueTarget }[]>();
      const skipped: M[] = [];
      for (const message of messages) {
        let target: DequeueTarget | null | undefined;
        try {
          target = this.options.map(message);
        } catch (error) {
          failures.push({ message, error });
          continue;
        }
        if (!target) {
          skipped.push(message);
          continue;
        }
        let g = groups.get(target.path);
        if (!g) groups.set(target.path, (g = []));
        g.push({ message, target });
      }
      const done: M[] = [...skipped];
      for (const [realmPath, group] of groups) {
        // The duplicate check must see what other runtimes (or an earlier incarnation with another
        // local file) recorded: download first on first use and whenever the broker says "maybe seen".
        const redelivered = group.some((e) => e.message.redelivered);
        if (redelivered) await this.pool.download(realmPath, this.o.uploadTimeoutMs);
        else await this.pool.ready(realmPath, this.o.uploadTimeoutMs);
        const result = this.writeGroup(this.pool.get(realmPath), this.index(realmPath, redelivered), group);
        done.push(...result.applied, ...result.duplicates);
        failures.push(...result.failures);
        this.stats.applied += result.applied.length;
        this.stats.duplicates += result.duplicates.length;
      }
      await Promise.all([...groups.keys()].map((p) => this.pool.upload(p, this.o.uploadTimeoutMs)));
      for (const m of done) this.attempts.delete(m.id);
      if (source.ackMany) await source.ackMany(done);
      else for (const m of done) await source.ack(m);
      this.stats.skipped += skipped.length;
      this.stats.batches++;
      this.batchBackoff.reset();
    } catch (error) {
      // The realm side failed (timeout, closed session): nothing is acknowledged; offer it all again.
      // Writes that did land locally are uploaded later and make the redelivery a duplicate.
      this.stats.failedBatches++;
      const delay = this.batchBackoff.next(this.o.retry.initialMs);
      this.log.error('dequeuer: batch failed; messages will be redelivered', { source: source.name, messages: messages.length, error });
      for (const m of messages) await Promise.resolve(source.retry(m, delay)).catch(() => undefined);
      await sleep(delay, this.abort.signal);
      return;
    }
    if (failures.length === 0) return;
    try {
      await this.failed(failures);
    } catch (error) {
      this.log.error('dequeuer: recording failed messages failed; they will be redelivered', { source: source.name, error });
      for (const f of failures) await Promise.resolve(source.retry(f.message, this.o.retry.initialMs)).catch(() => undefined);
    }
  }

  /** The duplicate check of a realm, brought up to date with what downloads brought (always after one we asked for). */
  private index(realmPath: string, downloaded: boolean): ProcessedIndex {
    const realm = this.pool.get(realmPath);
    const entry = this.indexes.get(realmPath);
    if (!entry || entry.realm !== realm) {
      // The realm was closed and opened again: the old index's extension must not stay behind on
      // a replica another Realm of the same file may still share.
      entry?.index.close();
      const index = new ProcessedIndex(realm);
      this.indexes.set(realmPath, { realm, index });
      return index;
    }
    if (downloaded) entry.index.refresh();
    else entry.index.refreshIfStale();
    return entry.index;
  }

  /** One transaction for a realm's messages; a message whose write throws is taken out and the rest written again. */
  private writeGroup(realm: Realm, index: ProcessedIndex, group: { message: M; target: DequeueTarget }[]): { applied: M[]; duplicates: M[]; failures: Failure<M>[] } {
    const failures: Failure<M>[] = [];
    let pending = group;
    for (;;) {
      const applied: M[] = [];
      const duplicates: M[] = [];
      let current: M | null = null;
      try {
        realm.write(() => {
          const ids = new Set<string>();
          for (const { message, target } of pending) {
            if (ids.has(message.id) || index.has(message.id)) {
              duplicates.push(message);
              continue;
            }
            current = message;
            target.write(realm);
            current = null;
            ids.add(message.id);
            applied.push(message);
          }
          if (ids.size > 0) index.record(this.options.source.name, [...ids], new Date());
        });
        return { applied, duplicates, failures };
      } catch (error) {
        const bad = current as M | null;
        if (!bad) throw error;
        failures.push({ message: bad, error });
        pending = pending.filter((e) => e.message !== bad);
      }
    }
  }

  private async failed(failures: Failure<M>[]): Promise<void> {
    const source = this.options.source;
    const dead: Failure<M>[] = [];
    for (const f of failures) {
      const attempts = Math.max(f.message.deliveryCount, (this.attempts.get(f.message.id) ?? 0) + 1);
      this.attempts.set(f.message.id, attempts);
      if (attempts >= this.o.maxAttempts) {
        dead.push(f);
        continue;
      }
      this.stats.retried++;
      const delay = Math.min(this.o.retry.maxMs, this.o.retry.initialMs * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
      this.log.warn?.('dequeuer: message failed; will retry', { source: source.name, id: f.message.id, attempts, error: describe(f.error) });
      await source.retry(f.message, Math.round(delay));
    }
    if (dead.length === 0) return;
    const dlPath = this.o.deadLetterPath;
    if (dlPath !== null) {
      const realm = this.deadLetters.get(dlPath);
      realm.write(() => {
        for (const { message, error } of dead) {
          const text = Buffer.from(message.body).toString('utf8');
          const utf8 = Buffer.from(text, 'utf8').equals(Buffer.from(message.body));
          realm.create('DeadLetter', {
            id: message.id,
            source: source.name,
            subject: message.subject,
            body: utf8 ? text : Buffer.from(message.body).toString('base64'),
            encoding: utf8 ? 'utf8' : 'base64',
            headers: JSON.stringify(message.headers),
            error: describe(error),
            attempts: this.attempts.get(message.id) ?? 0,
            at: new Date(),
          }, 'modified');
        }
      });
      await this.deadLetters.upload(dlPath, this.o.uploadTimeoutMs);
    }
    for (const { message, error } of dead) {
      this.log.error('dequeuer: message dead-lettered', { source: source.name, id: message.id, error: describe(error) });
      this.attempts.delete(message.id);
      this.stats.deadLettered++;
      if (this.options.brokerDeadLetter || dlPath === null) await source.reject(message);
      else await source.ack(message);
    }
  }

  private maybePrune(): void {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_INTERVAL_MS) return;
    this.lastPrune = now;
    const cutoff = new Date(now - this.o.processedRetentionMs);
    for (const p of this.pool.paths) {
      try {
        this.index(p, false).prune(cutoff);
      } catch (error) {
        this.log.warn?.('dequeuer: pruning ProcessedBatch failed', { path: p, error });
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new TributaryError('INVALID_ARGUMENT', `${name} must be a positive integer`);
  return value;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

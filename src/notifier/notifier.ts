import * as fs from 'node:fs';
import type { User } from '../client';
import { Backoff } from '../shared/backoff';
import {
  LocalCopies,
  RealmDirectory,
  Semaphore,
  checkAdminUser,
  notifierPattern,
  patternKey,
  realmBaseUrl,
  testPattern,
  type DirectoryChange,
} from '../admin-client';
import { TributaryError } from '../errors';
import { Realm } from '../realm';
import { RealmWatcher, type ChangeEvent, type WatcherHost } from './realm-watcher';

export type NotifierEvent = 'available' | 'change' | 'delete';

/** Anything with the usual level methods (console, pino, the server's Logger). */
export interface NotifierLogger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  debug?(msg: string, fields?: Record<string, unknown>): void;
}

export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  /** Attempts per handler and event before the event is given up for that handler (default 8). */
  maxAttempts?: number;
}

export interface NotifierOptions {
  /** `realm://host:port` (or `realms://`, `http(s)://`); no path. */
  serverUrl: string;
  /** An admin user (`User.adminUser(token, server)`); all realms share its one connection. */
  adminUser: User;
  /** Local copies (default `./tributary-listener`); they persist, so a restart sees only new changes. */
  directory?: string;
  /** Realms whose handlers run at the same time (default 32). */
  concurrency?: number;
  /**
   * Local copies kept open when idle; the least recently used are closed beyond it (default 1024).
   * A closed copy's session stays bound, so its changes still arrive; the copy reopens for them.
   */
  maxOpenRealms?: number;
  log?: NotifierLogger;
  /**
   * What happens when a handler throws or rejects: it is logged, then by default the same event
   * is delivered to that handler again with back-off (100 ms doubling to 30 s, 8 attempts), so a
   * passing failure (a web service down) does not lose the event. `false` delivers each event
   * once, as realm-js did: a failed event is logged and the realm's next event follows. Use
   * `false` when a handler's side effects must not repeat and it cannot be made idempotent.
   */
  retry?: RetryOptions | false;
}

export type NotifierHandler = (arg: any) => unknown | Promise<unknown>;

interface Listener {
  pattern: RegExp;
  key: string;
  event: NotifierEvent;
  handler: NotifierHandler;
  /** 'available': realms already announced to this listener. */
  announced: Set<string>;
}

export const DEFAULT_LISTENER_DIRECTORY = 'tributary-listener';

const quietLog: NotifierLogger = { error: () => undefined };

/**
 * The global notifier (API.md §3): discovers realms through `/__admin`, keeps a local copy of
 * every realm a `change` listener matches, and calls handlers per downloaded changeset — per realm
 * strictly one event at a time in server order, different realms concurrently up to a bound.
 *
 * @example
 * const notifier = new Notifier({ serverUrl: 'realm://127.0.0.1:9080', adminUser: User.adminUser(token) });
 * await notifier.addListener('^/[0-9a-f]+/tasks$', 'change', async (event) => {
 *   for (const i of event.changes.Task?.insertions ?? []) console.log(event.realm.objects('Task')[i]);
 * });
 */
export class Notifier implements WatcherHost {
  readonly serverUrl: string;
  readonly adminUser: User;
  readonly directory: string;
  private readonly baseUrl: string;
  private readonly copies: LocalCopies;
  private readonly listeners: Listener[] = [];
  private readonly watchers = new Map<string, RealmWatcher>();
  private readonly slots: Semaphore;
  private readonly maxOpenRealms: number;
  private readonly log: NotifierLogger;
  private readonly retry: Required<RetryOptions>;
  private realmDirectory: RealmDirectory | null = null;
  private starting: Promise<void> | null = null;
  private unsubscribeDirectory: (() => void) | null = null;
  private readonly deleting = new Set<string>();
  private closed = false;
  private openCount = 0;
  /** Counters for tests and benchmarks. */
  readonly stats = { events: 0, handlerErrors: 0, evictions: 0 };

  constructor(options: NotifierOptions) {
    if (!options || typeof options !== 'object') throw new TributaryError('INVALID_ARGUMENT', 'new Notifier(options) expects an options object');
    this.baseUrl = realmBaseUrl(options.serverUrl);
    checkAdminUser(options.adminUser);
    this.serverUrl = options.serverUrl;
    this.adminUser = options.adminUser;
    this.directory = options.directory ?? DEFAULT_LISTENER_DIRECTORY;
    this.copies = new LocalCopies(this.directory);
    this.slots = new Semaphore(positive(options.concurrency, 32, 'concurrency'));
    this.maxOpenRealms = positive(options.maxOpenRealms, 1024, 'maxOpenRealms');
    this.log = options.log ?? quietLog;
    this.retry = options.retry === false ? { initialMs: 0, maxMs: 0, maxAttempts: 1 } : ({ initialMs: 100, maxMs: 30_000, maxAttempts: 8, ...(options.retry ?? {}) } as Required<RetryOptions>);
  }

  /** Adds a listener; resolves when the realm directory (`/__admin`) has been downloaded. */
  async addListener(regex: RegExp | string, event: NotifierEvent, handler: NotifierHandler): Promise<void> {
    this.checkOpen();
    checkEvent(event);
    if (typeof handler !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addListener expects a handler function');
    const listener: Listener = { pattern: notifierPattern(regex, this.warnUnwrapped), key: patternKey(regex), event, handler, announced: new Set() };
    this.listeners.push(listener);
    try {
      await this.start();
    } catch (e) {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      throw e;
    }
    this.reconcile();
    if (event === 'available') this.announce(this.realmDirectory!.paths, [listener]);
  }

  /** Removes a listener (same regex string, event and function); waits for its running events. */
  async removeListener(regex: RegExp | string, event: NotifierEvent, handler: NotifierHandler): Promise<void> {
    const key = patternKey(regex);
    const i = this.listeners.findIndex((l) => l.key === key && l.event === event && l.handler === handler);
    if (i < 0) return;
    this.listeners.splice(i, 1);
    await this.reconcile();
  }

  async removeAllListeners(event?: NotifierEvent): Promise<void> {
    if (event !== undefined) checkEvent(event);
    for (let i = this.listeners.length - 1; i >= 0; i--) if (event === undefined || this.listeners[i].event === event) this.listeners.splice(i, 1);
    await this.reconcile();
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  /** The local copies of watched realms whose path matches. */
  localListenerRealms(regex: RegExp | string): Array<{ path: string; realm(): Realm }> {
    const pattern = notifierPattern(regex, this.warnUnwrapped);
    return [...this.watchers.values()]
      .filter((w) => testPattern(pattern, w.path))
      .map((w) => ({ path: w.path, realm: () => w.realm }));
  }

  /**
   * The change events of matching realms as an async iterable. Each event stays valid until the
   * loop asks for the next one (its realm's next event waits until then); breaking out of the
   * loop or aborting `signal` removes the listener.
   *
   * @example
   * for await (const event of notifier.changes(/^\/shop\//, { signal })) console.log(event.path);
   */
  changes(regex: RegExp | string, options: { signal?: AbortSignal } = {}): AsyncIterable<ChangeEvent> {
    return { [Symbol.asyncIterator]: () => this.changeIterator(regex, options.signal) };
  }

  private changeIterator(regex: RegExp | string, signal: AbortSignal | undefined): AsyncIterator<ChangeEvent> {
    const ready: { event: ChangeEvent; done: () => void }[] = [];
    let wake: (() => void) | null = null;
    let current: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    const handler = (event: ChangeEvent) =>
      new Promise<void>((done) => {
        if (finished) return done();
        ready.push({ event, done });
        wake?.();
      });
    const finish = async () => {
      if (finished) return;
      finished = true;
      current?.();
      for (const r of ready.splice(0)) r.done();
      wake?.();
      signal?.removeEventListener('abort', finish);
      await this.removeListener(regex, 'change', handler);
    };
    signal?.addEventListener('abort', finish, { once: true });
    const started = signal?.aborted ? Promise.resolve() : this.addListener(regex, 'change', handler).catch((e) => {
      failure = e;
      finished = true;
    });
    if (signal?.aborted) finished = true;
    return {
      next: async () => {
        current?.();
        current = null;
        await started;
        for (;;) {
          if (failure) throw failure;
          if (finished) return { done: true, value: undefined };
          const item = ready.shift();
          if (item) {
            current = item.done;
            return { done: false, value: item.event };
          }
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      },
      return: async () => {
        await finish();
        return { done: true, value: undefined };
      },
    };
  }

  /** Stops every watcher (waiting for running events) and closes the connection's sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.length = 0;
    await Promise.all([...this.watchers.values()].map((w) => w.stop()));
    this.watchers.clear();
    this.unsubscribeDirectory?.();
    this.realmDirectory?.close();
    this.realmDirectory = null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Realms with a local copy being synced now (tests, metrics). */
  get watchedPaths(): string[] {
    return [...this.watchers.keys()];
  }

  /** Local copies holding an open database now. */
  get openRealmCount(): number {
    return this.openCount;
  }

  /** WatcherHost */
  openChanged(delta: 1 | -1): void {
    this.openCount += delta;
  }

  // ---- internals -----------------------------------------------------------------------------

  private readonly warned = new Set<string>();
  private readonly warnUnwrapped = (message: string, fields: { filter: string }): void => {
    if (this.warned.has(fields.filter)) return;
    this.warned.add(fields.filter);
    (this.log.warn ?? this.log.error).call(this.log, `notifier: ${message}`, fields);
  };

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('INVALID_STATE', 'the notifier is closed');
  }

  /**
   * Connects and downloads the realm directory now (addListener does it on first use). Rejects with
   * the server's code when it refuses the admin user, or with TIMEOUT after `timeoutMs` when it
   * cannot be reached — what a long-running program checks at start instead of waiting forever.
   */
  ready(timeoutMs?: number): Promise<void> {
    this.checkOpen();
    return this.start(timeoutMs);
  }

  private start(timeoutMs?: number): Promise<void> {
    if (!this.starting) {
      fs.mkdirSync(this.copies.root, { recursive: true });
      const dir = new RealmDirectory({ user: this.adminUser, baseUrl: this.baseUrl, file: this.copies.directoryFile });
      this.realmDirectory = dir;
      this.starting = dir.start(timeoutMs).then(
        () => {
          this.unsubscribeDirectory = dir.onChange((c) => this.directoryChanged(c));
          // Realms deleted while we were away whose copy is still here.
          const stale = dir.deleted.filter((p) => this.copies.exists(p));
          if (stale.length > 0) this.directoryChanged({ added: [], deleted: stale });
        },
        (e) => {
          this.starting = null;
          dir.close();
          this.realmDirectory = null;
          throw e;
        },
      );
    }
    return this.starting;
  }

  private directoryChanged(change: DirectoryChange): void {
    if (this.closed) return;
    if (change.added.length > 0) {
      this.reconcile();
      this.announce(change.added, this.listeners.filter((l) => l.event === 'available'));
    }
    for (const path of change.deleted) void this.realmDeleted(path);
  }

  private announce(paths: string[], listeners: Listener[]): void {
    for (const l of listeners) {
      for (const path of paths) {
        if (l.announced.has(path) || !testPattern(l.pattern, path)) continue;
        l.announced.add(path);
        void this.invoke(l, path, path);
      }
    }
  }

  private async realmDeleted(path: string): Promise<void> {
    if (this.deleting.has(path)) return;
    this.deleting.add(path);
    try {
      const listeners = this.listeners.filter((l) => l.event === 'delete' && testPattern(l.pattern, path));
      await Promise.all(listeners.map((l) => this.invoke(l, path, path)));
      const w = this.watchers.get(path);
      this.watchers.delete(path);
      await w?.stop();
      this.copies.remove(path);
      for (const l of this.listeners) l.announced.delete(path);
    } finally {
      this.deleting.delete(path);
    }
  }

  /** Starts watchers for realms a change listener matches and stops the others. */
  private async reconcile(): Promise<void> {
    const dir = this.realmDirectory;
    if (!dir || this.closed) return;
    const change = this.listeners.filter((l) => l.event === 'change');
    const wanted = new Set(dir.paths.filter((p) => change.some((l) => testPattern(l.pattern, p))));
    const stopping: Promise<void>[] = [];
    for (const [path, w] of this.watchers) {
      if (wanted.has(path)) continue;
      this.watchers.delete(path);
      stopping.push(w.stop());
    }
    for (const path of wanted) {
      if (this.watchers.has(path) || this.deleting.has(path)) continue;
      const w = new RealmWatcher(path, this.copies.fileFor(path), this.adminUser, this.baseUrl + path, this);
      this.watchers.set(path, w);
      try {
        w.start();
      } catch (e) {
        this.watchers.delete(path);
        this.log.error('notifier: cannot open the local copy', { path, error: e });
      }
    }
    this.trimOpen();
    await Promise.all(stopping);
  }

  /** WatcherHost: a watcher got an event. */
  touched(): void {
    this.trimOpen();
  }

  private trimOpen(): void {
    let open = this.openRealmCount;
    if (open <= this.maxOpenRealms) return;
    const idle = [...this.watchers.values()].filter((w) => w.isOpen && w.isIdle).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const w of idle) {
      if (open <= this.maxOpenRealms) break;
      if (w.evict()) {
        open--;
        this.stats.evictions++;
      }
    }
  }

  /** WatcherHost: runs the change handlers matching the event's realm, each to completion. */
  async deliver(event: ChangeEvent): Promise<void> {
    const listeners = this.listeners.filter((l) => l.event === 'change' && testPattern(l.pattern, event.path));
    if (listeners.length === 0) return;
    this.stats.events++;
    await Promise.all(listeners.map((l) => this.invoke(l, event, event.path)));
    queueMicrotask(() => this.trimOpen());
  }

  /**
   * Calls a handler and waits for its Promise; a failure is logged with the realm path and retried
   * with back-off up to `retry.maxAttempts`. A slot of the concurrency bound is held per attempt,
   * not during the back-off.
   */
  private async invoke(l: Listener, arg: unknown, path: string): Promise<void> {
    const backoff = new Backoff({ initialMs: this.retry.initialMs, maxMs: this.retry.maxMs });
    for (let attempt = 1; ; attempt++) {
      const release = await this.slots.acquire();
      try {
        await l.handler(arg);
        return;
      } catch (e) {
        this.stats.handlerErrors++;
        const last = attempt >= this.retry.maxAttempts;
        this.log.error(last ? (this.retry.maxAttempts === 1 ? 'notifier handler failed (retry off; the event is not delivered again)' : 'notifier handler failed; giving up on this event') : 'notifier handler failed; retrying', {
          path,
          event: l.event,
          attempt,
          error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e),
        });
        if (last) return;
      } finally {
        release();
      }
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, Math.max(backoff.next(), Math.min(this.retry.initialMs, 10))));
    }
  }
}

function checkEvent(event: unknown): asserts event is NotifierEvent {
  if (event !== 'available' && event !== 'change' && event !== 'delete') {
    throw new TributaryError('INVALID_ARGUMENT', `unknown notifier event '${String(event)}' (use 'available', 'change' or 'delete')`);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new TributaryError('INVALID_ARGUMENT', `${name} must be a positive integer`);
  return value;
}

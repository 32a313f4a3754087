import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { User } from '../client';
import { Notifier } from '../notifier';
import { TributaryError } from '../errors';
import { writeFileAtomic } from '../shared/atomic-file';
import { silentLogger, type Logger } from '../shared/logger';
import { FunctionLog } from './function-log';
import { FunctionLoadError, HANDLER_EVENTS, errorText, isError, defaultFunctionName, isFunctionFile, loadFunctionFile, type FunctionDefinition, type FunctionEvent, type Handler, type SourceLocation } from './loader';

/** What the runtime needs from the global notifier (src/notifier `Notifier`). */
export interface NotifierLike {
  addListener(regex: RegExp | string, event: FunctionEvent, handler: (arg: any) => unknown): Promise<void>;
  removeListener(regex: RegExp | string, event: FunctionEvent, handler: (arg: any) => unknown): Promise<void>;
  close(): Promise<void>;
  /** Connects now; rejects when the server refuses or cannot be reached within `timeoutMs`. */
  ready?(timeoutMs?: number): Promise<void>;
}

export interface NotifierFactoryOptions {
  serverUrl: string;
  adminUser: User;
  directory: string;
  log: Logger;
}

export interface FunctionsRuntimeConfig {
  /** Folder of function files. */
  dir: string;
  /** Server the notifier connects to (`http://127.0.0.1:9080`). */
  serverUrl: string;
  /** Admin user, or the admin token to make one with. */
  adminUser?: User;
  adminToken?: string;
  /** Use this notifier instead of creating one; it is not closed by `stop()`. */
  notifier?: NotifierLike;
  /** Creates the notifier when none is given (default: src/notifier `Notifier`). */
  createNotifier?: (options: NotifierFactoryOptions) => NotifierLike;
  /** Folder of `<name>.log` files and `functions.json`. */
  logDir: string;
  /** The notifier's local copies (when the runtime creates the notifier). */
  listenerDirectory?: string;
  /** Default per-call time limit of a handler (ms, default 30 000); a function may set its own `timeoutMs`. */
  timeoutMs?: number;
  /** Structured runtime log (function output is mirrored into it at debug level). */
  log?: Logger;
  /** Watch the folder for changes (default true); without it only the files present at start load. */
  watch?: boolean;
  /** How long start() waits to reach the server before it rejects with TIMEOUT (ms, default 30 s). */
  connectTimeoutMs?: number;
  /**
   * Modules a function file's `require()` takes from here rather than from node_modules, e.g.
   * `{ tributary: () => require('tributary') }` so that files in a folder outside any project
   * share this process's package (the `tributary` CLI passes that). Others resolve as Node would.
   */
  modules?: Record<string, () => unknown>;
  /**
   * Least time from the end of one write of `functions.json` to the start of the next (ms, default
   * {@link STATUS_INTERVAL_MS}). A change (a load, a call starting or ending, an error) is on disk
   * within this time plus one write; a burst
   * of changes costs one write per interval; `stop()` writes the final state.
   */
  statusIntervalMs?: number;
}

export type FunctionStatus = 'loaded' | 'failed' | 'unloaded';

export interface FunctionInfo {
  name: string;
  file: string;
  status: FunctionStatus;
  events: FunctionEvent[];
  pathRegex: string | null;
  timeoutMs: number;
  loadedAt: string | null;
  reloads: number;
  /**
   * The latest failure: `message` is one line (for a syntax error `file:line:column: SyntaxError: …`),
   * `during` is `load` or the call (`onchange(/path)`), `location` is set for syntax errors.
   */
  lastError: { message: string; at: string; during: string; location?: SourceLocation } | null;
  counts: { calls: number; errors: number; timeouts: number; running: number };
}

interface Registration {
  regex: RegExp;
  wrapper: Handler;
}

interface FunctionRecord {
  file: string;
  name: string;
  status: FunctionStatus;
  def: FunctionDefinition | null;
  registrations: Map<FunctionEvent, Registration>;
  log: FunctionLog;
  console: Console;
  loadedAt: string | null;
  reloads: number;
  lastError: FunctionInfo['lastError'];
  counts: FunctionInfo['counts'];
}

export const DEFAULT_FUNCTION_TIMEOUT_MS = 30_000;
export const STATUS_FILE = 'functions.json';
/** Default of {@link FunctionsRuntimeConfig.statusIntervalMs}. */
export const STATUS_INTERVAL_MS = 1000;

/**
 * Runs a folder of function files against a server's global notifier, with hot reload.
 *
 * - **Load**: each file is loaded in isolation (own `module`, `require`, `console`; TypeScript
 *   transpiled with esbuild) and its handlers are registered with the notifier under its path
 *   regex. A function is identified by its exported `name`, or its file name.
 * - **Reload**: an edited file is loaded first and swapped in only when it loads cleanly; a broken
 *   edit is written to that function's log and the working version keeps running. When the
 *   regex is unchanged the swap is in place (the registered listener stays; its next call runs the
 *   new code), so no event is missed or delivered twice.
 * - **Isolation**: every handler call is wrapped. A throw or rejection is caught and written to
 *   the function's log (the notifier does not retry it). A call that has not settled after the
 *   timeout is logged and no longer waited for: the notifier delivers one event per realm at a
 *   time and waits for every handler, so without this one slow function would hold up every other
 *   function on that realm. The abandoned call keeps running; its later errors are still logged,
 *   but the event it holds may no longer be readable (`oldRealm` in particular).
 * - **Logs**: `<logDir>/<name>.log` with a timestamp per line; lifecycle lines (`function loaded`,
 *   `function reloaded`, `function failed to load`, `function unloaded`) go to the structured log,
 *   and `<logDir>/functions.json` holds {@link list} for `tributary functions list`, rewritten
 *   at most once per `statusIntervalMs` (1 s) while anything in it changes, and on `stop()`; each
 *   write is also emitted as a `status` event.
 *
 * Limits: functions share this process; a handler that blocks the event loop (an endless
 * synchronous loop) cannot be interrupted by the timeout.
 *
 * @example
 * const runtime = new FunctionsRuntime({ dir: './functions', serverUrl: 'http://127.0.0.1:9080',
 *   adminToken, logDir: './data/functions/logs', listenerDirectory: './data/functions/listener' });
 * await runtime.start();
 * console.table(runtime.list());
 * await runtime.stop();
 */
export class FunctionsRuntime extends EventEmitter {
  readonly dir: string;
  readonly logDir: string;
  readonly timeoutMs: number;
  readonly statusIntervalMs: number;
  private readonly log: Logger;
  private readonly config: FunctionsRuntimeConfig;
  private notifier: NotifierLike | null = null;
  private ownNotifier = false;
  private watcher: FSWatcher | null = null;
  private readonly records = new Map<string, FunctionRecord>();
  private readonly queues = new Map<string, Promise<void>>();
  private statusTimer: NodeJS.Timeout | null = null;
  private lastStatusWrite = -Infinity;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(config: FunctionsRuntimeConfig) {
    super();
    if (!config.adminUser && !config.adminToken && !config.notifier) throw new TributaryError('INVALID_ARGUMENT', 'FunctionsRuntime needs adminUser, adminToken or notifier');
    const timeoutMs = config.timeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS;
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new TributaryError('INVALID_ARGUMENT', `timeoutMs must be a positive number, got ${timeoutMs}`);
    this.config = config;
    this.dir = path.resolve(config.dir);
    this.logDir = path.resolve(config.logDir);
    this.timeoutMs = timeoutMs;
    const statusIntervalMs = config.statusIntervalMs ?? STATUS_INTERVAL_MS;
    if (!(statusIntervalMs >= 0) || !Number.isFinite(statusIntervalMs)) throw new TributaryError('INVALID_ARGUMENT', `statusIntervalMs must be a number of milliseconds, got ${statusIntervalMs}`);
    this.statusIntervalMs = statusIntervalMs;
    this.log = config.log ?? silentLogger;
  }

  /** Loads every function in the folder, registers it, and starts watching. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new TributaryError('INVALID_STATE', `FunctionsRuntime cannot start when ${this.state}`);
    if (!fs.existsSync(this.dir) || !fs.statSync(this.dir).isDirectory()) throw new TributaryError('CONFIG_INVALID', `functions folder ${this.dir} does not exist`);
    this.state = 'running';
    fs.mkdirSync(this.logDir, { recursive: true });
    this.notifier = this.config.notifier ?? this.createNotifier();
    this.ownNotifier = !this.config.notifier;
    // The server first: a bad token or an unreachable server is one clear error now, not every
    // function failing (or waiting) one by one.
    if (this.notifier.ready) {
      try {
        await this.notifier.ready(this.config.connectTimeoutMs ?? 30_000);
      } catch (e) {
        if (this.ownNotifier) await this.notifier.close().catch(() => undefined);
        this.notifier = null;
        this.state = 'stopped';
        throw e;
      }
    }

    if (this.config.watch === false) {
      for (const entry of fs.readdirSync(this.dir)) {
        const file = path.join(this.dir, entry);
        if (isFunctionFile(file) && fs.statSync(file).isFile()) this.enqueue(file, () => this.load(file));
      }
    } else {
      await this.startWatcher();
    }
    await this.idle();
    this.log.info('functions runtime started', { dir: this.dir, logDir: this.logDir, functions: this.list().map((f) => `${f.name}:${f.status}`) });
    this.writeStatusSoon();
  }

  /** Stops watching, unregisters every function and closes the notifier it created. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    await this.watcher?.close();
    this.watcher = null;
    await this.idle();
    for (const rec of this.records.values()) {
      await this.unregisterAll(rec);
      if (rec.status === 'loaded') rec.log.write('runtime', 'stopped with the runtime');
      rec.log.close();
    }
    if (this.ownNotifier) await this.notifier?.close();
    this.notifier = null;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.state = 'stopped';
    this.writeStatus();
    this.log.info('functions runtime stopped', { dir: this.dir });
  }

  /** Name, file, status, last error and counters of every function seen (loaded, failed or removed). */
  list(): FunctionInfo[] {
    return [...this.records.values()]
      .map((rec) => ({
        name: rec.name,
        file: rec.file,
        status: rec.status,
        events: [...rec.registrations.keys()],
        pathRegex: rec.def ? String(rec.def.pathRegex) : null,
        timeoutMs: rec.def?.timeoutMs ?? this.timeoutMs,
        loadedAt: rec.loadedAt,
        reloads: rec.reloads,
        lastError: rec.lastError,
        counts: { ...rec.counts },
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Resolves when every queued load, reload and unload has finished. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private createNotifier(): NotifierLike {
    const adminUser = this.config.adminUser ?? User.adminUser(this.config.adminToken!, this.config.serverUrl);
    const options: NotifierFactoryOptions = {
      serverUrl: this.config.serverUrl,
      adminUser,
      directory: path.resolve(this.config.listenerDirectory ?? path.join(this.logDir, '..', 'listener')),
      log: this.log.child({ component: 'notifier' }),
    };
    if (this.config.createNotifier) return this.config.createNotifier(options);
    return new Notifier(options);
  }

  private async startWatcher(): Promise<void> {
    const watcher = watch(this.dir, {
      depth: 0,
      ignoreInitial: false,
      // Editors write in several steps; wait until the size is stable before reading.
      awaitWriteFinish: { stabilityThreshold: 60, pollInterval: 15 },
      ignored: (p: string) => p !== this.dir && path.basename(p).startsWith('.'),
    });
    this.watcher = watcher;
    watcher.on('add', (file: string) => this.onFileEvent('add', file));
    watcher.on('change', (file: string) => this.onFileEvent('change', file));
    watcher.on('unlink', (file: string) => this.onFileEvent('unlink', file));
    watcher.on('error', (e: unknown) => this.log.error('functions folder watcher failed', { dir: this.dir, error: e }));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  private onFileEvent(kind: 'add' | 'change' | 'unlink', file: string): void {
    if (this.state !== 'running') return;
    file = path.resolve(file);
    if (isFunctionFile(file)) {
      this.enqueue(file, () => (kind === 'unlink' ? this.unload(file) : this.load(file)));
    } else if (/\.(c?js|c?ts|json)$/.test(file) && kind !== 'add') {
      // A helper next to the functions changed: reload every function so each sees the new text.
      this.log.info('helper file changed; reloading functions', { file });
      for (const rec of this.records.values()) if (rec.status !== 'unloaded') this.enqueue(rec.file, () => this.load(rec.file));
    }
  }

  /** Loads, reloads and unloads of one file run one after another, in event order. */
  private enqueue(file: string, job: () => Promise<void>): void {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous
      .then(job)
      .catch((e: unknown) => this.log.error('functions runtime job failed', { file, error: e }))
      .finally(() => {
        if (this.queues.get(file) === next) this.queues.delete(file);
        this.writeStatusSoon();
      });
    this.queues.set(file, next);
  }

  private recordFor(file: string, name: string): FunctionRecord {
    let rec = this.records.get(file);
    if (rec && rec.name === name) return rec;
    const log = new FunctionLog(this.logDir, name, (level, text) => this.log.debug('function output', { function: name, level, text }));
    const fresh: FunctionRecord = {
      file,
      name,
      status: 'unloaded',
      def: null,
      registrations: new Map(),
      log,
      console: log.console(),
      loadedAt: null,
      reloads: 0,
      lastError: null,
      counts: { calls: 0, errors: 0, timeouts: 0, running: 0 },
    };
    if (rec) rec.log.close();
    this.records.set(file, fresh);
    return fresh;
  }

  private async load(file: string): Promise<void> {
    if (this.state !== 'running') return;
    if (!fs.existsSync(file)) return; // removed again before we got to it
    const existing = this.records.get(file);
    const working = existing?.status === 'loaded' ? existing : null;
    // Until the file has loaded once, its output goes to the log of its file name.
    const target = existing ?? this.recordFor(file, defaultFunctionName(file));
    let def: FunctionDefinition;
    try {
      def = loadFunctionFile(file, { console: target.console, functionsDir: this.dir, modules: this.config.modules });
      const clash = [...this.records.values()].find((r) => r.file !== file && r.name === def.name && r.status === 'loaded');
      if (clash) throw new TributaryError('CONFIG_INVALID', `the name '${def.name}' is already used by ${clash.file}`);
    } catch (e) {
      return this.loadFailed(target, e, working !== null);
    }

    if (working && working.name !== def.name) {
      // Renamed: the old function goes away, the new one starts with its own log.
      await this.unload(file);
    }
    const rec = this.recordFor(file, def.name);
    const wasLoaded = rec.status === 'loaded';
    try {
      await this.register(rec, def);
    } catch (e) {
      return this.loadFailed(rec, e, wasLoaded);
    }
    rec.def = def;
    rec.status = 'loaded';
    rec.loadedAt = new Date().toISOString();
    const fields = { function: def.name, file, pathRegex: String(def.pathRegex), events: Object.keys(def.handlers) };
    if (wasLoaded) {
      rec.reloads++;
      rec.log.write('runtime', `reloaded (events: ${fields.events.join(', ')}; pathRegex: ${fields.pathRegex})`);
      this.log.info('function reloaded', fields);
      this.emit('reloaded', def.name);
    } else {
      rec.log.write('runtime', `loaded (events: ${fields.events.join(', ')}; pathRegex: ${fields.pathRegex})`);
      this.log.info('function loaded', fields);
      this.emit('loaded', def.name);
    }
  }

  private loadFailed(rec: FunctionRecord, e: unknown, keepsWorking: boolean): void {
    const message = isError(e) && e.name === 'FunctionLoadError' ? e.message : errorText(e);
    const location = e instanceof FunctionLoadError ? e.location : undefined;
    rec.lastError = { message: message.split('\n')[0]!, at: new Date().toISOString(), during: 'load', ...(location ? { location } : {}) };
    if (!keepsWorking) rec.status = 'failed';
    rec.log.write('runtime', `failed to load: ${message}${keepsWorking ? '\nthe previous version keeps running' : ''}`);
    const where = location ? { position: `${location.file}:${location.line}${location.column !== undefined ? `:${location.column}` : ''}`, ...(location.lineText !== undefined ? { sourceLine: location.lineText } : {}) } : {};
    this.log.error('function failed to load', { function: rec.name, file: rec.file, error: rec.lastError.message, ...where, previousVersion: keepsWorking ? 'kept running' : 'none' });
    this.emit('failed', rec.name, message);
  }

  /**
   * Brings the notifier registrations of `rec` in line with `def`. A listener whose event and
   * regex are unchanged stays registered (its wrapper calls whatever version is current); new
   * listeners are added before stale ones are removed, so a reload never leaves a gap.
   */
  private async register(rec: FunctionRecord, def: FunctionDefinition): Promise<void> {
    const notifier = this.notifier!;
    const stale: [FunctionEvent, Registration][] = [];
    const added: [FunctionEvent, Registration][] = [];
    try {
      for (const [, event] of HANDLER_EVENTS) {
        const current = rec.registrations.get(event);
        const wanted = def.handlers[event] !== undefined;
        if (current && wanted && sameRegex(current.regex, def.pathRegex)) continue;
        if (current) stale.push([event, current]);
        if (wanted) {
          const registration: Registration = { regex: def.pathRegex, wrapper: (arg: unknown) => this.invoke(rec, event, arg) };
          await notifier.addListener(def.pathRegex, event, registration.wrapper);
          added.push([event, registration]);
        }
      }
    } catch (e) {
      for (const [event, r] of added) await notifier.removeListener(r.regex, event, r.wrapper).catch(() => undefined);
      throw e;
    }
    for (const [event, r] of stale) {
      rec.registrations.delete(event);
      await notifier.removeListener(r.regex, event, r.wrapper).catch((e: unknown) => this.log.warn('removing a listener failed', { function: rec.name, event, error: e }));
    }
    for (const [event, r] of added) rec.registrations.set(event, r);
  }

  private async unregisterAll(rec: FunctionRecord): Promise<void> {
    for (const [event, r] of rec.registrations) {
      await this.notifier?.removeListener(r.regex, event, r.wrapper).catch((e: unknown) => this.log.warn('removing a listener failed', { function: rec.name, event, error: e }));
    }
    rec.registrations.clear();
  }

  private async unload(file: string): Promise<void> {
    const rec = this.records.get(file);
    if (!rec || rec.status === 'unloaded') return;
    const wasLoaded = rec.status === 'loaded';
    await this.unregisterAll(rec);
    rec.status = 'unloaded';
    rec.def = null;
    if (wasLoaded) {
      rec.log.write('runtime', 'unloaded');
      this.log.info('function unloaded', { function: rec.name, file });
      this.emit('unloaded', rec.name);
    }
  }

  /** One handler call, isolated: never rejects, and never makes the notifier wait past the timeout. */
  private async invoke(rec: FunctionRecord, event: FunctionEvent, arg: unknown): Promise<void> {
    const def = rec.def;
    const handler = def?.handlers[event];
    if (!def || !handler) return;
    const realmPath = event === 'change' ? (arg as { path?: string })?.path : (arg as string);
    const timeoutMs = def.timeoutMs ?? this.timeoutMs;
    const started = Date.now();
    rec.counts.calls++;
    rec.counts.running++;
    this.writeStatusSoon();
    let timedOut = false;
    const call = (async () => handler.call(def.receiver, arg))().then(
      () => {
        if (timedOut) rec.log.write('runtime', `on${event}(${realmPath}) finished ${Date.now() - started} ms after it started (${timeoutMs} ms limit)`);
      },
      (e: unknown) => {
        rec.counts.errors++;
        rec.lastError = { message: (isError(e) ? e.message : String(e)).split('\n')[0]!, at: new Date().toISOString(), during: `on${event}(${realmPath})` };
        rec.log.write('error', `on${event}(${realmPath}) failed${timedOut ? ' after its timeout' : ''}: ${errorText(e)}`);
        this.log.warn('function handler failed', { function: rec.name, event, path: realmPath, error: rec.lastError.message });
        this.writeStatusSoon();
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      if ((await Promise.race([call.then(() => 'done' as const), expired])) === 'timeout') {
        timedOut = true;
        rec.counts.timeouts++;
        rec.log.write('runtime', `on${event}(${realmPath}) has not finished after ${timeoutMs} ms; no longer waiting for it (later events of this realm proceed)`);
        this.log.warn('function handler timed out', { function: rec.name, event, path: realmPath, timeoutMs });
        this.writeStatusSoon();
        void call.finally(() => {
          rec.counts.running--;
          this.writeStatusSoon();
        });
        return;
      }
    } finally {
      clearTimeout(timer);
    }
    rec.counts.running--;
    this.writeStatusSoon();
  }

  /**
   * Schedules a write of the status file: right away after a quiet spell, else when
   * `statusIntervalMs` has passed since the last write. Changes made before the timer fires ride
   * along, so a stream of calls costs one write per interval and the file lags by at most that.
   */
  private writeStatusSoon(): void {
    if (this.statusTimer || this.state !== 'running') return;
    const wait = Math.max(0, this.lastStatusWrite + this.statusIntervalMs - performance.now());
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.writeStatus();
    }, wait);
    this.statusTimer.unref();
  }

  private writeStatus(): void {
    const status = { pid: process.pid, state: this.state, dir: this.dir, updatedAt: new Date().toISOString(), functions: this.list() };
    try {
      fs.mkdirSync(this.logDir, { recursive: true });
      writeFileAtomic(path.join(this.logDir, STATUS_FILE), JSON.stringify(status, null, 2) + '\n', 0o644);
    } catch (e) {
      this.log.warn('could not write the functions status file', { logDir: this.logDir, error: e });
    }
    this.emit('status', status);
    // The interval runs from the end of this write, so a slow disk (an fsync held for tens of ms)
    // or a slow 'status' listener stretches the spacing instead of shortening the next wait.
    this.lastStatusWrite = performance.now();
  }
}

function sameRegex(a: RegExp, b: RegExp): boolean {
  return a.source === b.source && a.flags === b.flags;
}

import * as fs from 'node:fs';
import type { User } from '../client';
import {
  LocalCopies,
  RealmDirectory,
  adapterPredicate,
  checkAdminUser,
  realmBaseUrl,
  type PathPredicate,
} from '../admin-client';
import type { Instruction } from '../changeset';
import { TributaryError } from '../errors';
import { silentLogger } from '../shared/logger';
import { Realm, type RealmConfiguration } from '../realm';
import { acquireReplica, releaseReplica, type SharedReplica } from '../realm/registry';
import { Replica, type CommitEvent, type ExtensionStorage, type ReplicaExtension } from '../store';
import { AdapterLog, type LoggedTransaction } from './adapter-log';
import type { AdapterInstruction } from './instructions';
import { AdapterTranslator } from './translate';

/** An instruction array as `current()` returns it; `transaction` numbers it within its realm. */
export type AdapterTransaction = AdapterInstruction[] & { readonly transaction?: number; readonly origin?: 'download' | 'snapshot' };

function tagged(t: LoggedTransaction): AdapterTransaction {
  const instructions = t.instructions as AdapterTransaction;
  Object.defineProperty(instructions, 'transaction', { value: t.seq, enumerable: false });
  Object.defineProperty(instructions, 'origin', { value: t.origin, enumerable: false });
  return instructions;
}

export interface AdapterOptions {
  log?: { error(msg: string, fields?: Record<string, unknown>): void; warn?(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * One adapted realm: its local copy, synced, with the Adapter's log kept in the copy's file by a
 * replica extension that translates every downloaded instruction as it applies.
 */
class AdaptedRealm implements ReplicaExtension {
  readonly entry: SharedReplica;
  readonly realm: Realm;
  /** Set by `attach`, which `addExtension` runs at once. */
  private log!: AdapterLog;
  private current_: { seq: number; instructions: AdapterTransaction } | null = null;
  private readonly removeExtension: () => void;
  private logged = false;

  constructor(
    readonly path: string,
    file: string,
    user: User,
    url: string,
    private readonly notify: (path: string) => void,
    onError: (path: string, error: Error) => void,
  ) {
    this.entry = acquireReplica(file, (p) => Replica.open({ path: p }));
    let remove: (() => void) | undefined;
    try {
      remove = this.entry.replica.addExtension(this);
      this.realm = new Realm({ path: file, sync: { user, url } });
      this.realm.syncSession!.addErrorListener((e) => onError(path, e));
    } catch (e) {
      remove?.();
      releaseReplica(this.entry);
      throw e;
    }
    this.removeExtension = remove;
    if (this.log.pendingCount > 0) this.notify(this.path);
  }

  // ---- ReplicaExtension ----------------------------------------------------------------------

  attach(storage: ExtensionStorage): void {
    this.log = new AdapterLog(storage);
  }

  applyRemote(instructions: readonly Instruction[], origin: 'download' | 'snapshot', applyNow: (instructions: readonly Instruction[]) => void): void {
    const t = new AdapterTranslator(this.entry.replica);
    for (const ins of instructions) {
      t.before(ins);
      applyNow([ins]);
      t.after(ins);
    }
    if (t.out.length > 0) {
      this.log.append(origin, t.out);
      this.logged = true;
    }
  }

  committed(e: CommitEvent): void {
    if (e.origin !== 'local' && this.logged) {
      this.logged = false;
      this.notify(this.path);
    }
  }

  // ---- the Adapter's view --------------------------------------------------------------------

  current(): AdapterTransaction | undefined {
    if (!this.current_) {
      const next: LoggedTransaction | undefined = this.log.next();
      if (!next) return undefined;
      this.current_ = { seq: next.seq, instructions: tagged(next) };
    }
    return this.current_.instructions;
  }

  pending(limit?: number): AdapterTransaction[] {
    return this.log.pending(limit).map(tagged);
  }

  get pendingCount(): number {
    return this.log.pendingCount;
  }

  advance(through?: number): void {
    const seq = through ?? this.current_?.seq ?? this.log.next()?.seq;
    if (seq === undefined) return;
    if (this.entry.replica.isInWrite) {
      throw new TributaryError('INVALID_STATE', `advance(${this.path}) inside a write transaction of realmAtPath: commit or cancel it first`);
    }
    this.log.advanceTo(seq);
    this.current_ = null;
  }

  close(): void {
    this.removeExtension();
    this.realm.close();
    releaseReplica(this.entry);
  }
}

/**
 * realm-js's Data Adapter (API.md §4): a stream of each watched realm's transactions as
 * instruction arrays, with a cursor that survives restarts. Every downloaded transaction is
 * translated and logged in the local copy in the same SQLite transaction that integrates it,
 * so a crash can neither lose nor repeat one; `advance` moves the cursor durably.
 *
 * @example
 * const adapter = new Adapter('./adapter', 'realm://127.0.0.1:9080', admin, '^/[0-9a-f]+/private$', (path) => {
 *   let tx;
 *   while ((tx = adapter.current(path))) {
 *     for (const i of tx) if (i.type === 'INSERT') db.upsert(i.object_type, i.identity, i.values);
 *     adapter.advance(path);
 *   }
 * });
 */
export class Adapter {
  readonly ready: Promise<void>;
  private readonly copies: LocalCopies;
  private readonly directory: RealmDirectory;
  private readonly filter: PathPredicate;
  private readonly baseUrl: string;
  private readonly realms = new Map<string, AdaptedRealm>();
  private readonly scheduled = new Set<string>();
  private readonly log: NonNullable<AdapterOptions['log']>;
  private closed = false;
  private unsubscribe: (() => void) | null = null;

  constructor(
    localPath: string,
    serverUrl: string,
    private readonly adminUser: User,
    filter: string | RegExp | PathPredicate,
    private readonly changeCallback: (path: string) => void,
    ssl?: unknown,
    options: AdapterOptions = {},
  ) {
    void ssl; // TLS uses Node's defaults for realms:// URLs
    if (typeof localPath !== 'string' || localPath.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'Adapter needs a local path');
    this.baseUrl = realmBaseUrl(serverUrl);
    checkAdminUser(adminUser);
    if (typeof changeCallback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'Adapter needs a change callback');
    this.log = options.log ?? silentLogger;
    this.filter = adapterPredicate(filter, (msg, fields) => this.log.warn?.(msg, fields));
    this.copies = new LocalCopies(localPath);
    fs.mkdirSync(this.copies.root, { recursive: true });
    this.directory = new RealmDirectory({ user: adminUser, baseUrl: this.baseUrl, file: this.copies.directoryFile });
    this.ready = this.directory.start().then(() => {
      if (this.closed) return;
      this.unsubscribe = this.directory.onChange(() => this.reconcile());
      this.reconcile();
    });
    this.ready.catch((e) => this.log.error('Adapter: cannot download the realm directory', { error: String(e) }));
  }

  /** The oldest unprocessed transaction of `path`, or undefined; the same array until advance. */
  current(path: string): AdapterTransaction | undefined {
    this.checkOpen();
    return this.realms.get(path)?.current();
  }

  /**
   * The unprocessed transactions of `path` (at most `limit`), oldest first (the first is `current(path)`). A
   * Tributary extension: connectors use it to see which objects have realm changes not yet
   * written to their database.
   */
  pending(path: string, limit?: number): AdapterTransaction[] {
    this.checkOpen();
    return this.realms.get(path)?.pending(limit) ?? [];
  }

  /** How many transactions of `path` are unprocessed (0 for a path not adapted). */
  pendingCount(path: string): number {
    this.checkOpen();
    return this.realms.get(path)?.pendingCount ?? 0;
  }

  /**
   * Marks the current transaction of `path` processed (durably; a restart resumes after it).
   * With `through` (a `transaction` number from `pending`), every transaction up to and including
   * it is marked in one durable step.
   */
  advance(path: string, through?: number): void {
    this.checkOpen();
    if (through !== undefined && (!Number.isSafeInteger(through) || through < 1)) throw new TributaryError('INVALID_ARGUMENT', `advance(${path}, ${String(through)}): expected a transaction number from current() or pending()`);
    this.realms.get(path)?.advance(through);
  }

  /**
   * The local copy of `path` as a Realm for writing (with `schema` added when given). Its writes
   * are synced to the server and are never returned by `current`.
   */
  realmAtPath(path: string, schema?: RealmConfiguration['schema']): Realm {
    this.checkOpen();
    let r = this.realms.get(path);
    if (!r) r = this.open(path);
    return new Realm({ path: this.copies.fileFor(path), schema });
  }

  /** Paths being adapted now. */
  get paths(): string[] {
    return [...this.realms.keys()];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const r of this.realms.values()) r.close();
    this.realms.clear();
    this.directory.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('INVALID_STATE', 'the Adapter is closed');
  }

  private reconcile(): void {
    if (this.closed) return;
    for (const path of this.directory.paths) {
      if (this.realms.has(path)) continue;
      let match = false;
      try {
        match = this.filter(path);
      } catch (e) {
        this.log.error('Adapter: the filter threw', { path, error: String(e) });
      }
      if (match) this.open(path);
    }
  }

  private open(path: string): AdaptedRealm {
    const r = new AdaptedRealm(path, this.copies.fileFor(path), this.adminUser, this.baseUrl + path, (p) => this.schedule(p), (p, e) =>
      this.log.error('Adapter: sync error', { path: p, error: e.stack ?? String(e) }),
    );
    this.realms.set(path, r);
    return r;
  }

  /** Calls changeCallback once per tick and path, outside any transaction. */
  private schedule(path: string): void {
    if (this.scheduled.has(path)) return;
    this.scheduled.add(path);
    setImmediate(() => {
      this.scheduled.delete(path);
      if (this.closed || !this.realms.has(path)) return;
      try {
        const r = this.changeCallback(path) as unknown;
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (e: unknown) => this.log.error('Adapter: changeCallback failed', { path, error: e instanceof Error ? e.stack : String(e) }));
        }
      } catch (e) {
        this.log.error('Adapter: changeCallback threw', { path, error: e instanceof Error ? e.stack : String(e) });
      }
    });
  }
}

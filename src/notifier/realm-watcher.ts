import type { Session, User } from '../client';
import { LazyReplica } from '../admin-client';
import { Realm } from '../realm';
import type { CommitChanges } from '../realm/change-tracker';
import { acquireReplica, releaseReplica, type SharedReplica } from '../realm/registry';
import type { PreImageCapture, ReplicaHandle, StoredRow } from '../store';
import type { ObjectSchema } from '../model';
import { computeChanges, type ChangeSet } from './changes';
import { OldStateView, UndoLog } from './undo-log';

/** A `change` event: valid inside the handlers and until the Promises they return settle. */
export interface ChangeEvent {
  path: string;
  /** The state after this changeset (the notifier's live copy; writes to it are synced). */
  realm: Realm;
  /**
   * The state before it, read-only. On the first event of a realm seen for the first time it is
   * an empty realm with an empty schema (realm-js handed the same; `oldRealm.schema.length === 0`
   * tells it apart).
   */
  oldRealm: Realm;
  changes: Record<string, ChangeSet>;
  /**
   * Tributary addition: `'local'` when the changeset was written by this process (a handler's own
   * write through `realm`), `'remote'` when it was downloaded. realm-js did not tell them apart.
   */
  origin: 'remote' | 'local';
}

export interface WatcherHost {
  /** Runs every matching change handler to completion (with retries). */
  deliver(event: ChangeEvent): Promise<void>;
  /** The realm now has an event pending or running (for the open-realm bound). */
  touched(watcher: RealmWatcher): void;
  /** A local copy opened (+1) or closed (-1) its database. */
  openChanged(delta: 1 | -1): void;
}

interface QueuedEvent {
  log: UndoLog;
  view: OldStateView;
  changes: Record<string, ChangeSet>;
  first: boolean;
  origin: 'remote' | 'local';
}

let viewCounter = 0;

/**
 * One watched realm: a local copy synced on the admin user's shared connection, with every
 * downloaded changeset integrated in its own transaction. Each committed transaction that changed
 * data (downloaded, or written by this process) becomes an event; while events are queued or
 * running, integration of further downloads is held, so an event's `realm` does not move under its
 * handlers (except by their own writes) and its `oldRealm` stays exact.
 *
 * `oldRealm` is the live replica seen through an undo log: the watcher captures pre-images as a
 * replica extension and gives every live log the first pre-image of each object touched; a log
 * starts with its transaction and lives until its event settles, so it covers every later change
 * too.
 */
export class RealmWatcher implements PreImageCapture {
  /** Logs receiving pre-images: the open transaction's, and those of queued or running events. */
  private readonly live = new Set<UndoLog>();
  private txLog = new UndoLog();
  private entry: SharedReplica | null = null;
  private lazy: LazyReplica | null = null;
  private realm_: Realm | null = null;
  private session: Session | null = null;
  private unsubscribe: (() => void) | null = null;
  private removeExtension: (() => void) | null = null;
  private fresh = false;
  private delivered = false;
  private readonly queue: QueuedEvent[] = [];
  private running = false;
  private release: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  lastUsed = 0;

  constructor(
    readonly path: string,
    private readonly file: string,
    private readonly user: User,
    private readonly url: string,
    private readonly host: WatcherHost,
  ) {
    this.live.add(this.txLog);
  }

  start(): void {
    const lazy = new LazyReplica({ path: this.file }, (open) => this.host.openChanged(open ? 1 : -1));
    this.lazy = lazy;
    this.entry = acquireReplica(this.file, () => lazy);
    const replica = this.entry.replica;
    this.removeExtension = replica.addExtension({ preImages: this });
    const p = replica.progress;
    this.fresh = p.download.serverVersion === 0 && p.latestServerVersion === 0;
    this.unsubscribe = this.entry.tracker.subscribe((c) => this.committed(c));
    this.realm_ = new Realm({ path: this.file, sync: { user: this.user, url: this.url } });
    this.session = this.realm_.syncSession as Session;
    this.session.splitDownloads = true;
    this.lastUsed = Date.now();
  }

  // ---- PreImageCapture: fan out to the live logs ------------------------------------------------

  object(type: string, key: string, read: () => StoredRow | undefined): void {
    let row: StoredRow | undefined | null = null;
    const once = () => (row === null ? (row = read()) : row);
    for (const l of this.live) l.object(type, key, once);
  }

  schema(name: string, previous: ObjectSchema | undefined): void {
    for (const l of this.live) l.schema(name, previous);
  }

  reset(rows: () => Iterable<{ type: string; key: string } & StoredRow>, schemas: ObjectSchema[]): void {
    const all = [...rows()];
    for (const l of this.live) l.reset(() => all, schemas);
  }

  // ---- state ---------------------------------------------------------------------------------

  /** The live copy as a Realm (opened again after an eviction). */
  get realm(): Realm {
    if (!this.realm_ || this.realm_.isClosed) this.realm_ = new Realm({ path: this.file });
    return this.realm_;
  }

  get isIdle(): boolean {
    return !this.running && this.queue.length === 0 && !(this.session?.isHeld ?? false);
  }

  get isOpen(): boolean {
    return this.lazy?.isOpen ?? false;
  }

  get syncSession(): Session | null {
    return this.session;
  }

  /** Closes the database connection and caches while idle; the session stays bound. */
  evict(): boolean {
    if (!this.isIdle || !this.lazy) return false;
    this.realm_?.close();
    this.realm_ = null;
    return this.lazy.evict();
  }

  private committed(c: CommitChanges): void {
    if (this.stopped || !this.entry) return;
    const replica = this.entry.replica;
    const log = this.txLog;
    this.txLog = new UndoLog();
    this.live.add(this.txLog);
    if (!c.dataChanged) {
      this.live.delete(log);
      return;
    }
    const view = new OldStateView(replica, log, `${this.file}#before-${++viewCounter}`);
    let changes: Record<string, ChangeSet>;
    try {
      changes = computeChanges(view, replica, c);
    } catch (e) {
      view.close();
      this.live.delete(log);
      throw e;
    }
    if (Object.keys(changes).length === 0) {
      view.close();
      this.live.delete(log);
      return;
    }
    const first = this.fresh && !this.delivered;
    this.delivered = true;
    this.queue.push({ log, view, changes, first, origin: c.origin === 'local' ? 'local' : 'remote' });
    // Hold before returning from the commit: the session integrates nothing more until released.
    this.release ??= this.session!.holdIntegration();
    this.lastUsed = Date.now();
    this.host.touched(this);
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        await this.run(this.queue.shift()!);
        // A handler that writes on every event makes the next event at once, and a synchronous
        // handler settles in a microtask: without this turn of the event loop such a realm would
        // loop in microtasks and no socket (so no other realm) would ever be read.
        if (this.queue.length > 0) await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
      this.lastUsed = Date.now();
      const release = this.release;
      this.release = null;
      release?.();
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(item: QueuedEvent): Promise<void> {
    let old: { realm: Realm; entry: SharedReplica | null } | null = null;
    const { view, first } = item;
    const event: ChangeEvent = {
      path: this.path,
      realm: this.realm,
      get oldRealm(): Realm {
        if (first) {
          old ??= { realm: new Realm({ inMemory: true }), entry: null };
          return old.realm;
        }
        if (!old) {
          const entry = acquireReplica(view.path, () => view as unknown as ReplicaHandle);
          old = { realm: new Realm({ path: view.path }), entry };
        }
        return old.realm;
      },
      changes: item.changes,
      origin: item.origin,
    };
    try {
      if (!this.stopped) await this.host.deliver(event);
    } finally {
      const o = old as { realm: Realm; entry: SharedReplica | null } | null;
      if (o) {
        o.realm.close();
        if (o.entry) releaseReplica(o.entry);
      }
      view.close();
      this.live.delete(item.log);
    }
  }

  /** Waits for the running event, then closes the copy (the file stays on disk). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.running) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.unsubscribe?.();
    this.realm_?.close();
    this.realm_ = null;
    this.removeExtension?.();
    this.removeExtension = null;
    if (this.entry) releaseReplica(this.entry);
    this.entry = null;
  }
}

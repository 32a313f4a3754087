import type { Session, User } from '../client';
import { lazyReplica, type LazyReplica } from '../admin-client';
import { Realm } from '../realm';
import type { CommitChanges } from '../realm/change-tracker';
import { acquireReplica, releaseReplica, type SharedReplica } from '../realm/registry';
import { Replica } from '../store';
import { computeChanges, type ChangeSet } from './changes';
import { OldStateView, UndoLog } from './undo-log';

/** A `change` event: valid inside the handlers and until the Promises they return settle. */
export interface ChangeEvent {
  path: string;
  /** The state after this changeset (the notifier's live copy; writes to it are synced). */
  realm: Realm;
  /** The state before it, read-only; null on the first event of a realm seen for the first time. */
  oldRealm: Realm | null;
  changes: Record<string, ChangeSet>;
}

export interface WatcherHost {
  /** Runs every matching change handler to completion (with retries). */
  deliver(event: ChangeEvent): Promise<void>;
  /** The realm now has an event pending or running (for the open-realm bound). */
  touched(watcher: RealmWatcher): void;
}

let viewCounter = 0;

/**
 * One watched realm: a local copy synced on the admin user's shared connection, with every
 * downloaded changeset integrated in its own transaction. After each such commit integration is
 * held until the event's handlers settle, so the event's `realm` does not move under them and its
 * `oldRealm` — the live replica seen through an undo log of pre-images — stays exact.
 */
export class RealmWatcher {
  private readonly log = new UndoLog();
  private entry: SharedReplica | null = null;
  private lazy: LazyReplica | null = null;
  private realm_: Realm | null = null;
  private session: Session | null = null;
  private unsubscribe: (() => void) | null = null;
  private fresh = false;
  private delivered = false;
  /** Events computed and not yet settled (at most one while integration is held). */
  private busy = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  lastUsed = 0;

  constructor(
    readonly path: string,
    private readonly file: string,
    private readonly user: User,
    private readonly url: string,
    private readonly host: WatcherHost,
  ) {}

  start(): void {
    const lazy = lazyReplica(() => Replica.open({ path: this.file }));
    this.lazy = lazy;
    this.entry = acquireReplica(this.file, () => lazy.replica);
    const replica = this.entry.replica;
    replica.preImageHook = this.log;
    const p = replica.progress;
    this.fresh = p.download.serverVersion === 0 && p.latestServerVersion === 0;
    this.unsubscribe = this.entry.tracker.subscribe((c) => this.committed(c));
    this.realm_ = new Realm({ path: this.file, sync: { user: this.user, url: this.url } });
    this.session = this.realm_.syncSession as Session;
    this.session.splitDownloads = true;
    this.lastUsed = Date.now();
  }

  /** The live copy as a Realm (opened again after an eviction). */
  get realm(): Realm {
    if (!this.realm_ || this.realm_.isClosed) this.realm_ = new Realm({ path: this.file });
    return this.realm_;
  }

  get isIdle(): boolean {
    return this.busy === 0 && !(this.session?.isHeld ?? false);
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
    if (c.origin === 'local' || !c.dataChanged) {
      // The log must describe the state right before the next downloaded changeset.
      if (this.busy === 0) this.log.clear();
      return;
    }
    const release = this.session!.holdIntegration();
    const view = new OldStateView(replica, this.log, `${this.file}#before-${++viewCounter}`);
    let changes: Record<string, ChangeSet>;
    try {
      changes = computeChanges(view, replica, c);
    } catch (e) {
      view.close();
      this.log.clear();
      release();
      throw e;
    }
    if (Object.keys(changes).length === 0) {
      view.close();
      this.log.clear();
      release();
      return;
    }
    const first = this.fresh && !this.delivered;
    this.delivered = true;
    this.busy++;
    this.lastUsed = Date.now();
    this.host.touched(this);
    void this.run(view, changes, first, release);
  }

  private async run(view: OldStateView, changes: Record<string, ChangeSet>, first: boolean, release: () => void): Promise<void> {
    let old: { realm: Realm; entry: SharedReplica } | null = null;
    const watcher = this;
    const event: ChangeEvent = {
      path: this.path,
      realm: this.realm,
      get oldRealm(): Realm | null {
        if (first) return null;
        if (!old) {
          const entry = acquireReplica(view.path, () => view as unknown as Replica);
          old = { realm: new Realm({ path: view.path }), entry };
        }
        return old.realm;
      },
      changes,
    };
    try {
      await this.host.deliver(event);
    } finally {
      if (old) {
        (old as { realm: Realm }).realm.close();
        releaseReplica((old as { entry: SharedReplica }).entry);
      }
      view.close();
      watcher.log.clear();
      this.busy--;
      this.lastUsed = Date.now();
      release();
      if (this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Waits for the running event, then closes the copy (the file stays on disk). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.busy > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.unsubscribe?.();
    this.realm_?.close();
    this.realm_ = null;
    if (this.entry) {
      this.entry.replica.preImageHook = undefined;
      releaseReplica(this.entry);
    }
    this.entry = null;
  }
}

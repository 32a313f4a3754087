import type { User } from '../client';
import { readValue, type ObjectRecord } from '../changeset';
import { Realm } from '../realm';
import { TributaryError } from '../errors';
import { ADMIN_REALM_PATH } from './constants';

export interface DirectoryChange {
  /** Realms that appeared (or were seen for the first time), in `/__admin` order. */
  added: string[];
  /** Realms marked deleted, or gone from `/__admin`. */
  deleted: string[];
}

export interface RealmDirectoryOptions {
  user: User;
  /** `realm://host:port` */
  baseUrl: string;
  /** The local copy of `/__admin`. */
  file: string;
}

/**
 * The server's realms, discovered through a synced copy of the `/__admin` realm (PROTOCOL.md §7):
 * one `RealmFile {path, owner, createdAt, deleted}` per realm. `/__admin` itself is not listed
 * there; it is reported as a realm too, so listeners on `^/__admin$` keep working.
 */
export class RealmDirectory {
  private realm: Realm | null = null;
  private readonly live = new Set<string>();
  private readonly deletedPaths = new Set<string>();
  private readonly listeners = new Set<(change: DirectoryChange) => void>();
  private scanScheduled = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: RealmDirectoryOptions) {}

  /** Opens the local copy and resolves once everything the server has was downloaded. */
  /**
   * Opens `/__admin` and resolves once it is downloaded. A refusal the server will not change (a bad
   * token, a wrong URL) rejects with its code; with `timeoutMs`, not reaching the server in time
   * rejects with TIMEOUT naming the last connection error.
   */
  async start(timeoutMs?: number): Promise<void> {
    if (this.realm) return;
    const realm = new Realm({ path: this.options.file, sync: { user: this.options.user, url: this.options.baseUrl + ADMIN_REALM_PATH } });
    this.realm = realm;
    this.unsubscribe = realm._replica.addExtension({ committed: () => this.scheduleScan() });
    const session = realm.syncSession!;
    try {
      await session.downloadAllServerChanges(timeoutMs);
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'TIMEOUT') {
        const why = session.lastConnectionError ? ` (last attempt: ${session.lastConnectionError})` : '';
        throw new TributaryError('TIMEOUT', `cannot reach the server at ${this.options.baseUrl} within ${timeoutMs} ms${why}`, { cause: e });
      }
      throw e;
    }
    this.scan();
  }

  /** Realms that exist now (not deleted), `/__admin` first. */
  get paths(): string[] {
    return [...this.live];
  }

  /** Realms `/__admin` marks deleted. */
  get deleted(): string[] {
    return [...this.deletedPaths];
  }

  has(path: string): boolean {
    return this.live.has(path);
  }

  onChange(listener: (change: DirectoryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private scheduleScan(): void {
    if (this.scanScheduled) return;
    this.scanScheduled = true;
    queueMicrotask(() => {
      this.scanScheduled = false;
      this.scan();
    });
  }

  private scan(): void {
    const realm = this.realm;
    if (!realm || realm.isClosed) return;
    const replica = realm._replica;
    const schema = replica.getSchema('RealmFile');
    const present = new Set<string>([ADMIN_REALM_PATH]);
    const marked = new Set<string>();
    if (schema) {
      for (const r of replica.objects('RealmFile') as ObjectRecord[]) {
        const path = String(r.id);
        if (readValue(schema, r, 'deleted') === true) marked.add(path);
        else present.add(path);
      }
    }
    const added: string[] = [];
    const deleted: string[] = [];
    for (const p of present) if (!this.live.has(p)) added.push(p);
    for (const p of this.live) if (!present.has(p)) deleted.push(p);
    for (const p of added) this.live.add(p);
    for (const p of deleted) this.live.delete(p);
    this.deletedPaths.clear();
    for (const p of marked) this.deletedPaths.add(p);
    if (added.length === 0 && deleted.length === 0) return;
    for (const l of [...this.listeners]) l({ added, deleted });
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.realm?.close();
    this.realm = null;
    this.listeners.clear();
  }
}

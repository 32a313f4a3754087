import type { HistoryEntry } from '../../merge/integrate';
import type { ObjectSchema } from '../../model';
import type { ClientFileRecord, RealmRecord, StoredHistoryEntry } from './types';

/** A history entry kept in memory: the stored form (sent in DOWNLOADs) and the decoded one (merged against). */
export interface CachedHistoryEntry {
  stored: StoredHistoryEntry;
  entry: HistoryEntry;
}

/** What is known about a client file's reciprocal rows, so a trim that has nothing to delete costs nothing. */
export interface ReciprocalRange {
  /** Lowest and highest version of a stored reciprocal row; `min > max` when there is none. */
  min: number;
  max: number;
}

/** Everything cached about one realm. Records are replaced, never mutated, so callers may keep them. */
export class CachedRealm {
  /** Cumulative history bytes at `record.latestVersion`, when known. */
  cumulative: number | undefined;
  /** The newest history entries, contiguous, the last one at `record.latestVersion` (or empty). */
  history: CachedHistoryEntry[] = [];
  historyBytes = 0;
  readonly files = new Map<number, ClientFileRecord>();
  readonly reciprocal = new Map<number, ReciprocalRange>();
  /** The realm's schemas by type name, once read (every instruction applied looks its type up). */
  schemas: Map<string, ObjectSchema> | undefined;

  constructor(public record: RealmRecord) {}

  /** The cached entries after `after`, or undefined when the cache does not reach back that far. */
  historyAfter(after: number): CachedHistoryEntry[] | undefined {
    const h = this.history;
    if (after >= this.record.latestVersion) return [];
    if (h.length === 0 || h[0]!.stored.version > after + 1) return undefined;
    return h.slice(after + 1 - h[0]!.stored.version);
  }

  /** The cached entry of `version`, if any. */
  at(version: number): CachedHistoryEntry | undefined {
    const h = this.history;
    if (h.length === 0) return undefined;
    return h[version - h[0]!.stored.version];
  }
}

/**
 * In-memory copies of hot per-realm metadata for the SQLite driver: realm rows (by id and path),
 * client-file rows, and the newest history entries (encoded and decoded), so downloads, merges and
 * IDENT checks do not query and decode SQLite again and again.
 *
 * Consistency: the driver owns the database's only connection and runs every transaction body
 * synchronously, so nothing can read between a write and its COMMIT. Writes update the cache as
 * they update the tables (write-through); when a transaction or a savepoint rolls back — or COMMIT
 * fails — the driver {@link clear}s the cache, and the next reads reload from the database.
 */
export class SqliteCache {
  private readonly realms = new Map<number, CachedRealm>();
  private readonly idByPath = new Map<string, number>();
  private historyBytes = 0;

  constructor(
    /** Bound on the encoded bytes of cached history over all realms (decoded copies take a few times more). */
    readonly maxHistoryBytes: number,
    /** Bound on the number of realms whose rows are cached. */
    readonly maxRealms = 100_000,
  ) {}

  realm(id: number): CachedRealm | undefined {
    return this.realms.get(id);
  }

  realmByPath(path: string): CachedRealm | undefined {
    const id = this.idByPath.get(path);
    return id === undefined ? undefined : this.realms.get(id);
  }

  /** Caches (or replaces) a realm row read from or written to the database. */
  putRealm(record: RealmRecord): CachedRealm {
    let r = this.realms.get(record.id);
    if (r) {
      if (r.record.latestVersion !== record.latestVersion) {
        this.dropHistory(r);
        r.cumulative = undefined;
      }
      r.record = record;
      return r;
    }
    if (this.realms.size >= this.maxRealms) this.evictOldest();
    r = new CachedRealm(record);
    this.realms.set(record.id, r);
    this.idByPath.set(record.path, record.id);
    return r;
  }

  /** Records an appended history entry and the realm's new latest version. */
  appended(r: CachedRealm, stored: StoredHistoryEntry, entry: HistoryEntry): void {
    r.record = { ...r.record, latestVersion: stored.version, latestSalt: stored.salt };
    r.cumulative = stored.cumulativeBytes;
    if (this.maxHistoryBytes <= 0) return;
    if (r.history.length > 0 && r.history[r.history.length - 1]!.stored.version !== stored.version - 1) this.dropHistory(r);
    r.history.push({ stored, entry });
    r.historyBytes += stored.byteSize;
    this.historyBytes += stored.byteSize;
    // Most recently written realms last, so eviction takes the coldest.
    this.realms.delete(r.record.id);
    this.realms.set(r.record.id, r);
    this.trim(r);
  }

  clear(): void {
    this.realms.clear();
    this.idByPath.clear();
    this.historyBytes = 0;
  }

  /** Encoded bytes of history currently cached (tests, metrics). */
  get cachedHistoryBytes(): number {
    return this.historyBytes;
  }

  private trim(hot: CachedRealm): void {
    // One realm keeps at most half the budget, dropping its oldest entries first.
    const perRealm = this.maxHistoryBytes / 2;
    let drop = 0;
    let bytes = 0;
    while (drop < hot.history.length - 1 && hot.historyBytes - bytes > perRealm) bytes += hot.history[drop++]!.stored.byteSize;
    if (drop > 0) {
      hot.history = hot.history.slice(drop);
      hot.historyBytes -= bytes;
      this.historyBytes -= bytes;
    }
    if (this.historyBytes <= this.maxHistoryBytes) return;
    for (const r of this.realms.values()) {
      if (this.historyBytes <= this.maxHistoryBytes) break;
      if (r !== hot) this.dropHistory(r);
    }
  }

  private dropHistory(r: CachedRealm): void {
    this.historyBytes -= r.historyBytes;
    r.history = [];
    r.historyBytes = 0;
  }

  private evictOldest(): void {
    const oldest = this.realms.values().next().value;
    if (!oldest) return;
    this.dropHistory(oldest);
    this.realms.delete(oldest.record.id);
    if (this.idByPath.get(oldest.record.path) === oldest.record.id) this.idByPath.delete(oldest.record.path);
  }
}

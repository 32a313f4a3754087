import type { Adapter, AdapterTransaction } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import { objectKeyId } from './keys';
import type { Collected } from './touched';

/**
 * Who wins a race between a database write and a realm write to the same row (CONNECTORS.md §1):
 * `database-wins` (default) or `realm-wins`; the loser side is updated.
 *
 * How a connector implements them with the kit: apply locks the touched rows, waits until capture
 * has written every database transaction committed before the lock into the realm (a barrier),
 * then reads the realm's merged state and writes it. With `database-wins`, capture's write of the
 * racing database change is simply the later realm write. With `realm-wins`, capture asks
 * {@link CaptureProtection} which properties of an object have realm changes the connector has
 * received but not yet applied, and leaves those alone; apply then writes the realm's values over
 * the database's.
 */
export type ConflictPolicy = 'database-wins' | 'realm-wins';

/** For `realm-wins`: which properties of an object capture must leave alone (realm changes not yet applied). */
export interface CaptureProtection<T> {
  protectedProperties(path: string, t: T, key: ObjectKey): Set<string> | 'all' | null;
  /** Forgets what was read (capture calls it before each source transaction). */
  resetProtection(): void;
  /**
   * Capture has reached, in the source's own order, the connector's transaction that applied
   * `path`'s realm transactions through `through`: from there on they protect nothing. A database
   * change after it in the stream was made after them (it waited for apply's row locks, say), so
   * it is the later write and goes into the realm; protecting it until apply's `advance` — which
   * can come after capture has read that change — left the realm with its value and the database
   * with the other.
   */
  appliedInStream?(path: string, through: number): void;
}

/** {@link CaptureProtection} from the Adapter's pending (received, not yet applied) realm transactions. */
export class PendingRealmWrites<T extends { type: string }> implements CaptureProtection<T> {
  private cache = new Map<string, Map<string, Set<string> | 'all'>>();
  /** Per realm, the last realm transaction whose apply capture has passed ({@link appliedInStream}). */
  private readonly applied = new Map<string, number>();

  constructor(
    private readonly adapter: Adapter,
    private readonly collect: (path: string, txs: AdapterTransaction[]) => Collected<T>,
  ) {}

  protectedProperties(path: string, t: T, key: ObjectKey): Set<string> | 'all' | null {
    let index = this.cache.get(path);
    if (!index) {
      index = new Map();
      if (this.adapter.pendingCount(path) > 0) {
        const through = this.applied.get(path);
        const pending = this.adapter.pending(path);
        const unapplied = through === undefined ? pending : pending.filter((tx) => tx.transaction === undefined || tx.transaction > through);
        if (unapplied.length > 0) for (const o of this.collect(path, unapplied).objects.values()) index.set(objectKeyId(o.table.type, o.key), o.props);
      }
      this.cache.set(path, index);
    }
    return index.get(objectKeyId(t.type, key)) ?? null;
  }

  resetProtection(): void {
    this.cache.clear();
  }

  appliedInStream(path: string, through: number): void {
    if (through <= (this.applied.get(path) ?? -1)) return;
    this.applied.set(path, through);
    this.cache.delete(path);
  }
}

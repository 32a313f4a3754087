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
}

/** {@link CaptureProtection} from the Adapter's pending (received, not yet applied) realm transactions. */
export class PendingRealmWrites<T extends { type: string }> implements CaptureProtection<T> {
  private cache = new Map<string, Map<string, Set<string> | 'all'>>();

  constructor(
    private readonly adapter: Adapter,
    private readonly collect: (path: string, txs: AdapterTransaction[]) => Collected<T>,
  ) {}

  protectedProperties(path: string, t: T, key: ObjectKey): Set<string> | 'all' | null {
    let index = this.cache.get(path);
    if (!index) {
      index = new Map();
      if (this.adapter.pendingCount(path) > 0) for (const o of this.collect(path, this.adapter.pending(path)).objects.values()) index.set(objectKeyId(o.table.type, o.key), o.props);
      this.cache.set(path, index);
    }
    return index.get(objectKeyId(t.type, key)) ?? null;
  }

  resetProtection(): void {
    this.cache.clear();
  }
}

import type { Adapter, AdapterTransaction } from '../../src/adapter';
import { PendingRealmWrites } from '../../connectors/kit/conflict';
import type { Collected } from '../../connectors/kit/touched';

/**
 * realm-wins protection: capture leaves alone the properties of realm transactions the connector
 * received but has not applied. Once capture has passed, in the source's order, the connector's
 * own transaction that applied them, they protect nothing any more, even if apply has not yet
 * told the Adapter (advance): a database change after that point is the later write.
 */

type T = { type: string };
const ITEM: T = { type: 'Item' };

/** An Adapter's pending list for one realm, as the protection reads it. */
function adapterWith(pending: AdapterTransaction[]): Adapter {
  return { pendingCount: () => pending.length, pending: () => pending } as unknown as Adapter;
}

/** A pending realm transaction `n` that sets `props` of Item `key`. */
function tx(n: number, key: number, props: string[]): AdapterTransaction {
  return Object.assign([{ key, props }] as never[], { transaction: n });
}

/** What `collect` makes of the transactions: each object with the union of its properties. */
function collect(_path: string, txs: AdapterTransaction[]): Collected<T> {
  const objects = new Map<string, { table: T; key: number; props: Set<string> }>();
  for (const t of txs) {
    for (const { key, props } of t as unknown as { key: number; props: string[] }[]) {
      const o = objects.get(String(key)) ?? { table: ITEM, key, props: new Set<string>() };
      for (const p of props) o.props.add(p);
      objects.set(String(key), o);
    }
  }
  return { objects } as unknown as Collected<T>;
}

test('realm transactions protect their properties until capture passes the transaction that applied them, then not, whatever the Adapter still lists', () => {
  const pending = [tx(5, 1, ['label']), tx(6, 1, ['qty']), tx(7, 2, ['label'])];
  const p = new PendingRealmWrites<T>(adapterWith(pending), collect);
  const props = (key: number) => {
    const r = p.protectedProperties('/shop', ITEM, key);
    return r === null || r === 'all' ? r : [...r].sort();
  };
  expect([props(1), props(2)]).toEqual([['label', 'qty'], ['label']]);
  // Capture reads the own transaction that applied 5 and 6; the Adapter has not been advanced.
  p.appliedInStream('/shop', 6);
  expect([props(1), props(2)]).toEqual([null, ['label']]);
  // An older position (a batch retried) never brings protection back; other realms are not affected.
  p.appliedInStream('/shop', 5);
  expect(props(1)).toBeNull();
  expect([...(p.protectedProperties('/other', ITEM, 1) as Set<string>)].sort()).toEqual(['label', 'qty']);
  p.appliedInStream('/shop', 7);
  expect(props(2)).toBeNull();
});

import * as path from 'node:path';
import { Realm } from '../../src/realm';
import { until } from '../helpers/pg-connector-fixture';
import { openLegacy, type LegacyTest } from '../helpers/legacy-connector';
import { describePostgres } from '../helpers/postgres';
import { legacyRegion } from '../fixtures/legacy-schema';

// Capture skipped the connector's own transactions whole (no echo), and apply wrote back only the
// rows it wrote itself. So when a client deleted a parent, PostgreSQL's ON DELETE CASCADE removed
// the children but the realm kept them; rows a trigger wrote in the same transaction (an audit
// row, a status copied to other rows) never reached the realm either.

describePostgres('regression: cascades and triggers in the connector\'s own transactions reach the realms', () => {
  let l: LegacyTest;
  let region: Realm;
  beforeAll(async () => {
    l = await openLegacy('own_cascades');
    region = await Realm.open({ sync: { user: l.t.fx.admin, url: l.t.fx.realmUrl + legacyRegion(1) }, path: path.join(l.t.fx.dir, 'client-region.db') });
    await region.syncSession!.downloadAllServerChanges(20_000);
  }, 90_000);
  afterAll(async () => {
    region?.close();
    await l?.close();
  });
  const audit = (id: number) => [...l.main.objects<any>('Audit')].filter((a) => a.row_key === String(id)).sort((a, b) => a.id - b.id).map((a) => a.op);

  test('a client deletes an order: its lines (ON DELETE CASCADE) go and the audit trigger\'s row arrives', async () => {
    l.main.write(() => l.main.delete(l.obj('Order', 100)));
    await l.settle();
    expect((await l.row('SELECT count(*)::int AS n FROM order_line WHERE order_id = 100'))!.n).toBe(0);
    expect([l.obj('OrderLine', '100|1')?.qty ?? 'gone', l.obj('OrderLine', '100|2')?.qty ?? 'gone', l.obj('OrderLine', '101|1')?.qty]).toEqual(['gone', 'gone', 5]);
    expect(audit(100)).toEqual(['INSERT', 'DELETE']);
  });

  test('a client changes an order: the trigger that updates its lines reaches the realm', async () => {
    l.main.write(() => (l.obj('Order', 101).status = 'shipped'));
    await l.settle();
    expect(l.obj('OrderLine', '101|1').status).toBe('shipped');
    expect(audit(101)).toEqual(['INSERT', 'UPDATE']);
  });

  test('a client deletes a shop: its shelves and their items go from the region realm (cascades two levels down, rows placed by following keys)', async () => {
    region.write(() => region.delete(region.objectForPrimaryKey('Shop', 1)!));
    await region.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await l.row('SELECT 1 AS x FROM shop WHERE id = 1')) === null, 'the shop deleted in PostgreSQL', 20_000);
    await l.connector.quiesce();
    await region.syncSession!.downloadAllServerChanges(20_000);
    expect([...region.objects<any>('Shelf')].map((s) => s.id).sort()).toEqual([21]);
    expect([...region.objects<any>('ShelfItem')].map((s) => s.key).sort()).toEqual(['21|kiwi']);
    expect(l.connector.status()).toMatchObject({ ownChanges: expect.any(Number), apply: { rejected: 0, failed: 0, retrying: 0 } });
    expect(l.connector.status().ownChanges).toBeGreaterThanOrEqual(10); // 2 lines and an audit row, a line status and an audit row, 2 shelves and 3 items
  });
});

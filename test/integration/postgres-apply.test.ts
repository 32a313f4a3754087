import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';

const SCHEMA = `
  CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE item (id int PRIMARY KEY, shop_id int REFERENCES shop(id), title text, price float8);
  INSERT INTO shop VALUES (1, 'one');
`;

async function until<T>(check: () => Promise<T | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describePostgres('postgres connector: apply (realm → database)', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let realm: Realm | null = null;

  const config = (): PostgresConnectorConfig => ({
    name: 'app',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    tables: {
      shop: { type: 'Shop', realm: '/a/data' },
      item: { type: 'Item', realm: '/a/data', columns: { title: 'name' } },
    },
  });
  const items = async () => (await db.sql.query('SELECT id, shop_id, title, price FROM item ORDER BY id')).rows;
  const write = async (fn: (r: Realm) => void) => {
    realm!.write(() => fn(realm!));
    await realm!.syncSession!.uploadAllLocalChanges(20_000);
  };
  const foreignCaptured = () => {
    const s = connector!.status();
    return s.transactions - s.skippedOwnTransactions;
  };

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('apply');
    await db.sql.query(SCHEMA);
  });
  afterAll(async () => {
    if (realm && !realm.isClosed) realm.close();
    await connector?.stop();
    await fx?.dispose();
    await db?.dispose();
  });

  test('client create / set (incl. a link) / delete reach PostgreSQL once, without echo', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    realm = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/a/data' }, path: path.join(fx.dir, 'clients', 'a.db') });
    await realm.syncSession!.downloadAllServerChanges(20_000);
    expect(realm.objectForPrimaryKey<any>('Shop', 1).name).toBe('one');
    await connector.caughtUp();
    // caughtUp's marker is itself a (message-only, origin-less) transaction: measure what one costs.
    const c0 = foreignCaptured();
    await connector.caughtUp();
    const markerCost = foreignCaptured() - c0;
    const capturedBefore = foreignCaptured();
    let clientChanges = 0;
    realm.addListener('change', () => clientChanges++);

    await write((r) => {
      const two = r.create<any>('Shop', { id: 2, name: 'two' });
      r.create('Item', { id: 5, name: 'five', price: 1.5, shop: two });
    });
    await until(async () => ((await items()).length === 1 ? true : false), 'item 5 in PostgreSQL');
    expect(await items()).toEqual([{ id: 5, shop_id: 2, title: 'five', price: 1.5 }]);
    expect((await db.sql.query('SELECT name FROM shop WHERE id = 2')).rows).toEqual([{ name: 'two' }]);

    await write((r) => {
      const five = r.objectForPrimaryKey<any>('Item', 5);
      five.name = 'FIVE';
      five.shop = r.objectForPrimaryKey('Shop', 1);
    });
    await until(async () => ((await items())[0]?.title === 'FIVE' ? true : false), 'set applied');
    expect(await items()).toEqual([{ id: 5, shop_id: 1, title: 'FIVE', price: 1.5 }]);

    await write((r) => r.create('Item', { id: 6, name: 'six', shop: null }));
    await write((r) => r.delete(r.objectForPrimaryKey('Item', 5)!));
    clientChanges = 0; // local writes notify too; from here on only a download could
    await until(async () => ((await items()).map((i) => i.id).join() === '6' ? true : false), 'delete applied');
    expect(await items()).toEqual([{ id: 6, shop_id: null, title: 'six', price: null }]);

    // No echo: the applied rows come back through the slot marked with the connector's origin and are skipped.
    await connector.caughtUp();
    expect(connector.status().skippedOwnTransactions).toBeGreaterThanOrEqual(4);
    expect(markerCost).toBe(1);
    expect(foreignCaptured()).toBe(capturedBefore + markerCost); // nothing but the marker: no applied row came back
    await realm.syncSession!.downloadAllServerChanges(20_000);
    expect(clientChanges).toBe(0); // the connector did not re-write the realm objects
    expect(connector.status().apply).toMatchObject({ lastError: null, skippedInstructions: 0 });
    const pos = (await db.sql.query("SELECT realm_path, txn FROM tributary_apply_position WHERE connector = 'app'")).rows;
    expect(pos.map((p) => p.realm_path)).toEqual(['/a/data']);
  });

  test('restart: nothing is applied twice; a transaction PostgreSQL already holds is skipped', async () => {
    await connector!.stop();
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(connector.status().apply!.applied).toBe(0);
    expect(await items()).toEqual([{ id: 6, shop_id: null, title: 'six', price: null }]);

    // Simulate a crash after the PostgreSQL commit but before advance: the position is ahead of the Adapter's cursor.
    await connector.stop();
    await write((r) => (r.objectForPrimaryKey<any>('Item', 6).name = 'not twice'));
    await db.sql.query("UPDATE tributary_apply_position SET txn = txn + 1000 WHERE connector = 'app'");
    await db.sql.query("UPDATE item SET title = 'already applied' WHERE id = 6");
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    await until(async () => (connector!.status().apply!.alreadyApplied >= 1 ? true : false), 'the replay skipped');
    expect(connector.status().apply!.applied).toBe(0);
    expect((await items())[0].title).toBe('already applied');
  });
});

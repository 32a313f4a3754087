import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'happy');
  CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE item (
    id int PRIMARY KEY, shop_id int NOT NULL REFERENCES shop(id), title varchar(50), tags text[],
    price numeric(6,2), big text, m mood, seen timestamptz, data bytea, code char(4));
  INSERT INTO shop VALUES (1, 'one'), (2, 'two');
  INSERT INTO item (id, shop_id, title, tags, price, m, seen, data, code) VALUES
    (1, 1, 'it''s', '{a,"b c"}', 12.50, 'happy', '2022-02-15 09:34:33.5+02', '\\x0102', 'ab'),
    (2, 2, 'two', NULL, NULL, NULL, NULL, NULL, NULL);
`;

describePostgres('postgres connector: capture (database → realm)', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  const clients: Realm[] = [];

  const config = (over: Partial<PostgresConnectorConfig> = {}): PostgresConnectorConfig => ({
    name: 'cap',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    tables: {
      shop: { type: 'Shop', realm: '/t/shop/{id}' },
      item: { type: 'Item', realm: '/t/shop/{shop_id}', columns: { title: 'name' } },
    },
    ...over,
  });
  const client = async (realmPath: string): Promise<Realm> => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + realmPath }, path: path.join(fx.dir, 'clients', `${clients.length}.db`) });
    clients.push(r);
    return r;
  };
  const settle = async (r: Realm) => {
    await connector!.caughtUp();
    await r.syncSession!.downloadAllServerChanges(20_000);
  };

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('capture');
    await db.sql.query(SCHEMA);
  });
  afterAll(async () => {
    for (const r of clients) if (!r.isClosed) r.close();
    await connector?.stop();
    await fx?.dispose();
    await db?.dispose();
  });

  test('initial load, then inserts, updates (TOAST untouched, text[]), deletes and moves reach a connected client', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    const one = await client('/t/shop/1');
    const items = () => one.objects<any>('Item').sorted('id');
    expect(items().map((i) => i.id)).toEqual([1]);
    const first = items()[0];
    expect(first.name).toBe("it's");
    expect([...first.tags]).toEqual(['a', 'b c']);
    expect(first.price.toString()).toBe('12.50');
    expect(first.m).toBe('happy');
    expect(first.seen).toEqual(new Date(Date.UTC(2022, 1, 15, 7, 34, 33, 500)));
    expect([...new Uint8Array(first.data)]).toEqual([1, 2]);
    expect(first.code).toBe('ab');
    expect(first.shop.name).toBe('one');
    expect(one.objects('Shop').length).toBe(1);

    const big = Array.from({ length: 200 }, (_, i) => `${i}:${Math.random().toString(36)}`).join(',');
    await db.sql.query('INSERT INTO item (id, shop_id, title, big) VALUES (3, 1, $1, $2)', ['three', big]);
    await settle(one);
    expect(one.objectForPrimaryKey<any>('Item', 3).big).toBe(big);

    await db.sql.query("UPDATE item SET title = 'THREE', tags = '{x,NULL,\"y,z\"}' WHERE id = 3");
    await settle(one);
    const three = one.objectForPrimaryKey<any>('Item', 3);
    expect(three.name).toBe('THREE');
    expect(three.big).toBe(big); // pgoutput sent 'u' (unchanged TOAST): not overwritten
    expect([...three.tags]).toEqual(['x', null, 'y,z']);

    await db.sql.query('BEGIN; DELETE FROM item WHERE id = 1; UPDATE item SET shop_id = 2 WHERE id = 3; COMMIT');
    await settle(one);
    expect(items().map((i) => i.id)).toEqual([]);
    const two = await client('/t/shop/2');
    await settle(two);
    expect(two.objects<any>('Item').sorted('id').map((i: any) => [i.id, i.name, i.big === big, i.shop?.id])).toEqual([
      [2, 'two', false, 2],
      [3, 'THREE', true, 2],
    ]);
    expect(one.objectForPrimaryKey<any>('TributaryConnectorState', 'cap').resumeFrom).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  test('a transaction larger than the spill threshold arrives whole, as one realm transaction', async () => {
    await connector!.stop();
    connector = new PostgresConnector(config({ spillThreshold: 50 }), { adminUser: fx.admin });
    await connector.start();
    const one = await client('/t/shop/1');
    let commits = 0;
    const before = one.objects('Item').length;
    one.addListener('change', () => commits++);
    await db.sql.query("INSERT INTO item (id, shop_id, title) SELECT g, 1, 'bulk ' || g FROM generate_series(1000, 1499) g");
    await settle(one);
    await waitFor(() => one.objects('Item').length === before + 500, 10_000, 'bulk rows');
    expect(commits).toBe(1);
  });

  test('stop and restart: changes made while stopped arrive once, replays are skipped', async () => {
    await connector!.stop();
    await db.sql.query("INSERT INTO item (id, shop_id, title) VALUES (10, 2, 'while stopped')");
    await db.sql.query("UPDATE shop SET name = 'TWO' WHERE id = 2");
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    const two = await client('/t/shop/2');
    await settle(two);
    expect(two.objectForPrimaryKey<any>('Item', 10).name).toBe('while stopped');
    expect(two.objectForPrimaryKey<any>('Shop', 2).name).toBe('TWO');
    expect(two.objectForPrimaryKey<any>('Item', 10).shop.name).toBe('TWO');
    await db.sql.query('TRUNCATE item');
    await settle(two);
    expect(two.objects('Item').length).toBe(0);
  });
});

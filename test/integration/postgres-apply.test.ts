import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest, until } from '../helpers/pg-connector-fixture';
import { describePostgres, type TestDatabase } from '../helpers/postgres';

const SCHEMA = `
  CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE item (id int PRIMARY KEY, shop_id int REFERENCES shop(id), title text, price float8);
  INSERT INTO shop VALUES (1, 'one');
`;


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
    ({ fx, db } = await openConnectorTest('apply', SCHEMA));
  });
  afterAll(() => closeConnectorTest({ fx, db }, connector, realm));

  test('client create / set (incl. a link) / delete reach PostgreSQL once, without echo', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    realm = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/a/data' }, path: path.join(fx.dir, 'clients', 'a.db') });
    await realm.syncSession!.downloadAllServerChanges(20_000);
    expect(realm.objectForPrimaryKey<any>('Shop', 1).name).toBe('one');
    await connector.caughtUp();
    // caughtUp's marker is itself a (message-only, origin-less) transaction, counted apart from data transactions.
    const c0 = foreignCaptured();
    const b0 = connector.status().markers;
    await connector.caughtUp();
    const markerCost = foreignCaptured() - c0;
    expect(connector.status().markers).toBe(b0 + 1);
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
    expect(markerCost).toBe(0);
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
    // A later realm transaction as the marker: the Adapter hands a realm's transactions over in
    // order, so once the marker is in PostgreSQL every earlier one has been through apply — and
    // only the marker may have been applied. (quiesce: the counters are updated after the COMMIT
    // the query below can already see.)
    await write((r) => r.create('Shop', { id: 3, name: 'marker' }));
    await until(async () => ((await db.sql.query('SELECT name FROM shop WHERE id = 3')).rows[0]?.name === 'marker' ? true : false), 'the marker transaction in PostgreSQL');
    await connector.quiesce(60_000);
    expect(connector.status().apply).toMatchObject({ applied: 1, alreadyApplied: 0 });
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

  test('from-realm: objects that exist before the first start are copied out; list (text[]) edits go both ways', async () => {
    await db.sql.query('CREATE TABLE note (id int PRIMARY KEY, body text, tags text[], hits bigint NOT NULL DEFAULT 0)');
    const noteSchema = { name: 'Note', primaryKey: 'id', properties: { id: 'int', body: 'string?', tags: 'string[]', hits: 'int' } };
    const client = await Realm.open({ schema: [noteSchema as never], sync: { user: fx.admin, url: fx.realmUrl + '/b/notes' }, path: path.join(fx.dir, 'clients', 'b.db') });
    try {
      client.write(() => {
        for (let i = 1; i <= 3; i++) client.create('Note', { id: i, body: `note ${i}`, tags: [`t${i}`, 'common'], hits: i });
      });
      await client.syncSession!.uploadAllLocalChanges(20_000);
      const notes = new PostgresConnector(
        { name: 'apply_from_realm', database: db.url, serverUrl: fx.realmUrl, localPath: path.join(fx.dir, 'connector-notes'), heartbeatIntervalMs: 0, initialLoad: 'from-realm', tables: { note: { type: 'Note', realm: '/b/notes' } } },
        { adminUser: fx.admin },
      );
      await notes.start();
      try {
        const rows = async () => (await db.sql.query('SELECT id, body, tags, hits FROM note ORDER BY id')).rows;
        await until(async () => ((await rows()).length === 3 ? true : false), 'the realm objects copied out');
        expect(await rows()).toEqual([1, 2, 3].map((i) => ({ id: i, body: `note ${i}`, tags: [`t${i}`, 'common'], hits: String(i) })));

        // List edits in the realm: push, insert at the front, remove, and a counter-style increment.
        client.write(() => {
          const n = client.objectForPrimaryKey<any>('Note', 1);
          n.tags.push('pushed');
          n.tags.splice(0, 0, 'first');
          n.tags.splice(n.tags.indexOf('common'), 1);
          n.hits += 10;
        });
        await client.syncSession!.uploadAllLocalChanges(20_000);
        await notes.quiesce(60_000);
        expect((await db.sql.query('SELECT tags, hits FROM note WHERE id = 1')).rows[0]).toEqual({ tags: ['first', 't1', 'pushed'], hits: '11' });

        // The database side: an array update reaches the client's list, in order.
        await db.sql.query("UPDATE note SET tags = ARRAY['z', 'y', 'x'] WHERE id = 2");
        await notes.quiesce(60_000);
        await client.syncSession!.downloadAllServerChanges(20_000);
        expect(Array.from(client.objectForPrimaryKey<any>('Note', 2).tags)).toEqual(['z', 'y', 'x']);
        expect(notes.status().apply).toMatchObject({ rejected: 0, lastError: null });
      } finally {
        await notes.stop();
      }
    } finally {
      client.close();
    }
  });

  test('a change PostgreSQL refuses is rejected and the object reset to the row; a lost apply connection is reopened', async () => {
    await db.sql.query('CREATE TABLE memo (id int PRIMARY KEY, body text NOT NULL CHECK (length(body) < 20))');
    await db.sql.query("INSERT INTO memo VALUES (1, 'short')");
    const memos = new PostgresConnector(
      { name: 'apply_refused', database: db.url, serverUrl: fx.realmUrl, localPath: path.join(fx.dir, 'connector-memos'), heartbeatIntervalMs: 0, tables: { memo: { type: 'Memo', realm: '/c/memos' } } },
      { adminUser: fx.admin },
    );
    await memos.start();
    const client = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/c/memos' }, path: path.join(fx.dir, 'clients', 'c.db') });
    try {
      await client.syncSession!.downloadAllServerChanges(20_000);
      const body = (id: number) => client.objectForPrimaryKey<any>('Memo', id)?.body;
      // Two realm transactions in one batch: the good one lands, the refused one is rejected on its own.
      client.write(() => client.create('Memo', { id: 2, body: 'fine' }));
      client.write(() => (client.objectForPrimaryKey<any>('Memo', 1).body = 'far too long for the check constraint'));
      await client.syncSession!.uploadAllLocalChanges(20_000);
      await memos.quiesce(60_000);
      await client.syncSession!.downloadAllServerChanges(20_000);
      expect((await db.sql.query('SELECT id, body FROM memo ORDER BY id')).rows).toEqual([{ id: 1, body: 'short' }, { id: 2, body: 'fine' }]);
      expect(body(1)).toBe('short'); // the database won: the realm holds the row again
      expect(memos.status().apply).toMatchObject({ rejected: 1 });
      expect(memos.status().apply!.lastError).toMatch(/23514/);

      // Kill the apply session: the next realm change waits for the retry and lands once.
      const killed = await db.sql.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tributary_apply_refused_apply'");
      expect(killed.rowCount).toBe(1);
      client.write(() => client.create('Memo', { id: 3, body: 'after the kill' }));
      await client.syncSession!.uploadAllLocalChanges(20_000);
      await until(async () => ((await db.sql.query('SELECT body FROM memo WHERE id = 3')).rows[0]?.body === 'after the kill' ? true : false), 'memo 3 after the reconnect', 60_000);
      await memos.quiesce(60_000);
      expect((await db.sql.query('SELECT count(*)::int AS n FROM memo')).rows[0].n).toBe(3);
    } finally {
      client.close();
      await memos.stop();
    }
  }, 120_000);
});

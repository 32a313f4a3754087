import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import type { SchemaEvolution } from '../../connectors/postgres/schema-evolution';
import { ObjectId } from '../../src/model';
import { Realm } from '../../src/realm';
import type { LogFields, Logger } from '../../src/shared/logger';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest, until } from '../helpers/pg-connector-fixture';
import { describePostgres, type TestDatabase } from '../helpers/postgres';
import { Client } from 'pg';

const SCHEMA = `
  CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE item (id int PRIMARY KEY, shop_id int REFERENCES shop(id), title text);
  INSERT INTO shop VALUES (1, 'one'), (2, 'two');
  INSERT INTO item VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c');
`;

/** Collects warnings (and errors) so tests can assert what was reported. */
function recordingLogger(lines: { level: string; msg: string; fields?: LogFields }[]): Logger {
  const make = (): Logger => ({
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
    child: () => make(),
  });
  return make();
}


const evolutionOf = (c: PostgresConnector): SchemaEvolution => c['evolution'] as unknown as SchemaEvolution;

async function columns(db: TestDatabase, table: string): Promise<Record<string, string>> {
  const r = await db.sql.query(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS t
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  return Object.fromEntries(r.rows.map((x) => [x.attname, x.t]));
}

describe('postgres connector: schemaChanges config', () => {
  const base = (): PostgresConnectorConfig => ({ name: 'x', database: 'postgres://h/db', serverUrl: 'realm://127.0.0.1:9', localPath: '/tmp/x', tables: { t: {} } });
  test('defaults, and malformed values are CONFIG_INVALID naming the field', () => {
    expect(new PostgresConnector(base()).config.resolved.schemaChanges).toEqual({ addProperties: true, addColumns: false });
    expect(new PostgresConnector({ ...base(), schemaChanges: { addColumns: true } }).config.resolved.schemaChanges).toEqual({ addProperties: true, addColumns: true });
    expect(() => new PostgresConnector({ ...base(), schemaChanges: { addColumn: true } as never })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('schemaChanges.addColumn:') }));
    expect(() => new PostgresConnector({ ...base(), schemaChanges: { addProperties: 'yes' } as never })).toThrow(/schemaChanges\.addProperties: expected true or false/);
    expect(() => new PostgresConnector({ ...base(), schemaChanges: true as never })).toThrow(/schemaChanges/);
  });
});

describePostgres('postgres connector: schema changes, database → realm', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let client: Realm | null = null;
  const log: { level: string; msg: string; fields?: LogFields }[] = [];

  const config = (): PostgresConnectorConfig => ({
    name: 'evo',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    slotCheckIntervalMs: 0,
    tables: { shop: { type: 'Shop', realm: '/s/data' }, item: { type: 'Item', realm: '/s/data' } },
  });
  const start = async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin, log: recordingLogger(log) });
    await connector.start();
  };
  /** Everything committed so far is in the realms, backfills included, and the client has it. */
  const settle = async () => {
    await connector!.caughtUp();
    await evolutionOf(connector!).settled();
    await client!.syncSession!.downloadAllServerChanges(20_000);
  };
  const item = (id: number) => client!.objectForPrimaryKey<any>('Item', id);
  const itemSchema = () => client!.schema.find((s) => s.name === 'Item')!.properties;

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('schema_evo', SCHEMA));
    await start();
    client = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/s/data' }, path: path.join(fx.dir, 'clients', 'c.db') });
  });
  afterAll(() => closeConnectorTest({ fx, db }, connector, client));

  test('ADD COLUMN without a default, then UPDATE and INSERT: the client sees the new property with its values', async () => {
    expect(itemSchema().note).toBeUndefined();
    await db.sql.query('ALTER TABLE item ADD COLUMN note varchar(20)');
    await db.sql.query("UPDATE item SET note = 'first' WHERE id = 1");
    await db.sql.query("INSERT INTO item (id, shop_id, title, note) VALUES (4, 1, 'd', 'fourth')");
    await settle();
    expect(itemSchema().note).toMatchObject({ type: 'string', optional: true });
    expect(item(1).note).toBe('first');
    expect(item(2).note).toBeNull();
    expect(item(4)).toMatchObject({ title: 'd', note: 'fourth' });
    expect(connector!.status().schema).toMatchObject({ propertiesAdded: 1, columnsNotApplied: 0, backfillsPending: 0 });
  });

  test('ADD COLUMN with a DEFAULT: existing rows are backfilled, a row changed since keeps its value from the WAL', async () => {
    await db.sql.query('ALTER TABLE item ADD COLUMN qty int NOT NULL DEFAULT 7, ADD COLUMN tags text[] DEFAULT \'{x,"y z"}\', ADD COLUMN price numeric(6,2) DEFAULT 1.50');
    await db.sql.query("UPDATE item SET qty = 9, tags = '{only}' WHERE id = 2");
    await settle();
    expect(itemSchema().qty).toMatchObject({ type: 'int', optional: true });
    expect(itemSchema().tags).toMatchObject({ type: 'list', objectType: 'string' });
    expect([1, 2, 3, 4].map((id) => item(id).qty)).toEqual([7, 9, 7, 7]);
    expect([1, 2, 3, 4].map((id) => [...item(id).tags])).toEqual([['x', 'y z'], ['only'], ['x', 'y z'], ['x', 'y z']]);
    expect([1, 2, 3, 4].map((id) => item(id).price.toString())).toEqual(['1.50', '1.50', '1.50', '1.50']);
    const s = connector!.status().schema!;
    expect(s.propertiesAdded).toBe(4);
    expect(s.rowsBackfilled).toBeGreaterThanOrEqual(3);
    expect(s.backfillsPending).toBe(0);
    // Nothing pending is left in the control realm for the next start.
    const control = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/tributary-connectors/evo' }, path: path.join(fx.dir, 'clients', 'control.db') });
    try {
      expect(control.schema.some((x) => x.name === 'TributaryBackfill')).toBe(true);
      expect(control.objects('TributaryBackfill').length).toBe(0);
    } finally {
      control.close();
    }
  });

  test('restart after the additions: the catalog now says NOT NULL, the realms keep their shapes, nothing is backfilled again', async () => {
    await connector!.stop();
    await start();
    await db.sql.query("UPDATE item SET qty = 10, note = 'again' WHERE id = 3");
    await settle();
    expect(item(3)).toMatchObject({ qty: 10, note: 'again' });
    expect(itemSchema().qty).toMatchObject({ type: 'int', optional: true });
    expect(connector!.status().schema).toMatchObject({ propertiesAdded: 0, rowsBackfilled: 0 });
  });

  test('a column added while the connector is stopped is backfilled at the next start', async () => {
    await connector!.stop();
    await db.sql.query("ALTER TABLE item ADD COLUMN rank int DEFAULT 3, ADD COLUMN seen timestamptz DEFAULT '2024-05-06 07:08:09+00'");
    await db.sql.query('UPDATE item SET rank = 1 WHERE id = 1');
    await start();
    await settle();
    expect([1, 2, 3, 4].map((id) => item(id).rank)).toEqual([1, 3, 3, 3]);
    expect(item(2).seen).toEqual(new Date(Date.UTC(2024, 4, 6, 7, 8, 9)));
    expect(connector!.status().schema!.rowsBackfilled).toBeGreaterThanOrEqual(3); // row 1 may come from the WAL (its UPDATE carries every column)
  });

  test('DROP COLUMN: a warning; the property keeps its data; the other columns keep flowing', async () => {
    log.length = 0;
    await db.sql.query('ALTER TABLE item DROP COLUMN note');
    await db.sql.query("UPDATE item SET title = 'A' WHERE id = 1");
    await settle();
    await until(() => connector!.status().schema!.columnsDropped === 1, 'the drop reported');
    expect(log.filter((l) => l.level === 'warn' && /item\.note was dropped/.test(l.msg))).toHaveLength(1);
    expect(item(1)).toMatchObject({ title: 'A', note: 'first' });
    expect(itemSchema().note).toMatchObject({ type: 'string' });
    await db.sql.query("INSERT INTO item (id, shop_id, title) VALUES (5, 1, 'e')");
    await settle();
    expect(item(5)).toMatchObject({ title: 'e', note: null, qty: 7 });
  });

  test('a changed type the property cannot hold: a warning, the property keeps its data, the connector keeps running', async () => {
    log.length = 0;
    await db.sql.query('ALTER TABLE item ALTER COLUMN qty TYPE text USING qty::text');
    await db.sql.query("UPDATE item SET qty = 'many', title = 'B' WHERE id = 2");
    await settle();
    await until(() => connector!.status().schema!.columnsRetyped === 1, 'the type change reported');
    expect(log.filter((l) => l.level === 'warn' && /item\.qty changed type from int4 to text/.test(l.msg))).toHaveLength(1);
    expect(item(2)).toMatchObject({ title: 'B', qty: 9 });
    expect(connector!.status().state).toBe('streaming');
    // A widening within the realm type (int → bigint) just continues.
    await db.sql.query('ALTER TABLE item ALTER COLUMN rank TYPE bigint');
    await db.sql.query('UPDATE item SET rank = 4 WHERE id = 2');
    await settle();
    expect(item(2).rank).toBe(4);
    expect(connector!.status().schema!.columnsRetyped).toBe(1);
  });

  test('restart after the type change: reported again at start, the column left out, the rest streams', async () => {
    log.length = 0;
    await connector!.stop();
    await start();
    expect(connector!.status().schema!.columnsRetyped).toBe(1);
    expect(log.filter((l) => /holds property Item\.qty as int\?, but column item\.qty now maps to string/.test(l.msg))).toHaveLength(1);
    await db.sql.query("UPDATE item SET qty = 'lots', title = 'C' WHERE id = 2");
    await settle();
    expect(item(2)).toMatchObject({ title: 'C', qty: 9 });
  });

  test('RENAME COLUMN looks like a drop and an add: reported, the new name becomes a property', async () => {
    log.length = 0;
    await db.sql.query('ALTER TABLE item RENAME COLUMN price TO cost');
    await db.sql.query('UPDATE item SET cost = 2.25 WHERE id = 1');
    await settle();
    await until(() => log.some((l) => l.level === 'warn' && /item\.price was dropped.*renamed to cost/.test(l.msg)), 'the rename reported');
    expect(connector!.status().schema!.columnsDropped).toBe(1);
    expect(item(1).cost.toString()).toBe('2.25');
    expect(item(1).price.toString()).toBe('1.50');
  });

  test('a column of a type created after the start: read from the catalog, then mapped; rows written meanwhile are backfilled', async () => {
    await db.sql.query("CREATE TYPE mood AS ENUM ('sad', 'happy')");
    await db.sql.query('ALTER TABLE item ADD COLUMN m mood');
    await db.sql.query("UPDATE item SET m = 'happy' WHERE id = 3");
    await db.sql.query("INSERT INTO item (id, shop_id, title, m) VALUES (6, 2, 'f', 'sad')");
    await settle();
    expect(itemSchema().m).toMatchObject({ type: 'string', optional: true });
    expect(item(3).m).toBe('happy');
    expect(item(6).m).toBe('sad');
    expect(item(1).m).toBeNull();
  });

  test('a backfill recorded in the control realm (a crash before it finished) runs at the next start', async () => {
    await db.sql.query('ALTER TABLE item ADD COLUMN lvl int');
    await db.sql.query('UPDATE item SET lvl = 1 WHERE id = 1');
    await settle();
    expect(item(2).lvl).toBeNull();
    await connector!.stop();
    // A value the realm never got: written under the connector's replication origin, which capture skips.
    const origin = new Client({ connectionString: db.url });
    await origin.connect();
    try {
      await origin.query("SELECT pg_replication_origin_session_setup('tributary_evo')");
      await origin.query('UPDATE item SET lvl = 5 WHERE id = 2');
    } finally {
      await origin.end();
    }
    const control = await Realm.open({
      schema: [{ name: 'TributaryBackfill', primaryKey: 'id', properties: { id: 'string', table: 'string', column: 'string', createdAt: 'date' } }],
      sync: { user: fx.admin, url: fx.realmUrl + '/tributary-connectors/evo' },
      path: path.join(fx.dir, 'clients', 'control2.db'),
    });
    try {
      control.write(() => control.create('TributaryBackfill', { id: 'item.lvl', table: 'item', column: 'lvl', createdAt: new Date() }));
      await control.syncSession!.uploadAllLocalChanges(20_000);
    } finally {
      control.close();
    }
    await start();
    await settle();
    expect(item(2).lvl).toBe(5);
    expect(item(1).lvl).toBe(1);
    expect(connector!.status().schema!.rowsBackfilled).toBe(1);
  });

  test('a realm property without a column (addColumns off): no column, a warning once and a counter', async () => {
    log.length = 0;
    client!.close();
    client = await Realm.open({
      schema: [
        { name: 'Shop', primaryKey: 'id', properties: { id: 'int', name: 'string' } },
        { name: 'Item', primaryKey: 'id', properties: { id: 'int', secret: 'string?' } },
      ],
      sync: { user: fx.admin, url: fx.realmUrl + '/s/data' },
      path: path.join(fx.dir, 'clients', 'c.db'),
    });
    client.write(() => (item(1).secret = 'one'));
    await client.syncSession!.uploadAllLocalChanges(20_000);
    client.write(() => (item(2).secret = 'two'));
    await client.syncSession!.uploadAllLocalChanges(20_000);
    await connector!.quiesce();
    expect(await columns(db, 'item')).not.toHaveProperty('secret');
    expect(connector!.status().schema!.propertiesNotApplied).toBe(1);
    expect(log.filter((l) => /Item\.secret .*schemaChanges\.addColumns is off/.test(l.msg))).toHaveLength(1);
    expect(item(1).secret).toBe('one');
  });
});

describePostgres('postgres connector: schema changes, realm → database', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let client: Realm | null = null;
  const log: { level: string; msg: string; fields?: LogFields }[] = [];

  const config = (): PostgresConnectorConfig => ({
    name: 'evr',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    slotCheckIntervalMs: 0,
    schemaChanges: { addColumns: true },
    tables: { shop: { type: 'Shop', realm: '/r/data' }, item: { type: 'Item', realm: '/r/data' } },
  });
  const start = async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin, log: recordingLogger(log) });
    await connector.start();
  };

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('schema_evr', SCHEMA));
    await start();
  });
  afterAll(() => closeConnectorTest({ fx, db }, connector, client));

  test('onRealmProperties inside a transaction: the columns it adds roll back with it and come back on the retry', async () => {
    const evolution = evolutionOf(connector!);
    const t = connector!.mapping.tables.get('shop')!;
    await db.sql.query('BEGIN');
    await evolution.onRealmProperties(db.sql, t, { opened: { type: 'date', nullable: true } });
    expect(await columns(db, 'shop')).toHaveProperty('opened', 'timestamp with time zone');
    await db.sql.query('ROLLBACK');
    expect(await columns(db, 'shop')).not.toHaveProperty('opened');
    await db.sql.query('BEGIN');
    await evolution.onRealmProperties(db.sql, t, { opened: { type: 'date', nullable: true } });
    await db.sql.query('COMMIT');
    expect(await columns(db, 'shop')).toHaveProperty('opened', 'timestamp with time zone');
    expect(t.byColumn.get('opened')).toMatchObject({ property: 'opened', optional: true });
  });

  test('a client adds properties (its realm opens with a larger schema) and writes values: the columns appear with the values', async () => {
    const oid = new ObjectId('65a1b2c3d4e5f60718293a4b');
    client = await Realm.open({
      schema: [
        { name: 'Shop', primaryKey: 'id', properties: { id: 'int', name: 'string' } },
        {
          name: 'Item',
          primaryKey: 'id',
          properties: {
            id: 'int',
            title: 'string?',
            rating: 'int?',
            weight: 'double',
            labels: 'string[]',
            code: 'objectId?',
            seller: 'Shop',
            blob: 'mixed',
            friends: 'Shop[]',
          },
        },
      ],
      sync: { user: fx.admin, url: fx.realmUrl + '/r/data' },
      path: path.join(fx.dir, 'clients', 'r.db'),
    });
    client.write(() => {
      client!.create('Item', { id: 10, title: 'ten', rating: 5, weight: 2.5, labels: ['p', 'q'], code: oid, seller: client!.objectForPrimaryKey('Shop', 2), blob: 'anything' });
    });
    await client.syncSession!.uploadAllLocalChanges(20_000);
    await connector!.quiesce();
    expect(await columns(db, 'item')).toMatchObject({
      rating: 'bigint',
      weight: 'double precision not null',
      labels: 'text[]',
      code: 'tributary_objectid',
      seller_id: 'integer',
    });
    const cols = await columns(db, 'item');
    expect(cols).not.toHaveProperty('blob');
    expect(cols).not.toHaveProperty('friends');
    const row = (await db.sql.query('SELECT title, rating, weight, labels, code, seller_id FROM item WHERE id = 10')).rows[0];
    expect(row).toEqual({ title: 'ten', rating: '5', weight: 2.5, labels: ['p', 'q'], code: oid.toString(), seller_id: 2 });
    // Existing rows hold the realm's own default for the required property.
    expect((await db.sql.query('SELECT weight FROM item WHERE id = 1')).rows[0].weight).toBe(0);
    const fk = await db.sql.query("SELECT confdeltype FROM pg_constraint WHERE conrelid = 'item'::regclass AND contype = 'f' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'item'::regclass AND attname = 'seller_id')]::int2[]");
    expect(fk.rows).toEqual([{ confdeltype: 'n' }]);
    const s = connector!.status().schema!;
    expect(s.columnsAdded).toBe(6); // opened (previous test), rating, weight, labels, code, seller
    expect(s.propertiesNotApplied).toBe(2); // blob (mixed), friends (list of links)
    expect(log.filter((l) => /Item\.blob .*gets no column/.test(l.msg))).toHaveLength(1);
  });

  test('the new columns carry database changes back into the realm, without adding the properties twice', async () => {
    await db.sql.query("UPDATE item SET rating = 6, labels = '{r}', seller_id = 1 WHERE id = 10");
    await connector!.caughtUp();
    await client!.syncSession!.downloadAllServerChanges(20_000);
    const ten = client!.objectForPrimaryKey<any>('Item', 10);
    expect(ten.rating).toBe(6);
    expect([...ten.labels]).toEqual(['r']);
    expect(ten.seller.name).toBe('one');
    expect(connector!.status().schema!.propertiesAdded).toBe(0);
  });

  test('restart: the catalog maps the added columns back to the same properties', async () => {
    await connector!.stop();
    await start();
    const t = connector!.mapping.tables.get('item')!;
    expect(t.byColumn.get('code')!.type.realm).toBe('objectId');
    expect(t.links.map((l) => l.property)).toContain('seller');
    client!.write(() => (client!.objectForPrimaryKey<any>('Item', 10).rating = 7));
    await client!.syncSession!.uploadAllLocalChanges(20_000);
    await connector!.quiesce();
    expect((await db.sql.query('SELECT rating FROM item WHERE id = 10')).rows[0].rating).toBe('7');
    expect(connector!.status().state).toBe('streaming');
  });
});

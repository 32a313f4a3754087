import * as fs from 'node:fs';
import * as path from 'node:path';
import { compositeKey, PostgresConnector, pgKeyText } from '../../connectors/postgres';
import type { TributaryError } from '../../src/errors';
import { UUID } from '../../src/model';
import { Realm } from '../../src/realm';
import { tributary } from '../helpers/cli-run';
import { compareTablesWithRealms, formatComparison } from '../helpers/pg-compare';
import { until } from '../helpers/pg-connector-fixture';
import { openLegacy, type LegacyTest } from '../helpers/legacy-connector';
import { describePostgres } from '../helpers/postgres';
import { LEGACY_MAIN, legacyConfig, legacyRegion } from '../fixtures/legacy-schema';

// The legacy schema of test/fixtures/legacy-schema.sql bridged both ways, end to end: every shape
// loads exactly, SQL changes of every shape stream exactly, client edits of every shape land in
// PostgreSQL, and the tables equal the realms afterwards. Each class that once went wrong has its
// own regression test (test/regressions/postgres-*.test.ts) on the same schema.

const uuid = (n: number) => new UUID(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);
const PATHS = [LEGACY_MAIN, legacyRegion(1), legacyRegion(2)];

describePostgres('postgres connector on a legacy schema (test/fixtures/legacy-schema.sql)', () => {
  let l: LegacyTest;
  const realms = new Map<string, Realm>();
  const open = async (p: string): Promise<Realm> => {
    if (p === LEGACY_MAIN) return l.main;
    let r = realms.get(p);
    if (!r) {
      r = await Realm.open({ sync: { user: l.t.fx.admin, url: l.t.fx.realmUrl + p }, path: path.join(l.t.fx.dir, 'clients', `${p.replace(/\//g, '_')}.db`) });
      realms.set(p, r);
    }
    return r;
  };
  const compare = async () => formatComparison(await compareTablesWithRealms(l.t.db.sql, l.connector.mapping, open, PATHS));

  beforeAll(async () => {
    l = await openLegacy('legacy');
  }, 90_000);
  afterAll(async () => {
    for (const r of realms.values()) r.close();
    await l?.close();
  });

  test('the initial load copies every shape exactly', async () => {
    expect(await compare()).not.toMatch(/DIFFERENT/);
    const alice = l.obj('User', uuid(1));
    expect([alice.select, alice.group, alice.mood, Buffer.from(alice.avatar).toString('hex'), JSON.parse(alice.profile), [...alice.tags], alice.bio.length, alice.display]).toEqual([
      'alice', 1, 'happy', '00ff10', { a: [1, 2], b: { c: null } }, ['x', 'y z', null], 'long bio '.length * 4000, 'alice (1)',
    ]);
    expect(l.obj('LegacyLog', 'boot').at.toISOString()).toBe('2024-01-02T03:04:05.123Z');
  });

  test('SQL changes of every shape stream exactly (TOAST kept, no-key table, key changed by ON UPDATE CASCADE, placement moves)', async () => {
    const sql = l.t.db.sql;
    await sql.query(`UPDATE "user" SET mood = 'ok', tags = '{q}', profile = '{"n": 1}' WHERE id = $1`, [uuid(1).toString()]); // bio is TOASTed and unchanged
    await sql.query(`UPDATE legacy_log SET note = 'second' WHERE code = 'boot'; DELETE FROM legacy_log WHERE code = 'sync|1\\2'; INSERT INTO legacy_log VALUES ('x', now(), NULL)`);
    await sql.query('UPDATE "order" SET id = 102 WHERE id = 101'); // its line's key changes by cascade
    await sql.query("INSERT INTO shop VALUES (4, 1, 'North 4')");
    await sql.query('UPDATE shop SET region = 2 WHERE id = 4'); // a move (a shop without shelves: followed rows stay where they are, a documented limitation)
    await sql.query("INSERT INTO reading VALUES ('t4', '2024-01-01 00:00:00.25+00', NULL)");
    await l.settle();
    expect(l.obj('User', uuid(1)).bio.length).toBe('long bio '.length * 4000);
    expect([l.obj('OrderLine', '101|1'), l.obj('OrderLine', '102|1')?.qty]).toEqual([undefined, 5]);
    expect(await compare()).not.toMatch(/DIFFERENT/);
  });

  test('client edits of every shape land in PostgreSQL and come back exactly', async () => {
    const m = l.main;
    m.write(() => {
      const bob = l.obj('User', uuid(2));
      bob.select = 'bob, \'quoted\'\n"again"';
      bob.avatar = new Uint8Array([1, 2, 255]).buffer;
      bob.profile = '{"z": [true, null]}';
      bob.tags.push('a,b', '{c}');
      bob.mood = 'sad';
      m.create('LegacyLog', { code: 'from client', at: new Date('2024-03-04T05:06:07.008Z'), note: null });
      m.create('Order', { id: 103, customer: uuid(2), total: null, status: 'new' });
      m.create('OrderLine', { key: compositeKey([103, 1]), order_id: 103, line: 1, qty: 2, status: 'new' });
    });
    await until(async () => (await l.row('SELECT 1 AS x FROM order_line WHERE order_id = 103')) !== null, 'the client rows in PostgreSQL', 20_000);
    await l.settle();
    expect((await l.row(`SELECT "select", encode(avatar, 'hex') AS avatar, tags, mood::text FROM "user" WHERE id = $1`, [uuid(2).toString()]))!).toEqual({
      select: 'bob, \'quoted\'\n"again"',
      avatar: '0102ff',
      tags: ['a,b', '{c}'],
      mood: 'sad',
    });
    expect(l.obj('OrderLine', '103|1').order?.id).toBe(103);
    expect(await compare()).not.toMatch(/DIFFERENT/);
  });

  test('keys built with compositeKey and pgKeyText match the rows (text, timestamptz with a fraction, escapes)', async () => {
    expect(l.obj('Reading', compositeKey(['t1', pgKeyText.timestamptz(new Date('2024-05-06T07:08:09.500Z'))]))?.value).toBe(21.5);
    expect(l.obj('Reading', compositeKey(['t|2', pgKeyText.timestamptz(new Date('2024-05-06T07:08:09Z'))]))?.value).toBe(-3);
    const at = new Date('2024-06-07T08:09:10.120Z');
    l.main.write(() => l.main.create('Reading', { key: compositeKey(['t3', pgKeyText.timestamptz(at)]), sensor: 't3', at, value: 1.25 }));
    await l.settle();
    expect((await l.row("SELECT value FROM reading WHERE sensor = 't3' AND at = '2024-06-07 08:09:10.12+00'"))?.value).toBe(1.25);
    expect([pgKeyText.timestamptz(at), pgKeyText.timestamp(at), pgKeyText.date(at), pgKeyText.numeric(7.5, 2), pgKeyText.numeric('-3', 0), pgKeyText.bytea(new Uint8Array([0, 171]))]).toEqual([
      '2024-06-07 08:09:10.12+00', '2024-06-07 08:09:10.12', '2024-06-07', '7.50', '-3', '\\x00ab',
    ]);
    expect(() => compositeKey([1.5])).toThrow(/pgKeyText/);
    expect(await compare()).not.toMatch(/DIFFERENT/);
    expect(l.lines.filter((x) => x.level === 'error')).toEqual([]);
    expect(l.connector.status().apply).toMatchObject({ rejected: 0, failed: 0, retrying: 0, lastError: null });
  });

  test('a client creates the first objects of a realm no row has reached yet, with the schema the connector publishes', async () => {
    const schema = l.connector.realmSchema(legacyRegion(9));
    expect(schema.map((x) => (x as { name: string }).name).sort()).toEqual(['Shelf', 'ShelfItem', 'Shop']);
    const configFile = path.join(l.t.fx.dir, 'legacy.json');
    fs.writeFileSync(configFile, JSON.stringify(legacyConfig({ name: 'legacy', database: l.t.db.url, serverUrl: l.t.fx.realmUrl, localPath: './unused', adminToken: l.t.fx.adminToken })));
    const printed = await tributary(['connector', 'postgres', 'realm-schema', '--config', configFile, '--realm', legacyRegion(9)]);
    expect([printed.code, printed.stderr, JSON.parse(printed.stdout)]).toEqual([0, '', schema]);
    expect(() => l.connector.realmSchema('/elsewhere')).toThrow(/not a realm of this connector/);
    const fresh = await Realm.open({ schema: schema as never, sync: { user: l.t.fx.admin, url: l.t.fx.realmUrl + legacyRegion(9) }, path: path.join(l.t.fx.dir, 'clients', 'region9.db') });
    realms.set(legacyRegion(9), fresh);
    fresh.write(() => {
      const shop = fresh.create('Shop', { id: 9, region: 9, name: 'Far away' });
      fresh.create('Shelf', { id: 91, shop_id: 9, shop, label: 'first' });
    });
    await fresh.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await l.row('SELECT label FROM shelf WHERE id = 91'))?.label === 'first', 'the new realm\'s rows in PostgreSQL', 30_000);
    await l.connector.quiesce();
    const results = await compareTablesWithRealms(l.t.db.sql, l.connector.mapping, open, [...PATHS, legacyRegion(9)]);
    expect(formatComparison(results)).not.toMatch(/DIFFERENT/);
  });

  test('a table name in the wrong case fails with one coded line naming the table it resembles', async () => {
    const base = { name: 'legacy_typo', database: l.t.db.url, serverUrl: l.t.fx.realmUrl, localPath: path.join(l.t.fx.dir, 'typo') };
    const attempt = (tables: Record<string, object>) => new PostgresConnector(legacyConfig({ ...base, tables }), { adminUser: l.t.fx.admin }).start().then(() => null, (e: TributaryError) => e);
    const upper = await attempt({ User: {} });
    expect(upper?.code).toBe('CONNECTOR_MAPPING_INVALID');
    expect(upper?.message).toMatch(/^postgres connector mapping: table public\.User does not exist — did you mean "user"\?; tables in public: audit, employee, .* \(table names are exact and case-sensitive\)$/);
    expect((await attempt({ shelfitem: {} }))?.message).toMatch(/did you mean "shelf_item"\?/);
    expect((await attempt({ zzz: {} }))?.message).not.toMatch(/did you mean/);
  });
});

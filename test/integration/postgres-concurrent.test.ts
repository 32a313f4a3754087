import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { differences, realmObjects, tableRows, type Comparable } from '../helpers/pg-connector-process';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';
import { Prng, testSeed } from '../helpers/prng';

const COLUMNS = ['label', 'qty', 'price', 'flag', 'at', 'note'];
const SCHEMA = `
  CREATE TABLE item (id int PRIMARY KEY, label text NOT NULL, qty int, price float8, flag bool, at timestamptz, note text);
  CREATE TABLE churn (id int PRIMARY KEY, label text NOT NULL, qty int);
  INSERT INTO item SELECT g, 'item ' || g, g, g * 1.25, g % 2 = 0, '2024-01-01T00:00:00Z'::timestamptz + g * interval '1 hour', NULL FROM generate_series(1, 16) g;
  INSERT INTO churn SELECT g, 'churn ' || g, g FROM generate_series(1, 6) g;
`;
const TRANSIENT = new Set(['40P01', '40001', '55P03']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (rng: Prng) => rng.pick(['x', "it's", 'ü字', 'a\nb', '']) + rng.int(0, 99999);
function randomValue(rng: Prng, column: string): unknown {
  switch (column) {
    case 'label':
      return text(rng);
    case 'qty':
      return rng.bool(0.15) ? null : rng.int(-1e6, 1e6);
    case 'price':
      return rng.bool(0.15) ? null : rng.int(-1e6, 1e6) / 16;
    case 'flag':
      return rng.bool(0.15) ? null : rng.bool();
    case 'at':
      return rng.bool(0.15) ? null : new Date(Date.UTC(2023, 0, 1) + rng.int(0, 1e10));
    default:
      return rng.bool(0.3) ? null : text(rng);
  }
}
const comparable = (v: Record<string, unknown>): Comparable => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x instanceof Date ? x.toISOString() : (x ?? null)]));

describePostgres('postgres connector: concurrent writers on both sides', () => {
  let fx: AdminFixture;
  const dbs: TestDatabase[] = [];
  const realms: Realm[] = [];
  const clients: Client[] = [];
  const connectors: PostgresConnector[] = [];

  beforeAll(async () => {
    fx = await adminFixture();
  });
  afterAll(async () => {
    for (const c of connectors) await c.stop().catch(() => undefined);
    for (const r of realms) if (!r.isClosed) r.close();
    for (const c of clients) await c.end().catch(() => undefined);
    await fx?.dispose();
    for (const d of dbs) await d.dispose();
  });

  const database = async (label: string) => {
    const d = await createTestDatabase(label);
    dbs.push(d);
    await d.sql.query(SCHEMA);
    return d;
  };
  const config = (d: TestDatabase, name: string, realmPath: string, extra: Partial<PostgresConnectorConfig> = {}): PostgresConnectorConfig => ({
    name,
    database: d.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, `connector-${name}`),
    heartbeatIntervalMs: 0,
    realm: realmPath,
    tables: { item: { type: 'Item' }, churn: { type: 'Churn' } },
    ...extra,
  });
  const start = async (c: PostgresConnectorConfig) => {
    const connector = new PostgresConnector(c, { adminUser: fx.admin });
    connectors.push(connector);
    await connector.start();
    return connector;
  };
  const openClient = async (realmPath: string, name: string) => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + realmPath }, path: path.join(fx.dir, 'clients', `${name}.db`) });
    realms.push(r);
    return r;
  };
  const sqlClient = async (d: TestDatabase) => {
    const c = new Client({ connectionString: d.url });
    clients.push(c);
    await c.connect();
    return c;
  };
  /** Both sides of a realm path after quiescence, as seen by a fresh client. */
  const bothSides = async (d: TestDatabase, realmPath: string, name: string) => {
    const r = await openClient(realmPath, name);
    await r.syncSession!.downloadAllServerChanges(60_000);
    return {
      db: { item: await tableRows(d.sql, 'item', COLUMNS), churn: await tableRows(d.sql, 'churn', ['label', 'qty']) },
      realm: { item: realmObjects(r, 'Item', COLUMNS), churn: realmObjects(r, 'Churn', ['label', 'qty']) },
    };
  };

  test('random writers on both sides of the same rows: after quiescence every row equals its object', async () => {
    const seed = testSeed('postgres concurrent writers');
    const d = await database('concurrent');
    const realmPath = '/concurrent/random';
    const connector = await start(config(d, 'concurrent', realmPath));
    const realmWriters = [await openClient(realmPath, 'r0'), await openClient(realmPath, 'r1')];
    const sqlWriters = [await sqlClient(d), await sqlClient(d)];
    const counts = { realm: 0, sql: 0, sqlRolledBack: 0 };

    const realmWriter = async (r: Realm, rng: Prng) => {
      for (let n = 0; n < 200; n++) {
        r.write(() => {
          for (let k = rng.bool(0.3) ? rng.int(2, 4) : 1; k > 0; k--) {
            if (rng.bool(0.75)) {
              const obj = r.objectForPrimaryKey<Record<string, unknown>>('Item', rng.int(1, 16))!;
              for (const c of COLUMNS.filter(() => rng.bool(0.4))) obj[c] = randomValue(rng, c);
            } else {
              const id = rng.int(1, 10);
              const obj = r.objectForPrimaryKey('Churn', id);
              if (obj && rng.bool(0.3)) r.delete(obj);
              else r.create('Churn', { id, label: text(rng), qty: rng.bool(0.2) ? null : rng.int(0, 1000) }, 'modified');
            }
          }
        });
        counts.realm++;
        await sleep(rng.int(5, 60));
      }
    };
    const sqlWriter = async (c: Client, rng: Prng) => {
      for (let n = 0; n < 200; n++) {
        await c.query('BEGIN');
        try {
          for (let k = rng.bool(0.3) ? rng.int(2, 4) : 1; k > 0; k--) {
            if (rng.bool(0.75)) {
              const cols = COLUMNS.filter(() => rng.bool(0.4));
              if (cols.length === 0) cols.push(rng.pick(COLUMNS));
              await c.query(`UPDATE item SET ${cols.map((col, i) => `${col} = $${i + 2}`).join(', ')} WHERE id = $1`, [rng.int(1, 16), ...cols.map((col) => randomValue(rng, col))]);
            } else {
              const id = rng.int(1, 10);
              if (rng.bool(0.3)) await c.query('DELETE FROM churn WHERE id = $1', [id]);
              else await c.query('INSERT INTO churn VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET label = EXCLUDED.label, qty = EXCLUDED.qty', [id, text(rng), rng.bool(0.2) ? null : rng.int(0, 1000)]);
            }
          }
          await c.query('COMMIT');
          counts.sql++;
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          if (!TRANSIENT.has((e as { code?: string }).code ?? '')) throw e;
          counts.sqlRolledBack++;
        }
        await sleep(rng.int(5, 60));
      }
    };
    await Promise.all([realmWriter(realmWriters[0], new Prng(seed)), realmWriter(realmWriters[1], new Prng(seed + 1)), sqlWriter(sqlWriters[0], new Prng(seed + 2)), sqlWriter(sqlWriters[1], new Prng(seed + 3))]);
    for (const r of realmWriters) await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(180_000);
    const s = await bothSides(d, realmPath, 'verify-random');
    // eslint-disable-next-line no-console
    console.log(`concurrent writers: ${counts.realm} realm and ${counts.sql} SQL transactions (${counts.sqlRolledBack} rolled back by deadlocks); status ${JSON.stringify(connector.status().apply)}`);
    expect([...differences('item', s.db.item, s.realm.item), ...differences('churn', s.db.churn, s.realm.churn)]).toEqual([]);
    expect(s.db.item.size).toBe(16);
    for (const r of realmWriters) {
      await r.syncSession!.downloadAllServerChanges(60_000);
      expect(differences('item', s.realm.item, realmObjects(r, 'Item', COLUMNS), ['verifier', 'writer'])).toEqual([]);
    }
    expect(connector.status().apply).toMatchObject({ retrying: 0, rejected: 0 }); // deadlocks with the SQL writers are retried
  }, 300_000);

  /**
   * With the connector stopped, both sides change the same rows; then it starts. Rows (by id):
   * 1–4 the realm writes first, 5–8 the database first (same columns, different values);
   * 9–10 the realm writes `label`, the database `qty` (no common column);
   * 11–12 the realm deletes, the database updates; 13–14 the realm updates, the database deletes;
   * 15 the realm increments `qty` by 5 (ADD_INTEGER), the database runs `qty = qty + 7`.
   */
  async function race(policy: 'database-wins' | 'realm-wins' | undefined) {
    const name = policy === 'realm-wins' ? 'realmwins' : 'dbwins';
    const d = await database(name);
    const realmPath = `/conflict/${name}`;
    const c = config(d, name, realmPath, policy ? { conflict: policy } : {});
    let connector = await start(c);
    const client = await openClient(realmPath, `client-${name}`);
    await connector.caughtUp();
    await connector.stop();

    const realmValues = (id: number) => ({ label: `realm ${id}`, qty: 1000 + id, flag: true, note: `realm note ${id}` });
    const dbValues = (id: number) => ({ label: `db ${id}`, qty: 2000 + id, flag: false, note: `db note ${id}` });
    const realmSets = (ids: number[]) => {
      client.write(() => {
        for (const id of ids) Object.assign(client.objectForPrimaryKey<Record<string, unknown>>('Item', id)!, realmValues(id));
      });
    };
    const dbSets = async (ids: number[]) => {
      for (const id of ids) {
        const v = dbValues(id);
        await d.sql.query('UPDATE item SET label = $2, qty = $3, flag = $4, note = $5 WHERE id = $1', [id, v.label, v.qty, v.flag, v.note]);
      }
    };
    realmSets([1, 2, 3, 4]);
    await client.syncSession!.uploadAllLocalChanges(30_000);
    await dbSets([1, 2, 3, 4, 5, 6, 7, 8]);
    realmSets([5, 6, 7, 8]);
    client.write(() => {
      for (const id of [9, 10]) client.objectForPrimaryKey<Record<string, unknown>>('Item', id)!.label = `realm ${id}`;
      for (const id of [11, 12]) client.delete(client.objectForPrimaryKey('Item', id)!);
      for (const id of [13, 14]) Object.assign(client.objectForPrimaryKey<Record<string, unknown>>('Item', id)!, realmValues(id));
      client.increment(client.objectForPrimaryKey('Item', 15), 'qty', 5);
    });
    await client.syncSession!.uploadAllLocalChanges(30_000);
    await d.sql.query('UPDATE item SET qty = 3000 + id WHERE id IN (9, 10)');
    await dbSets([11, 12]);
    await d.sql.query('DELETE FROM item WHERE id IN (13, 14)');
    await d.sql.query('UPDATE item SET qty = qty + 7 WHERE id = 15');

    connector = await start(c);
    await connector.quiesce(120_000);
    const s = await bothSides(d, realmPath, `verify-${name}`);
    const seen = (id: number) => {
      const row = s.db.item.get(id);
      return row ? { label: row.label, qty: row.qty, note: row.note } : 'deleted';
    };
    // eslint-disable-next-line no-console
    console.log(`conflict ${policy ?? 'default'}: ${[1, 5, 9, 11, 13, 15].map((id) => `${id}: ${JSON.stringify(seen(id))}`).join('; ')}`);
    return { s, connector };
  }

  const pick = (v: Record<string, unknown>): Comparable => comparable({ label: v.label, qty: v.qty, flag: v.flag, note: v.note });
  const columnsOf = (rows: Map<number, Comparable>, ids: number[]) => ids.map((id) => (rows.get(id) ? pick(rows.get(id)!) : 'deleted'));

  test('database-wins (the default): after a race both sides hold the database values; a database update beats a realm delete, a database delete beats a realm update', async () => {
    const { s, connector } = await race(undefined);
    expect(differences('item', s.db.item, s.realm.item)).toEqual([]);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const db = (id: number) => pick({ label: `db ${id}`, qty: 2000 + id, flag: false, note: `db note ${id}` });
    expect(columnsOf(s.realm.item, ids)).toEqual(ids.map(db));
    expect(columnsOf(s.realm.item, [11, 12])).toEqual([11, 12].map(db));
    expect(columnsOf(s.realm.item, [13, 14])).toEqual(['deleted', 'deleted']);
    expect([9, 10].map((id) => s.realm.item.get(id)?.qty)).toEqual([3009, 3010]);
    expect(connector.status().apply).toMatchObject({ retrying: 0, rejected: 0 }); // deadlocks with the SQL writers are retried
  }, 240_000);

  test('realm-wins: after a race both sides hold the realm values; a realm delete beats a database update, a realm update beats a database delete', async () => {
    const { s, connector } = await race('realm-wins');
    expect(differences('item', s.db.item, s.realm.item)).toEqual([]);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const realm = (id: number) => pick({ label: `realm ${id}`, qty: 1000 + id, flag: true, note: `realm note ${id}` });
    expect(columnsOf(s.db.item, ids)).toEqual(ids.map(realm));
    expect(columnsOf(s.db.item, [11, 12])).toEqual(['deleted', 'deleted']);
    expect(columnsOf(s.db.item, [13, 14])).toEqual([13, 14].map(realm));
    expect([9, 10].map((id) => s.db.item.get(id)?.label)).toEqual(['realm 9', 'realm 10']);
    expect(connector.status().apply).toMatchObject({ retrying: 0, rejected: 0 }); // deadlocks with the SQL writers are retried
  }, 240_000);
});

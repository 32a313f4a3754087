import * as path from 'node:path';
import { PostgresConnector, type LoadProgress, type PostgresConnectorConfig } from '../../connectors/postgres';
import exampleConfig from '../../examples/legacy-postgres-bridge/pagila.config';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/server/logger';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { createTestDatabase, describePostgres, hasPsql, loadPagila, pagilaDir, type TestDatabase } from '../helpers/postgres';

const pagila = pagilaDir();
const describeIfPagila = pagila && hasPsql() ? describePostgres : (name: string, fn: () => void) => describe.skip(`${name} (Pagila or psql not available: set TRIBUTARY_PAGILA_DIR)`, fn);

/** The example's mapping (examples/legacy-postgres-bridge), pointed at the test database and server. */
function pagilaConfig(database: string, serverUrl: string, localPath: string): PostgresConnectorConfig {
  return { ...exampleConfig, database, serverUrl, localPath, adminTokenFile: undefined, heartbeatIntervalMs: 0 };
}

describeIfPagila('postgres connector: Pagila', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector;
  const progress: LoadProgress[] = [];
  let loadMs = 0;
  const clients: Realm[] = [];
  const open = async (p: string) => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + p }, path: path.join(fx.dir, 'clients', `${clients.length}.db`) });
    clients.push(r);
    return r;
  };
  const count = async (sql: string, params: unknown[] = []) => Number((await db.sql.query(sql, params)).rows[0].n);

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('pagila');
    loadPagila(db.url, pagila!);
    connector = new PostgresConnector(pagilaConfig(db.url, fx.realmUrl, path.join(fx.dir, 'connector')), { adminUser: fx.admin, onProgress: (p) => progress.push(p), log: process.env.PAGILA_LOG ? new JsonLogger('info') : undefined });
    const started = Date.now();
    await connector.start();
    loadMs = Date.now() - started;
  }, 120_000);
  afterAll(async () => {
    for (const r of clients) if (!r.isClosed) r.close();
    await connector?.stop();
    await fx?.dispose();
    await db?.dispose();
  });

  test('the catalog realm holds every catalog row, typed, with links resolved', async () => {
    const catalog = await open('/pagila/catalog');
    for (const [type, table] of [
      ['Actor', 'actor'],
      ['Film', 'film'],
      ['FilmActor', 'film_actor'],
      ['FilmCategory', 'film_category'],
      ['Category', 'category'],
      ['Language', 'language'],
      ['Address', 'address'],
      ['City', 'city'],
      ['Country', 'country'],
    ]) {
      expect([type, catalog.objects(type).length]).toEqual([type, await count(`SELECT count(*) AS n FROM ${table}`)]);
    }
    const film = catalog.objectForPrimaryKey<any>('Film', 1);
    const row = (await db.sql.query('SELECT title, release_year, rental_rate::text, rating::text, special_features, fulltext::text, length FROM film WHERE film_id = 1')).rows[0];
    expect(film.title).toBe(row.title);
    expect(film.release_year).toBe(row.release_year);
    expect(film.rental_rate.toString()).toBe(row.rental_rate);
    expect(film.rating).toBe(row.rating);
    expect([...film.special_features]).toEqual(row.special_features);
    expect(film.fulltext).toBe(row.fulltext);
    expect(film.language.name).toBe('English'); // character(20), trailing blanks dropped
    const fa = catalog.objectForPrimaryKey<any>('FilmActor', '1|1');
    expect([fa.actor.first_name, fa.film.title]).toEqual(['PENELOPE', row.title]);
    expect(catalog.objectForPrimaryKey<any>('Address', 1).city.country.country).toBeTruthy();
    // eslint-disable-next-line no-console
    console.log(`Pagila initial load: ${loadMs} ms`);
    expect(progress.filter((p) => p.done).map((p) => p.table)).toEqual(expect.arrayContaining(['film', 'payment', 'rental']));
  });

  test('/pagila/store/1 holds exactly store 1 (rentals by their inventory, payments by their rental), links resolved', async () => {
    const s1 = await open('/pagila/store/1');
    const expected: Record<string, number> = {
      Store: 1,
      Staff: await count('SELECT count(*) AS n FROM staff WHERE store_id = 1'),
      Customer: await count('SELECT count(*) AS n FROM customer WHERE store_id = 1'),
      Inventory: await count('SELECT count(*) AS n FROM inventory WHERE store_id = 1'),
      Rental: await count('SELECT count(*) AS n FROM rental r JOIN inventory i USING (inventory_id) WHERE i.store_id = 1'),
      Payment: await count('SELECT count(*) AS n FROM payment p JOIN rental r USING (rental_id) JOIN inventory i USING (inventory_id) WHERE i.store_id = 1'),
    };
    for (const type of Object.keys(expected)) expect([type, s1.objects(type).length]).toEqual([type, expected[type]]);
    expect(expected.Rental).toBeGreaterThan(1000);
    for (const r of s1.objects<any>('Rental')) expect(r.inventory.store_id).toBe(1);
    for (const p of s1.objects<any>('Payment')) expect(p.rental.rental_id).toBe(p.rental_id);
    expect(s1.objects<any>('Customer').every((c: any) => c.store.store_id === 1)).toBe(true);
    const someIds = (await db.sql.query('SELECT rental_id FROM rental r JOIN inventory i USING (inventory_id) WHERE i.store_id = 2 LIMIT 5')).rows.map((x) => x.rental_id);
    for (const id of someIds) expect(s1.objectForPrimaryKey('Rental', id)).toBeUndefined();
    const p = s1.objects<any>('Payment')[0];
    expect(typeof p.amount.toString()).toBe('string');
    expect(p.payment_date).toBeInstanceOf(Date);
  });

  test('live SQL changes reach connected clients: a payment into a partition, a text[] update, a rental, deletes', async () => {
    const s1 = await open('/pagila/store/1');
    const catalog = await open('/pagila/catalog');
    const inv = (await db.sql.query('SELECT inventory_id FROM inventory WHERE store_id = 1 ORDER BY inventory_id LIMIT 1')).rows[0].inventory_id;
    const rental = (
      await db.sql.query("INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES ('2022-03-05 10:00:00+00', $1, 1, 1) RETURNING rental_id", [inv])
    ).rows[0].rental_id;
    const pay = (
      await db.sql.query("INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, $1, 7.99, '2022-03-05 10:01:00+00') RETURNING payment_id", [rental])
    ).rows[0].payment_id;
    expect((await db.sql.query('SELECT tableoid::regclass::text AS t FROM payment WHERE payment_id = $1', [pay])).rows[0].t).toBe('payment_p2022_03');
    await db.sql.query("UPDATE film SET special_features = '{Trailers,\"Director''s Cut\"}' WHERE film_id = 2");
    await connector.caughtUp();
    await s1.syncSession!.downloadAllServerChanges(20_000);
    await catalog.syncSession!.downloadAllServerChanges(20_000);
    const p = s1.objectForPrimaryKey<any>('Payment', pay);
    expect([p.amount.toString(), p.rental.rental_id, p.rental.inventory.inventory_id, p.payment_date.toISOString()]).toEqual(['7.99', rental, inv, '2022-03-05T10:01:00.000Z']);
    expect([...catalog.objectForPrimaryKey<any>('Film', 2).special_features]).toEqual(['Trailers', "Director's Cut"]);

    await db.sql.query('UPDATE payment SET amount = 8.49 WHERE payment_id = $1', [pay]);
    await db.sql.query('UPDATE rental SET return_date = $2 WHERE rental_id = $1', [rental, new Date(Date.UTC(2022, 2, 6))]);
    await connector.caughtUp();
    await s1.syncSession!.downloadAllServerChanges(20_000);
    expect(s1.objectForPrimaryKey<any>('Payment', pay).amount.toString()).toBe('8.49');
    expect(s1.objectForPrimaryKey<any>('Rental', rental).return_date.toISOString()).toBe('2022-03-06T00:00:00.000Z');

    await db.sql.query('DELETE FROM payment WHERE payment_id = $1', [pay]);
    await db.sql.query('DELETE FROM rental WHERE rental_id = $1', [rental]);
    await connector.caughtUp();
    await s1.syncSession!.downloadAllServerChanges(20_000);
    expect(s1.objectForPrimaryKey('Payment', pay)).toBeUndefined();
    expect(s1.objectForPrimaryKey('Rental', rental)).toBeUndefined();
    expect(connector.status()).toMatchObject({ state: 'streaming', lastError: null });
  });
});

import * as path from 'node:path';
import { PostgresConnector, type LoadProgress, type PostgresConnectorConfig } from '../../connectors/postgres';
import exampleConfig from '../../examples/legacy-postgres-bridge/pagila.config';
import { Decimal128 } from '../../src/model';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { compareTablesWithRealms, formatComparison } from '../helpers/pg-compare';
import { createTestDatabase, describePagila, loadPagila, pagilaDir, type TestDatabase } from '../helpers/postgres';

const pagila = pagilaDir();

/**
 * The example's mapping (examples/legacy-postgres-bridge), pointed at the test database and server. Slot and
 * replication origin names are cluster-wide, so the name is this run's own (the example's test runs alongside).
 */
function pagilaConfig(database: string, serverUrl: string, localPath: string): PostgresConnectorConfig {
  return { ...exampleConfig, name: `pagila_accept_${process.pid}`, database, serverUrl, localPath, adminTokenFile: undefined, heartbeatIntervalMs: 0 };
}

describePagila('postgres connector: Pagila', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector;
  const progress: LoadProgress[] = [];
  let loadMs = 0;
  const clients: Realm[] = [];
  let opened = 0;
  const open = async (p: string) => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + p }, path: path.join(fx.dir, 'clients', `${opened++}.db`) });
    clients.push(r);
    return r;
  };
  const realms = new Map<string, Promise<Realm>>();
  /** One client realm per path, shared by the tests (opening 500 store realms twice would cost more than the checks). */
  const realmAt = (p: string) => {
    let r = realms.get(p);
    if (!r) realms.set(p, (r = open(p)));
    return r;
  };
  const count = async (sql: string, params: unknown[] = []) => Number((await db.sql.query(sql, params)).rows[0].n);
  const row = async (sql: string, params: unknown[] = []) => (await db.sql.query(sql, params)).rows[0];
  /** Uploads a client transaction, then polls PostgreSQL until `check` holds. */
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const start = Date.now();
    while (!(await check())) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what} in PostgreSQL (apply: ${JSON.stringify(connector.status().apply)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

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
    const catalog = await realmAt('/pagila/catalog');
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
    const s1 = await realmAt('/pagila/store/1');
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
    const s1 = await realmAt('/pagila/store/1');
    const catalog = await realmAt('/pagila/catalog');
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

  test('client edits reach PostgreSQL: film scalars, special_features push / remove / reorder, rentals and payments created, changed and deleted', async () => {
    const catalog = await realmAt('/pagila/catalog');
    const s1 = await realmAt('/pagila/store/1');
    const write = async (r: Realm, fn: () => void) => {
      r.write(fn);
      await r.syncSession!.uploadAllLocalChanges(20_000);
    };
    const film = () => catalog.objectForPrimaryKey<any>('Film', 3);
    const filmRow = () => row('SELECT title, description, rental_rate::text, replacement_cost::text, rating::text, release_year, length, special_features FROM film WHERE film_id = 3');
    expect([...film().special_features]).toEqual(['Trailers', 'Deleted Scenes']);

    await write(catalog, () => {
      const f = film();
      f.title = "ADAPTATION HOLES (DIRECTOR'S EDITION)";
      f.description = 'A "restored" print\nwith new subtitles';
      f.rental_rate = new Decimal128('3.49');
      f.replacement_cost = new Decimal128('21.5');
      f.rating = 'PG-13';
      f.release_year = 2007;
      f.length = 99;
    });
    await until('the film edit', async () => (await filmRow()).rating === 'PG-13');
    expect(await filmRow()).toEqual({
      title: "ADAPTATION HOLES (DIRECTOR'S EDITION)",
      description: 'A "restored" print\nwith new subtitles',
      rental_rate: '3.49',
      replacement_cost: '21.50',
      rating: 'PG-13',
      release_year: 2007,
      length: 99,
      special_features: ['Trailers', 'Deleted Scenes'],
    });

    const features = async () => (await filmRow()).special_features as string[];
    const odd = `Director's "Cut", {uncut} \\ NULL`;
    await write(catalog, () => film().special_features.push('Commentaries', odd));
    await until('the list push', async () => (await features()).length === 4);
    expect(await features()).toEqual(['Trailers', 'Deleted Scenes', 'Commentaries', odd]);
    await write(catalog, () => film().special_features.splice(1, 1));
    await until('the list removal', async () => (await features()).length === 3);
    expect(await features()).toEqual(['Trailers', 'Commentaries', odd]);
    await write(catalog, () => film().special_features.move(0, 2));
    await until('the list move', async () => (await features())[0] !== 'Trailers');
    expect(await features()).toEqual(['Commentaries', odd, 'Trailers']);
    expect([...film().special_features]).toEqual(['Commentaries', odd, 'Trailers']);
    // What PostgreSQL made of the edit (the fulltext and last_update triggers, numeric scale) comes back to clients.
    await connector.quiesce();
    await catalog.syncSession!.downloadAllServerChanges(20_000);
    const stored = await row("SELECT fulltext::text, replacement_cost::text, (extract(epoch FROM date_trunc('milliseconds', last_update)) * 1000)::int8::text AS ms FROM film WHERE film_id = 3");
    expect([film().fulltext, film().replacement_cost.toString(), film().last_update.getTime()]).toEqual([stored.fulltext, '21.50', Number(stored.ms)]);
    expect(film().fulltext).toContain("'director':3");

    const inv = (await row('SELECT inventory_id FROM inventory WHERE store_id = 1 ORDER BY inventory_id DESC LIMIT 1')).inventory_id;
    const [c1, c2] = (await db.sql.query('SELECT customer_id FROM customer WHERE store_id = 1 ORDER BY customer_id LIMIT 2')).rows.map((r) => r.customer_id);
    const staff = (await row('SELECT staff_id FROM staff WHERE store_id = 1 ORDER BY staff_id LIMIT 1')).staff_id;
    const top = await row('SELECT (SELECT max(rental_id) FROM rental) AS r, (SELECT max(payment_id) FROM payment) AS p');
    const [rentalA, rentalB, paymentA, paymentB] = [top.r + 1001, top.r + 1002, top.p + 1001, top.p + 1002];
    const createRental = (id: number, payment: number, at: string) => {
      const rental = s1.create<any>('Rental', {
        rental_id: id,
        rental_date: new Date(at),
        inventory_id: inv,
        inventory: s1.objectForPrimaryKey('Inventory', inv),
        customer_id: c1,
        customer: s1.objectForPrimaryKey('Customer', c1),
        staff_id: staff,
        staff: s1.objectForPrimaryKey('Staff', staff),
        last_update: new Date(at),
      });
      s1.create('Payment', {
        payment_id: payment,
        customer_id: c1,
        customer: s1.objectForPrimaryKey('Customer', c1),
        staff_id: staff,
        staff: s1.objectForPrimaryKey('Staff', staff),
        rental_id: id,
        rental,
        amount: new Decimal128('4.99'),
        payment_date: new Date(Date.parse(at) + 60_000),
      });
    };
    // Pagila types written from the realm: date, bool, bytea, a NULL, and a tsvector (film_fulltext_trigger recomputes only when title or description change).
    const cust = (await row('SELECT customer_id FROM customer WHERE store_id = 1 ORDER BY customer_id DESC LIMIT 1')).customer_id;
    await write(s1, () => {
      const c = s1.objectForPrimaryKey<any>('Customer', cust);
      c.create_date = new Date('2021-02-03T00:00:00Z');
      c.activebool = false;
      c.email = null;
      const st = s1.objectForPrimaryKey<any>('Staff', staff);
      st.picture = new Uint8Array([0, 1, 2, 0x5c, 254, 255]);
      st.active = false;
    });
    await write(catalog, () => (film().fulltext = "'manual':1"));
    await until('the customer and staff edits', async () => (await row('SELECT active FROM staff WHERE staff_id = $1', [staff])).active === false);
    expect(await row("SELECT create_date::text, activebool, email FROM customer WHERE customer_id = $1", [cust])).toEqual({ create_date: '2021-02-03', activebool: false, email: null });
    expect(await row("SELECT encode(picture, 'hex') AS picture FROM staff WHERE staff_id = $1", [staff])).toEqual({ picture: '0001025cfeff' });
    await connector.quiesce();
    await catalog.syncSession!.downloadAllServerChanges(20_000);
    expect([film().fulltext, (await row('SELECT fulltext::text FROM film WHERE film_id = 3')).fulltext]).toEqual(["'manual':1", "'manual':1"]);

    const rentalRow = (id: number) => row('SELECT rental_date, inventory_id, customer_id, staff_id, return_date FROM rental WHERE rental_id = $1', [id]);
    const paymentRow = (id: number) => row('SELECT amount::text, rental_id, customer_id, staff_id, payment_date, tableoid::regclass::text AS part FROM payment WHERE payment_id = $1', [id]);

    await write(s1, () => createRental(rentalA, paymentA, '2022-06-01T12:30:00.123Z'));
    await until('the new rental and payment', async () => (await paymentRow(paymentA)) !== undefined);
    expect(await rentalRow(rentalA)).toEqual({ rental_date: new Date('2022-06-01T12:30:00.123Z'), inventory_id: inv, customer_id: c1, staff_id: staff, return_date: null });
    expect(await paymentRow(paymentA)).toEqual({ amount: '4.99', rental_id: rentalA, customer_id: c1, staff_id: staff, payment_date: new Date('2022-06-01T12:31:00.123Z'), part: 'payment_p2022_06' });

    await write(s1, () => {
      const r = s1.objectForPrimaryKey<any>('Rental', rentalA);
      r.return_date = new Date('2022-06-04T09:00:00Z');
      r.customer_id = c2;
      r.customer = s1.objectForPrimaryKey('Customer', c2);
      s1.objectForPrimaryKey<any>('Payment', paymentA).amount = new Decimal128('5.49');
    });
    await until('the rental and payment edits', async () => (await paymentRow(paymentA)).amount === '5.49');
    expect(await rentalRow(rentalA)).toMatchObject({ customer_id: c2, return_date: new Date('2022-06-04T09:00:00Z') });

    await write(s1, () => createRental(rentalB, paymentB, '2022-07-02T08:00:00Z'));
    await until('the second rental', async () => (await paymentRow(paymentB)) !== undefined);
    expect((await paymentRow(paymentB)).part).toBe('payment_p2022_07');
    await write(s1, () => {
      s1.delete(s1.objectForPrimaryKey('Payment', paymentB));
      s1.delete(s1.objectForPrimaryKey('Rental', rentalB));
    });
    await until('the deletes', async () => (await count('SELECT count(*) AS n FROM rental WHERE rental_id = $1', [rentalB])) === 0);
    expect(await count('SELECT count(*) AS n FROM payment WHERE payment_id = $1', [paymentB])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM rental WHERE rental_id = $1', [rentalA])).toBe(1);
    expect(connector.status().apply).toMatchObject({ rejected: 0, lastError: null });
  });

  test('after both directions settle, every mapped table equals the realms: counts and checksums', async () => {
    await connector.quiesce();
    const results = await compareTablesWithRealms(db.sql, connector.mapping, realmAt);
    // eslint-disable-next-line no-console
    console.log(`Pagila vs realms (${realms.size} realms):\n${formatComparison(results)}`);
    expect(results.map((r) => r.table).sort()).toEqual(Object.keys(exampleConfig.tables).sort());
    expect(results.filter((r) => !r.equal).map((r) => ({ table: r.table, rows: r.rows, objects: r.objects, firstDifferences: r.firstDifferences }))).toEqual([]);
    for (const r of results) expect([r.table, r.rows > 0, r.rows === r.objects]).toEqual([r.table, true, true]);
    expect(connector.status()).toMatchObject({ state: 'streaming', lastError: null });
    expect(connector.status().apply).toMatchObject({ rejected: 0, lastError: null });
  }, 300_000);
});

/**
 * Pagila end to end, printing each step: the connector loads Pagila into realms (or resumes),
 * a SQL change (a text[] update, a rental and a payment into a partition) reaches a connected
 * client, and a client's edits (a title, a list push and move, a return date, an amount) reach
 * PostgreSQL, together with what Pagila's own triggers made of them.
 *
 *   PAGILA_URL=postgres://postgres@127.0.0.1:5432/pagila npx tsx examples/legacy-postgres-bridge/demo.ts
 *
 * Without TRIBUTARY_URL the demo starts its own sync server in PAGILA_DEMO_DIR (default
 * ./pagila-demo); with TRIBUTARY_URL (and TRIBUTARY_ADMIN_TOKEN or TRIBUTARY_ADMIN_TOKEN_FILE) it
 * uses that server. A new PAGILA_DEMO_DIR resets the connector's database state first (slot, apply
 * positions), since both belong to the connector's local copies; a second run in the same directory
 * resumes from the slot without loading. PAGILA_CONNECTOR_NAME (default `pagila`) names the slot,
 * publication and replication origin (`tributary_<name>`; slot and origin names are per cluster).
 * PAGILA_LOG=1 prints the connector's JSON log.
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { User } from '../../src/client';
import { Decimal128 } from '../../src/model';
import { Realm } from '../../src/realm';
import { JsonLogger, Server, readAdminToken, silentLogger } from '../../src/server';
import pagila from './pagila.config';

type Row = Record<string, any>;

const say = (line: string) => console.log(line);

/** Resolves once `check` holds, re-checking on every change of the realm (a download from the server). */
function whenClientSees(realm: Realm, what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onChange = () => {
      if (!check()) return;
      clearTimeout(timer);
      realm.removeListener('change', onChange);
      resolve();
    };
    const timer = setTimeout(() => {
      realm.removeListener('change', onChange);
      reject(new Error(`the client did not see ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    realm.addListener('change', onChange);
  });
}

/** Polls PostgreSQL the way a legacy application would see the row. */
async function whenDatabaseHas(sql: Client, what: string, query: string, params: unknown[], check: (row: Row | undefined) => boolean, timeoutMs = 60_000): Promise<Row> {
  const start = Date.now();
  for (;;) {
    const row = (await sql.query(query, params)).rows[0] as Row | undefined;
    if (check(row)) return row!;
    if (Date.now() - start > timeoutMs) throw new Error(`PostgreSQL did not show ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const list = (l: Iterable<unknown>) => `[${[...l].join(', ')}]`;

async function main(): Promise<void> {
  const dir = path.resolve(process.env.PAGILA_DEMO_DIR ?? 'pagila-demo');
  const fresh = !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });

  let server: Server | null = null;
  let serverUrl = process.env.TRIBUTARY_URL;
  let adminToken = process.env.TRIBUTARY_ADMIN_TOKEN;
  if (!serverUrl) {
    const dataPath = path.join(dir, 'server');
    // Local copies are bound to the server's URL: a later run listens on the same port.
    const portFile = path.join(dir, 'server-port');
    const port = fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8')) : 0;
    server = new Server({ dataPath, port, logger: silentLogger });
    await server.start();
    fs.writeFileSync(portFile, String(server.port));
    serverUrl = `realm://127.0.0.1:${server.port}`;
    adminToken = readAdminToken(dataPath);
    say(`server: started in-process at ${serverUrl} (data in ${dataPath})`);
  } else {
    adminToken ??= (JSON.parse(fs.readFileSync(pagila.adminTokenFile!, 'utf8')) as { ADMIN_TOKEN: string }).ADMIN_TOKEN;
    say(`server: ${serverUrl}`);
  }
  const admin = User.adminUser(adminToken!, serverUrl.replace(/^realm(s?):/, 'http$1:'));
  const name = process.env.PAGILA_CONNECTOR_NAME ?? pagila.name;
  const config: PostgresConnectorConfig = { ...pagila, name, serverUrl, adminToken, adminTokenFile: undefined, localPath: path.join(dir, 'connector') };
  const sql = new Client({ connectionString: String(pagila.database) });
  await sql.connect();

  if (fresh) {
    const r = await PostgresConnector.reset(config, { adminUser: admin });
    say(`connector: new demo directory; reset the database side (slot ${r.slot} ${r.slotDropped ? 'dropped' : 'absent'})`);
  }
  const loaded: string[] = [];
  const connector = new PostgresConnector(config, {
    adminUser: admin,
    log: process.env.PAGILA_LOG ? new JsonLogger('info') : undefined,
    onProgress: (p) => {
      if (p.done) loaded.push(`${p.table} ${p.rows}`);
    },
  });
  const started = Date.now();
  await connector.start();
  if (loaded.length > 0) say(`connector: loaded ${loaded.length} tables in ${Date.now() - started} ms: ${loaded.join(', ')}`);
  else say(`connector: resumed from slot ${connector.status().slot} (no load needed)`);

  const open = (p: string) => Realm.open({ sync: { user: admin, url: serverUrl + p }, path: path.join(dir, 'clients', p.replace(/\//g, '_') + '.db') });
  const catalog = await open('/pagila/catalog');
  const store1 = await open('/pagila/store/1');
  const film = () => catalog.objectForPrimaryKey<any>('Film', 1);
  say(`client /pagila/catalog: ${catalog.objects('Film').length} films; film 1 "${film().title}" in ${film().language.name}, special_features ${list(film().special_features)}`);
  say(`client /pagila/store/1: ${store1.objects('Inventory').length} inventory items, ${store1.objects('Rental').length} rentals, ${store1.objects('Payment').length} payments`);

  // The database side: any application writing SQL.
  await sql.query("UPDATE film SET special_features = '{Trailers,Commentaries}', title = 'ACADEMY DINOSAUR' WHERE film_id = 1");
  say(`SQL: UPDATE film SET special_features = '{Trailers,Commentaries}' WHERE film_id = 1`);
  const inv = (await sql.query('SELECT inventory_id FROM inventory WHERE store_id = 1 ORDER BY inventory_id LIMIT 1')).rows[0].inventory_id as number;
  const customer = (await sql.query('SELECT customer_id, first_name, last_name FROM customer WHERE store_id = 1 ORDER BY customer_id LIMIT 1')).rows[0] as Row;
  const staff = (await sql.query('SELECT staff_id FROM staff WHERE store_id = 1 ORDER BY staff_id LIMIT 1')).rows[0].staff_id as number;
  await sql.query('BEGIN');
  const rentalId = (
    await sql.query("INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES (date_trunc('second', now()), $1, $2, $3) RETURNING rental_id", [inv, customer.customer_id, staff])
  ).rows[0].rental_id as number;
  const pay = (
    await sql.query("INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES ($1, $2, $3, 4.99, '2022-06-01 10:05:00+00') RETURNING payment_id, tableoid::regclass::text AS part", [
      customer.customer_id,
      staff,
      rentalId,
    ])
  ).rows[0] as Row;
  await sql.query('COMMIT');
  say(`SQL: INSERT INTO rental … → rental ${rentalId}; INSERT INTO payment … → payment ${pay.payment_id} (partition ${pay.part})`);

  await whenClientSees(catalog, 'the special_features update', () => [...film().special_features].join() === 'Trailers,Commentaries');
  say(`client sees: film 1 special_features ${list(film().special_features)}`);
  await whenClientSees(store1, 'the new payment', () => !!store1.objectForPrimaryKey('Payment', pay.payment_id));
  const payment = store1.objectForPrimaryKey<any>('Payment', pay.payment_id);
  say(`client sees: payment ${pay.payment_id} of ${payment.amount} for rental ${payment.rental.rental_id} (film ${payment.rental.inventory.film_id}, customer ${payment.rental.customer.first_name} ${payment.rental.customer.last_name})`);

  // The realm side: a client edits objects and a list; the connector writes them to PostgreSQL.
  const lastUpdate = film().last_update.getTime();
  catalog.write(() => {
    film().title = 'ACADEMY DINOSAUR (REMASTERED)';
    film().special_features.push('Behind the Scenes');
    film().special_features.move(2, 0);
  });
  say(`client: film 1 title = "ACADEMY DINOSAUR (REMASTERED)"; special_features.push("Behind the Scenes"); move(2, 0) → ${list(film().special_features)}`);
  store1.write(() => {
    store1.objectForPrimaryKey<any>('Rental', rentalId).return_date = new Date('2022-06-03T09:30:00Z');
    payment.amount = new Decimal128('5.49');
  });
  say(`client: rental ${rentalId} return_date = 2022-06-03T09:30:00.000Z; payment ${pay.payment_id} amount = 5.49`);

  const f = await whenDatabaseHas(sql, 'the film edit', "SELECT title, special_features, fulltext::text FROM film WHERE film_id = 1", [], (r) => r?.special_features.length === 3);
  say(`PostgreSQL: film 1 title '${f.title}', special_features {${f.special_features.join(',')}}`);
  const r = await whenDatabaseHas(sql, 'the payment edit', 'SELECT p.amount::text, r.return_date FROM payment p JOIN rental r USING (rental_id) WHERE payment_id = $1', [pay.payment_id], (x) => x?.amount === '5.49');
  say(`PostgreSQL: payment ${pay.payment_id} amount ${r.amount}; rental ${rentalId} return_date ${(r.return_date as Date).toISOString()}`);

  // Pagila's triggers rewrote film.last_update and film.fulltext; the connector brings those back.
  await whenClientSees(catalog, "the triggers' values", () => film().last_update.getTime() !== lastUpdate && film().fulltext === f.fulltext);
  say(`client sees Pagila's triggers: film 1 last_update ${film().last_update.toISOString()}, fulltext ${film().fulltext}`);

  await connector.quiesce();
  const s = connector.status();
  say(`connector: ${s.transactions} database transactions captured, ${s.apply?.applied ?? 0} realm transactions applied, ${s.apply?.rejected ?? 0} rejected`);
  catalog.close();
  store1.close();
  await connector.stop();
  await sql.end();
  admin.logout();
  await server?.stop();
  say('connector: stopped (the slot is kept: the next run resumes)');
  say('done');
}

main().then(
  () => process.exit(0),
  (e: Error & { code?: string }) => {
    console.error(`pagila demo: ${e.code ? `[${e.code}] ` : ''}${e.stack ?? e.message}`);
    process.exit(1);
  },
);

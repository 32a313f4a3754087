/**
 * A legacy SQL Server order database behind a real-time object API, end to end: the connector
 * loads it into one realm per region, a SQL transaction (a new order with two lines) reaches a
 * connected client as one realm transaction, and a client's edits (a new customer, a changed
 * quantity, a cancelled order) reach SQL Server, with what SQL Server computed (identity,
 * rowversion, `total`) filled back into the realm.
 *
 *   MSSQL_URL='mssql://sa:Tributary-2024!@127.0.0.1:1433/tributary_test' npx tsx examples/legacy-sqlserver-bridge/demo.ts
 *
 * Without MSSQL_URL it runs against the scripted TDS test server of the repository
 * (test/tds-server: the real mssql driver over TCP, an in-memory engine) — what CI does. The demo
 * (re)creates its `dbo.legacy_*` tables from schema.sql, starts its own sync server in a temporary
 * directory, and removes both at the end. DEMO_LOG=1 prints the connector's JSON log.
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sql from 'mssql';
import { compositeKey, SqlServerConnector } from '../../connectors/sqlserver';
import { User } from '../../src/client';
import { Realm } from '../../src/realm';
import { JsonLogger, readAdminToken, Server, silentLogger } from '../../src/server';
import { mapping } from './bridge.config';

const say = (line: string) => console.log(line);
type Obj = Record<string, unknown>;

function whenClientSees(realm: Realm, what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onChange = () => {
      if (!check()) return;
      clearTimeout(timer);
      realm.removeListener('change', onChange);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`the client did not see ${what} within ${timeoutMs} ms`)), timeoutMs);
    realm.addListener('change', onChange);
  });
}

async function whenDatabaseHas(pool: sql.ConnectionPool, what: string, query: string, check: (rows: Obj[]) => boolean, timeoutMs = 60_000): Promise<Obj[]> {
  const start = Date.now();
  for (;;) {
    const rows = (await pool.request().query(query)).recordset as Obj[];
    if (check(rows)) return rows;
    if (Date.now() - start > timeoutMs) throw new Error(`SQL Server did not show ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function database(): Promise<{ config: sql.config; url?: string; stop(): Promise<void> }> {
  if (process.env.MSSQL_URL) {
    const u = new URL(process.env.MSSQL_URL);
    const config: sql.config = { server: u.hostname, port: Number(u.port || 1433), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1), options: { encrypt: false, trustServerCertificate: true } };
    say(`SQL Server: ${config.user}@${config.server}:${config.port}/${config.database} (MSSQL_URL)`);
    return { config, stop: async () => undefined };
  }
  const { startTdsTestServer } = await import('../../test/tds-server');
  const server = await startTdsTestServer({ database: { changeTracking: true, allowSnapshotIsolation: true } });
  say(`SQL Server: the scripted TDS test server on 127.0.0.1:${server.port} (set MSSQL_URL for a real one)`);
  return { config: server.config(), stop: () => server.stop() };
}

async function main(): Promise<void> {
  const db = await database();
  const pool = await new sql.ConnectionPool(db.config).connect();
  await pool.request().batch("IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID()) ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);");
  await pool.request().batch('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;');
  await pool.request().batch('DROP TABLE IF EXISTS dbo.legacy_order_line; DROP TABLE IF EXISTS dbo.legacy_order; DROP TABLE IF EXISTS dbo.legacy_customer;');
  for (const statement of fs.readFileSync(path.join(__dirname, 'schema.sql'), 'utf8').replace(/^--.*$/gm, '').split(';').map((s) => s.trim()).filter(Boolean)) await pool.request().batch(statement);
  say('SQL Server: created dbo.legacy_customer, dbo.legacy_order, dbo.legacy_order_line (Change Tracking on each)');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlserver-bridge-'));
  const server = new Server({ dataPath: path.join(dir, 'server'), port: 0, logger: silentLogger });
  await server.start();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const adminToken = readAdminToken(path.join(dir, 'server'));
  say(`server: started in-process at ${serverUrl}`);
  const config = { name: 'legacy_bridge', database: db.config, serverUrl, adminToken, localPath: path.join(dir, 'connector'), ...mapping };
  await SqlServerConnector.reset(config).catch(() => undefined);
  const log = process.env.DEMO_LOG ? new JsonLogger('info', {}, (l) => console.error(l)) : silentLogger;
  const connector = new SqlServerConnector(config, { log });
  const started = Date.now();
  await connector.start();
  say(`connector: loaded 3 tables and streaming in ${Date.now() - started} ms (Change Tracking version ${connector.status().confirmedVersion})`);

  const user = User.adminUser(adminToken, serverUrl);
  const eu = await Realm.open({ sync: { user, url: `${serverUrl}/shop/EU` }, path: path.join(dir, 'client-eu.db') });
  await eu.syncSession!.downloadAllServerChanges(60_000);
  const orderLine = (orderId: number, lineNo: number) => eu.objectForPrimaryKey<Obj>('OrderLine', compositeKey([orderId, lineNo]));
  say(`client /shop/EU: ${eu.objects('Customer').length} customers, ${eu.objects('Order').length} orders, ${eu.objects('OrderLine').length} lines; line ${compositeKey([3, 1])} = ${orderLine(3, 1)!.qty} × ${String(orderLine(3, 1)!.price)} = ${String(orderLine(3, 1)!.total)}`);

  const tx = new sql.Transaction(pool);
  await tx.begin();
  const orderId = (await new sql.Request(tx).query("INSERT INTO dbo.legacy_order (customer_id, region, placed, status) OUTPUT INSERTED.id VALUES (1, 'EU', '2024-04-01T08:00:00', N'open')")).recordset[0].id as number;
  await new sql.Request(tx).input('o', sql.Int, orderId).query("INSERT INTO dbo.legacy_order_line (order_id, line_no, sku, qty, price) VALUES (@o, 1, N'GEAR-3', 1, 14.90), (@o, 2, N'NUT-10', 50, 0.05)");
  await tx.commit();
  say(`SQL: one transaction inserts order ${orderId} and its two lines`);
  await whenClientSees(eu, `order ${orderId}`, () => !!orderLine(orderId, 2) && !!eu.objectForPrimaryKey('Order', orderId));
  say(`client sees: order ${orderId} (${String(eu.objectForPrimaryKey<Obj>('Order', orderId)!.status)}) with lines ${compositeKey([orderId, 1])}, ${compositeKey([orderId, 2])}; line 2 total ${String(orderLine(orderId, 2)!.total)}`);

  eu.write(() => {
    eu.create('Customer', { id: 1000, name: 'Dora from the app', region: 'EU' });
    orderLine(3, 1)!.qty = 20;
    eu.objectForPrimaryKey<Obj>('Order', 3)!.status = 'cancelled';
  });
  await eu.syncSession!.uploadAllLocalChanges(60_000);
  say('client: creates customer 1000, sets line 3|1 qty = 20, cancels order 3');
  const line = await whenDatabaseHas(pool, 'line 3|1 qty 20', 'SELECT qty, CAST(total AS nvarchar(40)) AS total FROM dbo.legacy_order_line WHERE order_id = 3 AND line_no = 1', (rows) => rows[0]?.qty === 20);
  const customer = await whenDatabaseHas(pool, 'customer 1000', 'SELECT id, name FROM dbo.legacy_customer WHERE id = 1000', (rows) => rows.length === 1);
  const order = await whenDatabaseHas(pool, 'order 3 cancelled', 'SELECT status FROM dbo.legacy_order WHERE id = 3', (rows) => rows[0]?.status === 'cancelled');
  say(`SQL Server: customer ${String(customer[0]!.id)} '${String(customer[0]!.name)}'; line 3|1 qty ${String(line[0]!.qty)} total ${String(line[0]!.total)}; order 3 ${String(order[0]!.status)}`);
  await whenClientSees(eu, 'the new total and rowversion', () => String(orderLine(3, 1)!.total) === String(line[0]!.total) && !!eu.objectForPrimaryKey<Obj>('Customer', 1000)?.rv);
  say(`client sees what SQL Server computed: line 3|1 total ${String(orderLine(3, 1)!.total)}, customer 1000 rowversion ${Buffer.from(eu.objectForPrimaryKey<Obj>('Customer', 1000)!.rv as ArrayBuffer).toString('hex')}`);

  await connector.quiesce(60_000);
  const s = connector.status();
  say(`connector: ${s.transactions - s.skippedOwnTransactions} database transactions captured, ${s.apply!.applied} realm transactions applied (own commits skipped: ${s.skippedOwnTransactions}), ${s.apply!.rejected} rejected`);
  await connector.stop();
  eu.close();
  await server.stop();
  await pool.request().batch('DROP TABLE IF EXISTS dbo.legacy_order_line; DROP TABLE IF EXISTS dbo.legacy_order; DROP TABLE IF EXISTS dbo.legacy_customer;');
  await pool.close();
  await db.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  say('done');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

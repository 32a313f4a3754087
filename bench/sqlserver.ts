import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sql from 'mssql';
import { SqlServerConnector } from '../connectors/sqlserver';
import { User } from '../src/client';
import { Realm } from '../src/realm';
import { readAdminToken } from '../src/server';
import { startBenchServer } from './server-process';
import { flag, fmt, summarize } from './stats';

/**
 * The SQL Server connector (connectors/sqlserver) against raw mssql calls measured in the same run,
 * on the scripted TDS test server (in this process; test/tds-server) or MSSQL_URL's SQL Server,
 * and a `tributary serve` child:
 *
 * 1. SQL Server → realm: N rows inserted in transactions of `--tx` rows, timed from the first
 *    insert until `caughtUp()` resolves; baseline: the same inserts into a twin table, then ONE
 *    raw `CHANGETABLE(CHANGES …)` read joined to the rows (the least a Change Tracking reader does).
 * 2. realm → SQL Server: a client writes N objects in realm transactions of `--tx`, timed until SQL
 *    Server holds them all; baseline: the same rows as multi-row INSERTs of `--tx` rows with mssql.
 * 3. Commit → client latency: one-row transactions at `--rate`/s for `--seconds`; baseline: a raw
 *    `CHANGETABLE` poller at the connector's minimum interval, detection time per commit.
 *
 *   npm run bench -- sqlserver [--rows 2000] [--tx 100] [--rate 20] [--seconds 5]
 */

const COLUMNS = 'id int NOT NULL PRIMARY KEY, n int NOT NULL, payload nvarchar(100) NOT NULL, score float NOT NULL';
const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const values = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `(${from + i}, ${(from + i) % 1000}, N'payload ${from + i} ${'x'.repeat(32)}', ${(from + i) * 0.5})`).join(', ');

async function insertRows(pool: sql.ConnectionPool, table: string, rows: number, tx: number): Promise<void> {
  for (let at = 1; at <= rows; at += tx) {
    const t = new sql.Transaction(pool);
    await t.begin();
    await new sql.Request(t).query(`INSERT INTO dbo.${table} (id, n, payload, score) VALUES ${values(at, Math.min(tx, rows - at + 1))}`);
    await t.commit();
  }
}

async function database(): Promise<{ config: sql.config; label: string; stop(): Promise<void> }> {
  if (process.env.MSSQL_URL) {
    const u = new URL(process.env.MSSQL_URL);
    return {
      config: { server: u.hostname, port: Number(u.port || 1433), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1), options: { encrypt: false, trustServerCertificate: true } },
      label: 'SQL Server at MSSQL_URL',
      stop: async () => undefined,
    };
  }
  const { startTdsTestServer } = await import('../test/tds-server');
  const server = await startTdsTestServer({ database: { changeTracking: true, allowSnapshotIsolation: true } });
  return { config: server.config(), label: 'the scripted TDS test server (in this process: its engine is in both figures)', stop: () => server.stop() };
}

export async function main(argv: string[]): Promise<void> {
  const rows = flag(argv, 'rows', 2000);
  const tx = flag(argv, 'tx', 100);
  const rate = flag(argv, 'rate', 20);
  const seconds = flag(argv, 'seconds', 5);
  const db = await database();
  console.log(`sqlserver: ${rows} rows per throughput figure in transactions of ${tx}; latency ${rate} commits/s for ${seconds} s; against ${db.label}`);
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'trib-bench-mssql-'));
  const stops: (() => Promise<unknown> | unknown)[] = [() => fs.rmSync(dir, { recursive: true, force: true }), () => db.stop()];
  try {
    const pool = await new sql.ConnectionPool(db.config).connect();
    stops.push(() => pool.close());
    const tables = ['s2r', 's2r_raw', 'r2s', 'r2s_raw', 'lat', 'lat_raw'];
    for (const t of tables) await pool.request().batch(`DROP TABLE IF EXISTS dbo.bench_${t}`);
    for (const t of tables) {
      await pool.request().batch(`CREATE TABLE dbo.bench_${t} (${t.startsWith('lat') ? 'id int NOT NULL PRIMARY KEY, sent_at float NOT NULL' : COLUMNS})`);
      await pool.request().batch(`ALTER TABLE dbo.bench_${t} ENABLE CHANGE_TRACKING`);
    }
    stops.push(async () => {
      for (const t of tables) await pool.request().batch(`DROP TABLE IF EXISTS dbo.bench_${t}`).catch(() => undefined);
    });
    const server = await startBenchServer(path.join(dir, 'server'));
    stops.push(() => server.stop());
    const adminToken = readAdminToken(path.join(dir, 'server'));
    const serverUrl = `realm://127.0.0.1:${server.port}`;
    const config = {
      name: 'bench',
      database: db.config,
      serverUrl,
      adminToken,
      localPath: path.join(dir, 'connector'),
      initialLoad: 'none' as const,
      tables: { bench_s2r: { type: 'S2r', realm: '/bench/s2r' }, bench_r2s: { type: 'R2s', realm: '/bench/r2s' }, bench_lat: { type: 'Lat', realm: '/bench/lat' } },
    };
    await SqlServerConnector.reset(config).catch(() => undefined);
    const connector = new SqlServerConnector(config);
    await connector.start();
    stops.push(() => connector.stop());
    const user = User.adminUser(adminToken, serverUrl);
    const open = async (p: string) => {
      const r = await Realm.open({ sync: { user, url: `${serverUrl}${p}` }, path: path.join(dir, `client${p.replace(/\//g, '_')}.db`) });
      stops.push(() => r.close());
      await r.syncSession!.downloadAllServerChanges(60_000);
      return r;
    };

    console.log('  SQL Server → realm …');
    let t0 = now();
    await insertRows(pool, 'bench_s2r', rows, tx);
    await connector.caughtUp(300_000);
    const s2r = now() - t0;
    const v0 = (await pool.request().query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0].v as string;
    t0 = now();
    await insertRows(pool, 'bench_s2r_raw', rows, tx);
    const read = await pool.request().input('v', sql.BigInt, v0).query('SELECT ct.SYS_CHANGE_VERSION, ct.SYS_CHANGE_OPERATION, r.* FROM CHANGETABLE(CHANGES dbo.bench_s2r_raw, @v) AS ct LEFT JOIN dbo.bench_s2r_raw AS r ON r.id = ct.id');
    const s2rRaw = now() - t0;
    if (read.recordset.length !== rows) throw new Error(`raw CHANGETABLE read ${read.recordset.length} rows, expected ${rows}`);

    console.log('  realm → SQL Server …');
    const r2sRealm = await open('/bench/r2s');
    t0 = now();
    for (let at = 1; at <= rows; at += tx) {
      r2sRealm.write(() => {
        for (let id = at; id < at + tx && id <= rows; id++) r2sRealm.create('R2s', { id, n: id % 1000, payload: `payload ${id} ${'x'.repeat(32)}`, score: id * 0.5 });
      });
    }
    await until(async () => Number((await pool.request().query('SELECT COUNT(*) AS n FROM dbo.bench_r2s')).recordset[0].n) === rows, 'the realm rows in SQL Server');
    const r2s = now() - t0;
    t0 = now();
    await insertRows(pool, 'bench_r2s_raw', rows, tx);
    const r2sRaw = now() - t0;

    await connector.quiesce(300_000); // the realm → SQL Server phase settled: latency is measured on a quiet connector
    console.log('  commit → client latency …');
    const lat = await open('/bench/lat');
    const arrivals: number[] = [];
    const seen = new Set<number>();
    const listener = () => {
      const t = performance.timeOrigin + now();
      for (const o of lat.objects<{ id: number; sent_at: number }>('Lat')) if (!seen.has(o.id)) (seen.add(o.id), arrivals.push(t - o.sent_at));
    };
    if (lat.schema.some((s) => s.name === 'Lat')) lat.objects('Lat').length;
    lat.addListener('change', listener);
    const rawArrivals: number[] = [];
    let rawVersion = BigInt((await pool.request().query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0].v as string);
    let polling = true;
    const rawPoller = (async () => {
      while (polling) {
        const r = await pool.request().input('v', sql.BigInt, rawVersion.toString()).query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS cur, r.sent_at FROM CHANGETABLE(CHANGES dbo.bench_lat_raw, @v) AS ct JOIN dbo.bench_lat_raw AS r ON r.id = ct.id');
        const t = performance.timeOrigin + now();
        for (const x of r.recordset) rawArrivals.push(t - (x.sent_at as number));
        if (r.recordset.length > 0) rawVersion = BigInt(r.recordset[0].cur as string);
        await sleep(connector.config.resolved.pollIntervalMs);
      }
    })();
    const count = Math.round(rate * seconds);
    for (let i = 1; i <= count; i++) {
      const sent = performance.timeOrigin + now();
      await pool.request().query(`INSERT INTO dbo.bench_lat (id, sent_at) VALUES (${i}, ${sent})`);
      await pool.request().query(`INSERT INTO dbo.bench_lat_raw (id, sent_at) VALUES (${i}, ${sent})`);
      await sleep(1000 / rate);
    }
    await until(() => arrivals.length >= count && rawArrivals.length >= count, 'every latency row', 60_000);
    polling = false;
    await rawPoller;
    lat.removeListener('change', listener);

    const rowsPerS = (ms: number) => (rows / ms) * 1000;
    const line = (label: string, ms: number, rawMs: number, raw: string) => console.log(`${label}: ${fmt(rowsPerS(ms), 0)} rows/s (${fmt(ms, 0)} ms) vs ${raw} ${fmt(rowsPerS(rawMs), 0)} rows/s (${fmt(rawMs, 0)} ms): ratio ${fmt(rawMs / ms, 2)} of raw`);
    console.log('');
    line('SQL Server → realm', s2r, s2rRaw, 'raw inserts + one CHANGETABLE read');
    line('realm → SQL Server', r2s, r2sRaw, 'raw mssql INSERTs');
    if (process.env.BENCH_DEBUG) console.log(arrivals.map((x) => Math.round(x)).join(" "));
    const a = summarize(arrivals);
    const b = summarize(rawArrivals);
    console.log(`commit → client latency: p50 ${fmt(a.p50)} ms, p99 ${fmt(a.p99)} ms, max ${fmt(a.max)} ms vs raw CHANGETABLE poller (every ${connector.config.resolved.pollIntervalMs} ms) p50 ${fmt(b.p50)} ms, p99 ${fmt(b.p99)} ms`);
    const s = connector.status();
    console.log(`connector: ${s.transactions} versions polled (${s.skippedOwnTransactions} own), ${s.polls} polls, ${s.apply?.applied} realm transactions applied in ${s.apply?.batches} batches, ${s.apply?.races} races`);
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch((e: unknown) => console.error(`sqlserver bench: cleanup: ${(e as Error).message}`));
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector } from '../connectors/postgres';
import { User } from '../src/client';
import { Realm } from '../src/realm';
import { readAdminToken } from '../src/server';
import { findPostgresBin, startTestCluster, stopTestCluster, type TestCluster } from '../test/helpers/postgres-cluster';
import { startBenchServer, type BenchServer } from './server-process';
import { cpuMs, flag, fmt, percentile } from './stats';

/**
 * The PostgreSQL connector (connectors/postgres) against raw PostgreSQL paths measured in the same
 * run, on a throw-away cluster (test/helpers/postgres-cluster.ts) and a `tributary serve` child:
 *
 * 1. PostgreSQL → realm: N rows inserted in transactions of `--tx` rows (and of `--large-tx`
 *    rows), timed from the first insert until `caughtUp()` resolves; baseline: `pg_recvlogical`
 *    decoding the same WAL range through its own pgoutput slot (`--endpos`), process start to exit.
 * 2. realm → PostgreSQL: a synced client writes N objects in realm transactions of `--tx`, timed
 *    from the first write until PostgreSQL holds them all; baseline: the same rows as multi-row
 *    INSERTs of `--tx` rows each with `pg`.
 * 3. Commit → client latency: one-row transactions at `--rate`/s for `--seconds`, each row
 *    carrying its wall-clock time; a client's collection listener records each arrival. Baseline:
 *    the same paced commits (on an unmapped twin table) read by `pg_recvlogical` on a pipe.
 *
 * `--only p2r|r2p|latency` runs one of the three (to profile one direction).
 *
 * Everything started here is stopped in `finally` and on SIGINT/SIGTERM (the cluster also has its
 * own watchdog). Only the connector's public API is used (constructor, start, stop, caughtUp,
 * status, and `quiesce` when it exists).
 */

const TABLES = ['p2r_small', 'p2r_large', 'r2p', 'r2p_raw', 'lat', 'lat_raw'];
const ROW_COLUMNS = 'id int PRIMARY KEY, n int NOT NULL, payload text NOT NULL, score float8 NOT NULL';
const ROW_SCHEMA = (name: string) => ({ name, primaryKey: 'id', properties: { id: 'int', n: 'int', payload: 'string', score: 'double' } });
const LAT_SCHEMA = { name: 'Lat', primaryKey: 'id', properties: { id: 'int', sent_at: 'double' } };

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowValues = (id: number) => [id, id % 1000, `payload ${id} ${'x'.repeat(32)}`, id * 0.5];

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Things to stop, newest first. `kill` is a synchronous last resort run from process 'exit' when
 * the process dies before `release` (an uncaught exception in a connector callback, process.exit).
 */
class Resources {
  private stack: Array<{ name: string; stop: () => Promise<unknown> | unknown; kill?: () => void }> = [];
  private readonly onExit = () => {
    for (let e; (e = this.stack.pop()); ) {
      try {
        e.kill?.();
      } catch {
        // best effort while exiting
      }
    }
  };
  constructor() {
    process.on('exit', this.onExit);
  }
  add(name: string, stop: () => Promise<unknown> | unknown, kill?: () => void): void {
    this.stack.push({ name, stop, kill });
  }
  async release(): Promise<void> {
    for (let e; (e = this.stack.pop()); ) {
      try {
        await e.stop();
      } catch (err) {
        console.error(`postgres bench: stopping ${e.name} failed: ${(err as Error).message}`);
        e.kill?.();
      }
    }
    process.off('exit', this.onExit);
  }
}

// ---- pg_recvlogical ----------------------------------------------------------------------------

type RawEvent = { kind: 'insert'; values: (string | null)[] } | { kind: 'commit' };
const INCOMPLETE = Symbol('incomplete');

/**
 * Splits what pg_recvlogical writes for the pgoutput plugin (protocol 1: each message as sent,
 * then a newline) back into messages. Independent of the connector's decoder on purpose: the
 * baseline must not share code with what it measures.
 */
class PgOutputFrames {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  inserts = 0;

  push(chunk: Buffer, on: (e: RawEvent) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let start = 0;
    for (;;) {
      this.at = start;
      let event: RawEvent | null;
      try {
        event = this.message();
      } catch (e) {
        if (e === INCOMPLETE) break;
        throw e;
      }
      start = this.at;
      if (event?.kind === 'insert') this.inserts++;
      if (event) on(event);
    }
    this.buf = this.buf.subarray(start);
  }

  private need(n: number): number {
    if (this.at + n > this.buf.length) throw INCOMPLETE;
    const at = this.at;
    this.at += n;
    return at;
  }
  private u8 = () => this.buf[this.need(1)];
  private u16 = () => this.buf.readUInt16BE(this.need(2));
  private u32 = () => this.buf.readUInt32BE(this.need(4));
  private cstring(): void {
    const zero = this.buf.indexOf(0, this.at);
    if (zero < 0) throw INCOMPLETE;
    this.at = zero + 1;
  }
  private tuple(): (string | null)[] {
    const values: (string | null)[] = [];
    for (let n = this.u16(); n > 0; n--) {
      const kind = String.fromCharCode(this.u8());
      if (kind === 't') {
        const len = this.u32();
        const at = this.need(len);
        values.push(this.buf.toString('utf8', at, at + len));
      } else values.push(null); // 'n' null, 'u' unchanged TOAST
    }
    return values;
  }

  private message(): RawEvent | null {
    const type = String.fromCharCode(this.u8());
    let event: RawEvent | null = null;
    switch (type) {
      case 'B':
        this.need(20);
        break;
      case 'C':
        this.need(25);
        event = { kind: 'commit' };
        break;
      case 'O':
        this.need(8);
        this.cstring();
        break;
      case 'R':
        this.need(4);
        this.cstring();
        this.cstring();
        this.need(1);
        for (let n = this.u16(); n > 0; n--) {
          this.need(1);
          this.cstring();
          this.need(8);
        }
        break;
      case 'Y':
        this.need(4);
        this.cstring();
        this.cstring();
        break;
      case 'I':
        this.need(5);
        event = { kind: 'insert', values: this.tuple() };
        break;
      case 'U': {
        this.need(4);
        const k = String.fromCharCode(this.u8());
        if (k === 'K' || k === 'O') {
          this.tuple();
          this.need(1);
        }
        this.tuple();
        break;
      }
      case 'D':
        this.need(5);
        this.tuple();
        break;
      case 'T':
        this.need(4 * this.u32() + 1);
        break;
      default:
        throw new Error(`pg_recvlogical output: unexpected pgoutput message '${type}' at byte ${this.at - 1}`);
    }
    if (this.u8() !== 0x0a) throw new Error('pg_recvlogical output: a message is not followed by a newline');
    return event;
  }
}

interface Tool {
  child: ChildProcess;
  exited: Promise<void>;
}

/** A client binary of the cluster (pg_recvlogical, psql), stopped with the other resources. */
function tool(res: Resources, cluster: TestCluster, name: string, args: string[], pipeStdout = false): Tool {
  const child = spawn(path.join(cluster.bin, name), args, { stdio: ['ignore', pipeStdout ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGINT') resolve();
      else reject(new Error(`${name} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  exited.catch(() => undefined); // observed by whoever awaits it
  const t = { child, exited };
  res.add(name, () => stopTool(t), () => child.kill('SIGKILL'));
  return t;
}

async function stopTool(t: Tool): Promise<void> {
  if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGINT');
  await t.exited.catch(() => undefined);
}

function recvLogical(ctx: Context, slot: string, publication: string, out: string, endpos?: string): Tool {
  const args = ['-d', ctx.dbUrl, '-S', slot, '--start', '--no-loop', '-F', '0', '-o', 'proto_version=1', '-o', `publication_names=${publication}`, '-f', out];
  if (endpos) args.push('--endpos', endpos);
  return tool(ctx.res, ctx.cluster, 'pg_recvlogical', args, out === '-');
}

// ---- the benchmark -----------------------------------------------------------------------------

interface Options {
  rows: number;
  tx: number;
  largeTx: number;
  rate: number;
  seconds: number;
  disk: boolean;
  timeoutMs: number;
  /** `--only p2r|r2p|latency`: run just that part (the others are skipped, their rows not printed). */
  only: 'p2r' | 'r2p' | 'latency' | null;
}

interface Context {
  o: Options;
  res: Resources;
  cluster: TestCluster;
  dbUrl: string;
  sql: Client;
  connector: PostgresConnector;
  client: User;
  dir: string;
  realmUrl: string;
  server: BenchServer;
}

interface Throughput {
  label: string;
  ours: number;
  raw: number;
  note: string;
}

async function openClient(ctx: Context, name: string, schema: object[]): Promise<Realm> {
  const realm = await Realm.open({ schema: schema as never, sync: { user: ctx.client, url: `${ctx.realmUrl}/${ctx.client.identity}/${name}` }, path: path.join(ctx.dir, 'clients', `${name}.db`) });
  ctx.res.add(`client realm ${name}`, () => realm.isClosed || realm.close());
  return realm;
}

async function createRawSlot(ctx: Context, name: string): Promise<void> {
  await ctx.sql.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
  ctx.res.add(`slot ${name}`, () => ctx.sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [name]));
}

/** Drops a raw slot once the walsender of the pg_recvlogical that used it has let go (it outlives the client briefly). */
async function dropRawSlot(ctx: Context, name: string): Promise<void> {
  await until(async () => (await ctx.sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [name])).rows[0]?.active === false, `slot ${name} to be released`, ctx.o.timeoutMs);
  await ctx.sql.query('SELECT pg_drop_replication_slot($1)', [name]);
}

/** 1. PostgreSQL → realm for one table, next to pg_recvlogical over the same WAL range. */
async function databaseToRealm(ctx: Context, table: string, type: string, txSize: number): Promise<Throughput> {
  const { o, sql, connector } = ctx;
  const insert = (from: number, to: number) =>
    `INSERT INTO ${table} (id, n, payload, score) SELECT g, g % 1000, 'payload ' || g || ' ' || repeat('x', 32), g * 0.5 FROM generate_series(${from}, ${to}) g;\n`;
  await sql.query(insert(0, 0)); // opens the realm and its upload path outside the timed window
  await connector.caughtUp(o.timeoutMs);
  const slot = `raw_${table}`;
  await createRawSlot(ctx, slot);

  // psql in its own process runs the workload, so the connector sharing this event loop cannot slow it down.
  const script = path.join(ctx.dir, `${table}.sql`);
  let text = '';
  for (let id = 1; id <= o.rows; id += txSize) text += insert(id, Math.min(o.rows, id + txSize - 1));
  fs.writeFileSync(script, text);
  const start = performance.now();
  await tool(ctx.res, ctx.cluster, 'psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', ctx.dbUrl, '-f', script]).exited;
  const inserted = performance.now();
  await connector.caughtUp(o.timeoutMs);
  const seconds = (performance.now() - start) / 1000;
  const endpos = (await sql.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
  await sql.query('INSERT INTO bench_stopper DEFAULT VALUES'); // a published change past endpos ends pg_recvlogical

  const file = path.join(ctx.dir, `${slot}.out`);
  const rawStart = performance.now();
  const recv = recvLogical(ctx, slot, `raw_${table}`, file, endpos);
  await withTimeout(recv.exited, o.timeoutMs, `pg_recvlogical to reach ${endpos}`);
  const rawSeconds = (performance.now() - rawStart) / 1000;
  const frames = new PgOutputFrames();
  frames.push(fs.readFileSync(file), () => undefined);
  if (frames.inserts !== o.rows) throw new Error(`pg_recvlogical decoded ${frames.inserts} inserts of ${table}, expected ${o.rows}`);
  fs.rmSync(file);
  await dropRawSlot(ctx, slot);

  const realm = await openClient(ctx, table, [ROW_SCHEMA(type)]);
  const objects = realm.objects(type).length;
  realm.close();
  if (objects !== o.rows + 1) throw new Error(`${table}: the client realm holds ${objects} objects, expected ${o.rows + 1}`);
  return {
    label: `PostgreSQL → realm, ${txSize}-row tx (rows/s)`,
    ours: o.rows / seconds,
    raw: o.rows / rawSeconds,
    note: `${o.rows} rows in ${Math.ceil(o.rows / txSize)} tx: psql inserted them in ${fmt((inserted - start) / 1000, 2)} s, connector caught up at ${fmt(seconds, 2)} s; pg_recvlogical ${fmt(rawSeconds, 2)} s`,
  };
}

/** CPU time (user + system, ms) of the cluster's postmaster and its children (backends, walsenders), from /proc; NaN without it. */
function clusterCpuMs(cluster: TestCluster): number {
  try {
    const postmaster = Number(fs.readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    let total = 0;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let fields: string[];
      try {
        fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      } catch {
        continue; // exited meanwhile
      }
      if (Number(pid) === postmaster || Number(fields[1]) === postmaster) total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    }
    return total;
  } catch {
    return NaN;
  }
}

/** From now on, the CPU used by this process (client and connector), the server child and PostgreSQL, as text. */
function cpuMeter(ctx: Context): () => string {
  const from = { bench: cpuMs(), server: ctx.server.cpuMs(), pg: clusterCpuMs(ctx.cluster) };
  const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
  return () => `CPU: this process ${s(cpuMs() - from.bench)}, server ${s(ctx.server.cpuMs() - from.server)}, PostgreSQL ${s(clusterCpuMs(ctx.cluster) - from.pg)}`;
}

/** Until PostgreSQL holds `count` rows of `table`: polled, so the figure does not depend on connector internals. */
async function waitForRows(ctx: Context, table: string, count: number): Promise<void> {
  const rows = async () => Number((await ctx.sql.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  await until(async () => (await rows()) >= count, `${count} rows in ${table} (apply status ${JSON.stringify(ctx.connector.status().apply)})`, ctx.o.timeoutMs);
}

/**
 * Both directions settled (nothing of this phase still in flight during the next): the connector's
 * `quiesce` when this version has it, else `caughtUp`. Returns which one ran.
 */
async function settle(ctx: Context): Promise<string> {
  const quiesce = (ctx.connector as unknown as { quiesce?: (timeoutMs: number) => Promise<unknown> }).quiesce;
  if (typeof quiesce === 'function') {
    await quiesce.call(ctx.connector, ctx.o.timeoutMs).catch((e: Error) => {
      throw new Error(`connector.quiesce(${ctx.o.timeoutMs}) failed after the rows were in PostgreSQL: ${e.message}; status ${JSON.stringify(ctx.connector.status())}`, { cause: e });
    });
    return 'quiesce';
  }
  await ctx.connector.caughtUp(ctx.o.timeoutMs);
  return 'caughtUp';
}

/** 2. realm → PostgreSQL, next to multi-row INSERTs of the same rows. */
async function realmToDatabase(ctx: Context): Promise<Throughput> {
  const { o, sql } = ctx;
  const realm = await openClient(ctx, 'r2p', [ROW_SCHEMA('R2p')]);
  const create = (id: number) => {
    const [, n, payload, score] = rowValues(id);
    realm.create('R2p', { id, n, payload, score });
  };
  realm.write(() => create(0));
  await waitForRows(ctx, 'r2p', 1);
  await settle(ctx);

  const rawStart = performance.now();
  for (let id = 1; id <= o.rows; id += o.tx) {
    const ids = Array.from({ length: Math.min(o.tx, o.rows - id + 1) }, (_, k) => id + k);
    await sql.query(`INSERT INTO r2p_raw (id, n, payload, score) VALUES ${ids.map((_, k) => `($${4 * k + 1}, $${4 * k + 2}, $${4 * k + 3}, $${4 * k + 4})`).join(', ')}`, ids.flatMap(rowValues));
  }
  const rawSeconds = (performance.now() - rawStart) / 1000;

  const cpu = cpuMeter(ctx);
  const start = performance.now();
  for (let id = 1; id <= o.rows; id += o.tx) {
    realm.write(() => {
      for (let k = id; k <= Math.min(o.rows, id + o.tx - 1); k++) create(k);
    });
    await new Promise((r) => setImmediate(r)); // an app yields between its transactions
  }
  const written = performance.now();
  await waitForRows(ctx, 'r2p', o.rows + 1);
  const seconds = (performance.now() - start) / 1000;
  const used = cpu();
  const settledBy = await settle(ctx);
  const settled = (performance.now() - start) / 1000;
  realm.close();

  const check = await sql.query('SELECT w.id FROM r2p_raw w LEFT JOIN r2p r ON r.id = w.id WHERE r.id IS NULL OR (r.n, r.payload, r.score) IS DISTINCT FROM (w.n, w.payload, w.score)');
  if (check.rows.length > 0) throw new Error(`realm → PostgreSQL: ${check.rows.length} rows differ from the raw INSERTs (first id ${check.rows[0].id})`);
  return {
    label: `realm → PostgreSQL, ${o.tx}-object tx (rows/s)`,
    ours: o.rows / seconds,
    raw: o.rows / rawSeconds,
    note: `${o.rows} objects: writing took ${fmt((written - start) / 1000, 2)} s, all in PostgreSQL at ${fmt(seconds, 2)} s (${settledBy} returned at ${fmt(settled, 2)} s); raw INSERTs ${fmt(rawSeconds, 2)} s; until all were in PostgreSQL ${used}; apply status ${JSON.stringify(ctx.connector.status().apply)}`,
  };
}

interface Latency {
  latencies: number[];
  rate: number;
}

/** One-row transactions paced at `rate`; `arrived(id)` resolves when the observer saw the row. */
async function pacedCommits(ctx: Context, table: string, arrivals: Map<number, number>, firstId: number): Promise<Latency> {
  const { o, sql } = ctx;
  const count = Math.round(o.rate * o.seconds);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / o.rate - performance.now();
    if (wait > 1) await sleep(wait);
    await sql.query(`INSERT INTO ${table} (id, sent_at) VALUES ($1, $2)`, [firstId + i, wallNow()]);
  }
  const seconds = (performance.now() - start) / 1000;
  await until(() => [...Array(count).keys()].every((i) => arrivals.has(firstId + i)), `${count} rows of ${table} at the observer`, o.timeoutMs, 50);
  return { latencies: Array.from({ length: count }, (_, i) => arrivals.get(firstId + i)!), rate: count / seconds };
}

/** 3. Commit → client latency, next to commit → pg_recvlogical. */
async function commitToClient(ctx: Context): Promise<{ ours: Latency; raw: Latency }> {
  const { o, sql } = ctx;
  const rawArrivals = new Map<number, number>();
  await createRawSlot(ctx, 'raw_lat');
  const frames = new PgOutputFrames();
  const recv = recvLogical(ctx, 'raw_lat', 'raw_lat', '-');
  recv.child.stdout!.on('data', (chunk: Buffer) =>
    frames.push(chunk, (e) => {
      if (e.kind === 'insert') rawArrivals.set(Number(e.values[0]), wallNow() - Number(e.values[1]));
    }),
  );
  let failed: Error | null = null;
  recv.exited.catch((e) => (failed = e as Error));
  await until(async () => {
    if (failed) throw failed;
    return (await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', ['raw_lat'])).rows[0]?.active === true;
  }, 'pg_recvlogical to start streaming', o.timeoutMs);
  await sql.query('INSERT INTO lat_raw VALUES (0, $1)', [wallNow()]);
  await until(() => rawArrivals.has(0), 'the warm-up row at pg_recvlogical', o.timeoutMs);
  const raw = await pacedCommits(ctx, 'lat_raw', rawArrivals, 1);
  await stopTool(recv);
  await dropRawSlot(ctx, 'raw_lat');

  const arrivals = new Map<number, number>();
  const realm = await openClient(ctx, 'latency', [LAT_SCHEMA]);
  const results = realm.objects<{ id: number; sent_at: number }>('Lat');
  results.addListener((list, changes) => {
    const now = wallNow();
    for (const i of changes.insertions) arrivals.set(list[i].id, now - list[i].sent_at);
  });
  await sql.query('INSERT INTO lat VALUES (0, $1)', [wallNow()]);
  await until(() => arrivals.has(0), 'the warm-up row at the client', o.timeoutMs);
  const ours = await pacedCommits(ctx, 'lat', arrivals, 1);
  results.removeAllListeners();
  realm.close();
  return { ours, raw };
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const rows = flag(argv, 'rows', quick ? 2000 : 50_000);
  return {
    rows,
    tx: flag(argv, 'tx', 100),
    largeTx: Math.min(rows, flag(argv, 'large-tx', 10_000)),
    rate: flag(argv, 'rate', 200),
    seconds: flag(argv, 'seconds', quick ? 2 : 10),
    disk: argv.includes('--disk'),
    timeoutMs: quick ? 120_000 : 600_000,
    only: onlyPart(argv),
  };
}

function onlyPart(argv: string[]): Options['only'] {
  const i = argv.indexOf('--only');
  if (i < 0) return null;
  const v = argv[i + 1];
  if (v === 'p2r' || v === 'r2p' || v === 'latency') return v;
  throw new Error('--only expects p2r (PostgreSQL → realm), r2p (realm → PostgreSQL) or latency');
}

export async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const bin = findPostgresBin();
  if (!bin) throw new Error('postgres bench: no PostgreSQL binaries (install postgresql-15 or set TRIBUTARY_TEST_PG_BIN)');
  const tmp = o.disk || !fs.existsSync('/dev/shm') ? os.tmpdir() : '/dev/shm';
  console.log(
    `postgres: ${o.rows} rows per throughput figure (tx of ${o.tx} and of ${o.largeTx}), latency ${o.rate} commits/s for ${o.seconds} s; ` +
      `PostgreSQL ${path.basename(path.dirname(bin))} with fsync ${o.disk ? 'on' : 'off'}; server (child process) data and local copies in ${tmp}`,
  );
  const res = new Resources();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`postgres bench: ${signal}, stopping what it started`);
    void res.release().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const dir = fs.mkdtempSync(path.join(tmp, 'trib-bench-pg-'));
    const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
    res.add('bench directory', removeDir, removeDir);
    const cluster = await startTestCluster(bin, o.disk ? { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on' } : {});
    res.add('PostgreSQL cluster', () => stopTestCluster(cluster), () => stopTestCluster(cluster));
    const server = await startBenchServer(path.join(dir, 'server'));
    res.add('sync server', () => server.stop(), () => process.kill(server.pid, 'SIGKILL'));

    const admin = new Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('CREATE DATABASE bench');
    await admin.end();
    const dbUrl = cluster.url.replace(/\/postgres$/, '/bench');
    const sql = new Client({ connectionString: dbUrl });
    await sql.connect();
    res.add('SQL connection', () => sql.end());
    for (const t of TABLES) await sql.query(`CREATE TABLE ${t} (${t.startsWith('lat') ? 'id int PRIMARY KEY, sent_at float8 NOT NULL' : ROW_COLUMNS})`);
    await sql.query('CREATE TABLE bench_stopper (id serial PRIMARY KEY)');
    // Publications before any slot: pgoutput reads them with the catalog as of each change.
    for (const t of ['p2r_small', 'p2r_large']) await sql.query(`CREATE PUBLICATION raw_${t} FOR TABLE ${t}, bench_stopper`);
    await sql.query('CREATE PUBLICATION raw_lat FOR TABLE lat_raw');

    const adminUser = User.adminUser(readAdminToken(path.join(dir, 'server')), server.url);
    const client = await User.register(server.url, 'bench-client', 'bench-password');
    res.add('users', () => [adminUser, client].forEach((u) => u.logout()));
    const realmUrl = `realm://127.0.0.1:${server.port}`;
    const at = (name: string) => `/${client.identity}/${name}`;
    const connector = new PostgresConnector(
      {
        name: 'bench',
        database: dbUrl,
        serverUrl: realmUrl,
        localPath: path.join(dir, 'connector'),
        initialLoad: 'none',
        heartbeatIntervalMs: 0,
        tables: {
          p2r_small: { type: 'RowSmall', realm: at('p2r_small') },
          p2r_large: { type: 'RowLarge', realm: at('p2r_large') },
          r2p: { type: 'R2p', realm: at('r2p') },
          lat: { type: 'Lat', realm: at('latency') },
        },
      },
      { adminUser },
    );
    await connector.start();
    res.add('connector', () => connector.stop());
    const ctx: Context = { o, res, cluster, dbUrl, sql, connector, client, dir, realmUrl, server };

    const throughput: Throughput[] = [];
    const phase = (name: string) => console.log(`  ${name} …`);
    const runs = (part: NonNullable<Options['only']>) => o.only === null || o.only === part;
    if (runs('p2r')) {
      phase(`PostgreSQL → realm, ${o.tx}-row transactions`);
      throughput.push(await databaseToRealm(ctx, 'p2r_small', 'RowSmall', o.tx));
      phase(`PostgreSQL → realm, ${o.largeTx}-row transactions`);
      throughput.push(await databaseToRealm(ctx, 'p2r_large', 'RowLarge', o.largeTx));
    }
    if (runs('r2p')) {
      phase('realm → PostgreSQL');
      throughput.push(await realmToDatabase(ctx));
    }
    let latency: { ours: Latency; raw: Latency } | null = null;
    if (runs('latency')) {
      phase('commit → client latency');
      latency = await commitToClient(ctx);
    }
    const s = connector.status();

    console.log('');
    for (const t of throughput) console.log(`${t.label}: ${t.note}`);
    const l = (x: Latency) => [...x.latencies].sort((a, b) => a - b);
    const [ours, raw] = latency ? [l(latency.ours), l(latency.raw)] : [[], []];
    if (latency) console.log(`commit → client: ${ours.length} one-row commits at ${fmt(latency.ours.rate, 0)}/s (pg_recvlogical run: ${fmt(latency.raw.rate, 0)}/s); max ${fmt(ours[ours.length - 1], 1)} ms (raw ${fmt(raw[raw.length - 1], 1)} ms)`);
    console.log(`connector: ${s.transactions} source transactions captured, ${s.skippedOwnTransactions} own skipped, state ${s.state}, last error ${s.lastError ?? 'none'}`);
    console.log('');
    console.log('                                            connector          raw    ratio');
    for (const t of throughput) console.log(`${t.label.padEnd(42)} ${fmt(t.ours, 0).padStart(10)} ${fmt(t.raw, 0).padStart(12)}   ${fmt(t.ours / t.raw, 3)}`);
    for (const p of latency ? [50, 95, 99] : []) {
      const a = percentile(ours, p);
      const b = percentile(raw, p);
      console.log(`${`commit → client p${p} (ms)`.padEnd(42)} ${fmt(a, 2).padStart(10)} ${fmt(b, 2).padStart(12)}   ${fmt(a / b, 2)}`);
    }
    console.log('(raw: pg_recvlogical for PostgreSQL → realm and latency, multi-row INSERTs with pg for realm → PostgreSQL; latency ratio of p50 is the ratio of medians)');
  } finally {
    await res.release();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

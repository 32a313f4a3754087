import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Double, Int32, MongoClient, type Db, type Timestamp } from 'mongodb';
import { MongoConnector } from '../connectors/mongodb';
import { User } from '../src/client';
import { Realm } from '../src/realm';
import { readAdminToken } from '../src/server';
import { startMongoTestServer, type MongoTestServer } from '../test/mongo-server';
import { startBenchServer } from './server-process';
import { flag, fmt } from './stats';

/**
 * The MongoDB connector (connectors/mongodb) against raw driver paths measured in the same run, on
 * the wire-level test server (test/mongo-server, in this process) or MONGO_URL, with a
 * `tributary serve` child:
 *
 * 1. MongoDB → realm: N documents inserted in transactions of `--tx` (insertMany in
 *    session.withTransaction), timed from the first insert until `caughtUp()` resolves. Baselines
 *    of the same run: the raw driver's inserts of the same documents (the write side), and a raw
 *    change-stream read of those N events (`watch` from the cluster time before the inserts until
 *    N events arrived: what capture reads at the least).
 * 2. realm → MongoDB: a synced client writes N objects in realm transactions of `--tx`, timed
 *    from the first write until the collection holds them all. Baseline: the raw driver's
 *    transactional insertMany of the same documents.
 *
 * Against the test server this measures the connector's own cost (BSON decoding, grouping, realm
 * writes and acknowledgements, apply transactions with their barriers) relative to the driver on
 * the same in-memory server; it does not measure a real mongod's storage, journaling, replication
 * or network, and the server shares this process's CPU with the connector.
 */

const doc = (id: number) => ({ _id: new Int32(id), n: new Int32(id % 1000), payload: `payload ${id} ${'x'.repeat(32)}`, score: new Double(id * 0.5) });
const SCHEMA = { _id: 'int', n: 'int', payload: 'string', score: 'double' };

async function insertAll(client: MongoClient, db: Db, coll: string, from: number, count: number, tx: number): Promise<void> {
  const session = client.startSession();
  try {
    for (let i = 0; i < count; i += tx) {
      const docs = Array.from({ length: Math.min(tx, count - i) }, (_, k) => doc(from + i + k));
      await session.withTransaction(() => db.collection<{ _id: Int32 }>(coll).insertMany(docs, { session }));
    }
  } finally {
    await session.endSession();
  }
}

async function clusterTime(client: MongoClient): Promise<Timestamp> {
  const s = client.startSession();
  await client.db('admin').command({ ping: 1 }, { session: s });
  const t = s.operationTime!;
  await s.endSession();
  return t;
}

export async function main(argv: string[]): Promise<void> {
  const rows = flag(argv, 'rows', 5000);
  const tx = flag(argv, 'tx', 100);
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tributary-bench-mongo-'));
  let mongoServer: MongoTestServer | null = null;
  const url = process.env.MONGO_URL ?? (mongoServer = await startMongoTestServer()).url;
  console.log(`mongodb: ${rows} documents per figure in transactions of ${tx}, against ${mongoServer ? 'the wire-level test server (in this process)' : 'MONGO_URL'}; sync server: a child process, data in ${dir}`);
  const server = await startBenchServer(path.join(dir, 'server'));
  const client = new MongoClient(url);
  let connector: MongoConnector | null = null;
  const realms: Realm[] = [];
  const users: User[] = [];
  try {
    await client.connect();
    const db = client.db('tributary_bench');
    await db.dropDatabase();
    for (const c of ['m2r', 'r2m', 'raw_insert', 'raw_r2m']) await db.createCollection(c);
    const admin = User.adminUser(readAdminToken(path.join(dir, 'server')), server.url);
    users.push(admin);
    const realmUrl = `realm://127.0.0.1:${server.port}`;
    connector = new MongoConnector(
      { name: 'bench', url, database: 'tributary_bench', serverUrl: realmUrl, localPath: path.join(dir, 'connector'), initialLoad: 'none', tables: { m2r: { type: 'M2r', realm: '/bench/m2r' }, r2m: { type: 'R2m', realm: '/bench/r2m' } }, schema: { m2r: SCHEMA, r2m: SCHEMA } },
      { adminUser: admin },
    );
    await connector.start();

    // 1. MongoDB → realm
    console.log('  MongoDB → realm …');
    const rawWrite0 = performance.now();
    await insertAll(client, db, 'raw_insert', 0, rows, tx);
    const rawWrite = rows / ((performance.now() - rawWrite0) / 1000);
    const before = await clusterTime(client);
    const t0 = performance.now();
    await insertAll(client, db, 'm2r', 0, rows, tx);
    await connector.caughtUp(600_000);
    const m2r = rows / ((performance.now() - t0) / 1000);
    const stream = db.collection('m2r').watch([], { startAtOperationTime: before });
    const s0 = performance.now();
    let seen = 0;
    while (seen < rows) if (await stream.next()) seen++;
    const rawRead = rows / ((performance.now() - s0) / 1000);
    await stream.close();
    const check = await Realm.open({ sync: { user: admin, url: realmUrl + '/bench/m2r' }, path: path.join(dir, 'clients', 'm2r.db') });
    realms.push(check);
    await check.syncSession!.downloadAllServerChanges(120_000);
    if (check.objects('M2r').length !== rows) throw new Error(`the realm holds ${check.objects('M2r').length} objects, not ${rows}`);

    // 2. realm → MongoDB
    console.log('  realm → MongoDB …');
    const writer = await Realm.open({ sync: { user: admin, url: realmUrl + '/bench/r2m' }, path: path.join(dir, 'clients', 'r2m.db') });
    realms.push(writer);
    await writer.syncSession!.downloadAllServerChanges(60_000);
    const r0 = performance.now();
    for (let i = 0; i < rows; i += tx) {
      writer.write(() => {
        for (let k = i; k < Math.min(rows, i + tx); k++) writer.create('R2m', { _id: k, n: k % 1000, payload: `payload ${k} ${'x'.repeat(32)}`, score: k * 0.5 });
      });
    }
    while ((await db.collection('r2m').countDocuments()) < rows) await new Promise((r) => setTimeout(r, 20));
    const r2m = rows / ((performance.now() - r0) / 1000);
    const raw0 = performance.now();
    await insertAll(client, db, 'raw_r2m', 0, rows, tx);
    const rawR2m = rows / ((performance.now() - raw0) / 1000);

    const s = connector.status();
    console.log('');
    console.log(`connector: ${s.transactions} source transactions captured, ${s.skippedOwnTransactions} own skipped, ${s.apply?.applied} realm transactions applied in ${s.apply?.batches} MongoDB transactions, state ${s.state}`);
    console.log('                                                 connector (docs/s)   raw (docs/s)   ratio');
    const line = (label: string, ours: number, raw: number) => console.log(`${label.padEnd(48)} ${fmt(ours, 0).padStart(12)} ${fmt(raw, 0).padStart(14)}   ${fmt(ours / raw, 3)}`);
    line('MongoDB → realm vs raw change-stream read', m2r, rawRead);
    line('MongoDB → realm vs raw driver inserts', m2r, rawWrite);
    line('realm → MongoDB vs raw driver inserts', r2m, rawR2m);
    console.log('(raw: the mongodb driver on the same server in the same run; MongoDB → realm is timed from the first insert to caughtUp, so it includes the inserts)');
  } finally {
    for (const r of realms) if (!r.isClosed) r.close();
    await connector?.stop().catch(() => undefined);
    for (const u of users) u.logout();
    await client.close(true).catch(() => undefined);
    await server.stop();
    await mongoServer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

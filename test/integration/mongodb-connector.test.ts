import * as fs from 'node:fs';
import * as path from 'node:path';
import { Binary, Decimal128 as BsonDecimal, Double, Int32, Long, MongoClient, ObjectId as BsonObjectId, UUID as BsonUUID, type Db } from 'mongodb';
import { MongoConnector } from '../../connectors/mongodb';
import { mongodbModule } from '../../connectors/mongodb/module';
import { STATE_TYPE } from '../../connectors/kit/position';
import { Decimal128, ObjectId, UUID } from '../../src/model';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { startMongoTestServer } from '../mongo-server';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { tributary, type Run } from '../helpers/cli-run';
import { onTestServer, openMongoTarget, type MongoTarget } from '../helpers/mongo-target';

/**
 * The MongoDB connector's own tests (the conformance suite covers the rest): the type table both
 * ways, the resync after ChangeStreamHistoryLost, a standalone server, the echo guard (a test that
 * fails with the guard off), schema inference with conflicts and fields that do not fit, and URL
 * passwords kept out of errors.
 */

let fx: AdminFixture;
let target: MongoTarget;
let client: MongoClient;
let db: Db;
const started: MongoConnector[] = [];
const realms: Realm[] = [];
const logs: string[] = [];
const log = new JsonLogger("warn", {}, (line) => { logs.push(line); if (process.env.DEBUG_MONGO) process.stderr.write(line + "\n"); });
let n = 0;

beforeAll(async () => {
  fx = await adminFixture();
  target = await openMongoTarget('connector');
  client = await target.client();
  db = client.db(target.dbName);
});

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => undefined);
  for (const r of realms) if (!r.isClosed) r.close();
  await target.close();
  await fx.dispose();
});

function config(name: string, extra: Record<string, unknown>, url = target.url): Record<string, unknown> {
  return { name, url, database: target.dbName, serverUrl: fx.realmUrl, adminToken: fx.adminToken, localPath: path.join(fx.dir, `mongo-${name}`), ...extra };
}

async function start(c: Record<string, unknown>, options: { echoGuard?: boolean } = {}): Promise<MongoConnector> {
  const connector = new MongoConnector(c as never, { log, ...options });
  started.push(connector);
  await connector.start();
  return connector;
}

async function realm(realmPath: string): Promise<Realm> {
  const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + realmPath }, path: path.join(fx.dir, 'clients', `m${n++}.db`) });
  realms.push(r);
  await r.syncSession!.downloadAllServerChanges(60_000);
  return r;
}

describe('types', () => {
  test('every BSON type of the type table reaches the realm as its documented realm type, and comes back as the same BSON type', async () => {
    const oid = new BsonObjectId();
    const uuid = new BsonUUID();
    await db.createCollection('typed');
    await db.collection<any>('typed').insertOne({
      _id: new Int32(1),
      i32: new Int32(7),
      i64: Long.fromString('1099511627776'),
      dbl: new Double(2.5),
      whole: new Double(3),
      str: 'ü字',
      flag: true,
      at: new Date(Date.UTC(2024, 1, 2, 3, 4, 5, 678)),
      oid,
      dec: BsonDecimal.fromString('12345.678901234567890'),
      bin: new Binary(Buffer.from([1, 2, 3])),
      uuid,
      nested: { a: new Int32(1), b: [{ c: 'x' }], when: new Date(0), id: oid },
      tags: ['a', 'b'],
      nums: [new Int32(1), new Int32(2)],
    });
    const connector = await start(config('types', { realm: '/mongo/types', tables: { typed: { type: 'Typed' } } }));
    const r = await realm('/mongo/types');
    const o = r.objectForPrimaryKey<Record<string, unknown>>('Typed', 1)!;
    const props = Object.fromEntries(Object.entries(r.schema.find((s) => s.name === 'Typed')!.properties).map(([k, p]) => [k, p.type === 'list' ? `${p.objectType}[]` : p.type]));
    expect(props).toEqual({ _id: 'int', i32: 'int', i64: 'int', dbl: 'double', whole: 'double', str: 'string', flag: 'bool', at: 'date', oid: 'objectId', dec: 'decimal128', bin: 'data', uuid: 'uuid', nested: 'string', tags: 'string[]', nums: 'int[]' });
    expect(o.i32).toBe(7);
    expect(o.i64).toBe(1099511627776);
    expect(o.dbl).toBe(2.5);
    expect(o.whole).toBe(3);
    expect((o.at as Date).toISOString()).toBe('2024-02-02T03:04:05.678Z');
    expect((o.oid as ObjectId).hex).toBe(oid.toHexString());
    expect((o.dec as Decimal128).value).toBe(BsonDecimal.fromString('12345.678901234567890').toString());
    expect([...(o.bin as Uint8Array)]).toEqual([1, 2, 3]);
    expect((o.uuid as UUID).toString()).toBe(uuid.toHexString(true));
    expect(JSON.parse(o.nested as string)).toEqual({ a: { $numberInt: '1' }, b: [{ c: 'x' }], when: { $date: { $numberLong: '0' } }, id: { $oid: oid.toHexString() } });
    expect([...(o.tags as string[])]).toEqual(['a', 'b']);

    // The realm changes every property; each arrives in MongoDB as the same BSON type.
    r.write(() => {
      o.i32 = 8;
      o.i64 = 2 ** 41;
      o.dbl = 4;
      o.str = 'changed';
      o.at = new Date(Date.UTC(2030, 0, 1));
      o.oid = new ObjectId('0123456789abcdef01234567');
      o.dec = new Decimal128('0.1');
      o.bin = new Uint8Array([9]);
      o.uuid = new UUID('00112233-4455-6677-8899-aabbccddeeff');
      o.nested = JSON.stringify({ a: { $numberLong: '5' }, deep: { x: { $numberDecimal: '1.5' } } });
      (o.tags as string[]).push('c');
      r.create('Typed', { _id: 2, i32: 1, dbl: 1, str: 'new', flag: false, nums: [3] });
    });
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    const d = (await db.collection<any>('typed').findOne({ _id: 1 as never }, { promoteValues: false }))!;
    const kind = (v: unknown) => (v as { _bsontype?: string })?._bsontype ?? (v instanceof Date ? 'Date' : typeof v);
    expect(Object.fromEntries(['i32', 'i64', 'dbl', 'whole', 'str', 'flag', 'at', 'oid', 'dec', 'bin', 'uuid'].map((k) => [k, kind(d[k])]))).toEqual({ i32: 'Int32', i64: 'Long', dbl: 'Double', whole: 'Double', str: 'string', flag: 'boolean', at: 'Date', oid: 'ObjectId', dec: 'Decimal128', bin: 'Binary', uuid: 'Binary' });
    expect([Number(d.i32), Number(d.i64), Number(d.dbl), d.str, (d.at as Date).toISOString()]).toEqual([8, 2 ** 41, 4, 'changed', '2030-01-01T00:00:00.000Z']);
    expect((d.oid as BsonObjectId).toHexString()).toBe('0123456789abcdef01234567');
    expect((d.dec as BsonDecimal).toString()).toBe('0.1');
    expect((d.uuid as Binary).sub_type).toBe(4);
    expect(Buffer.from((d.uuid as Binary).buffer).toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect([...(d.bin as Binary).buffer]).toEqual([9]);
    expect(kind((d.nested as Record<string, unknown>).a)).toBe('Long');
    expect(kind(((d.nested as Record<string, Record<string, unknown>>).deep!).x)).toBe('Decimal128');
    expect(d.tags).toEqual(['a', 'b', 'c']);
    const two = (await db.collection<any>('typed').findOne({ _id: 2 as never }, { promoteValues: false }))!;
    expect({ id: kind(two._id), i32: kind(two.i32), dbl: kind(two.dbl), nums: (two.nums as unknown[]).map(kind) }).toEqual({ id: 'Int32', i32: 'Int32', dbl: 'Double', nums: ['Int32'] });
    await connector.stop();
  }, 120_000);
});

describe('lists', () => {
  test('realm list edits reach MongoDB as positional array updates ($push with $position, $set of an index, $unset + $pull); an array they cannot be replayed on exactly is written whole', async () => {
    await db.createCollection('listy');
    await db.collection<any>('listy').insertMany([
      { _id: new Int32(1), tags: ['a', 'b', 'c'], nums: [new Int32(1), new Int32(2), new Int32(3)], other: 'kept' },
      { _id: new Int32(2), tags: ['p', null, 'q'], nums: [] },
    ]);
    const connector = await start(config('listy', { realm: '/mongo/listy', tables: { listy: { type: 'Listy' } } }));
    const r = await realm('/mongo/listy');
    const o = r.objectForPrimaryKey<Record<string, any>>('Listy', 1)!;
    r.write(() => {
      o.tags.push('d'); // [a b c d]
      o.tags.splice(1, 1); // [a c d]
      o.tags[0] = 'A'; // [A c d]
      o.tags.splice(0, 0, 'z'); // [z A c d]
      o.nums.move(2, 0); // [3 1 2]
    });
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    const d = (await db.collection<any>('listy').findOne({ _id: 1 }, { promoteValues: false }))!;
    expect({ tags: d.tags, nums: d.nums.map((x: Int32) => [x._bsontype, Number(x)]), other: d.other }).toEqual({ tags: ['z', 'A', 'c', 'd'], nums: [['Int32', 3], ['Int32', 1], ['Int32', 2]], other: 'kept' });
    expect(connector.status().lists).toEqual({ positional: 2, whole: 0 });

    // An assignment travels as list instructions (a clear, inserts): positional too.
    r.write(() => (o.tags = ['x', 'y']));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect((await db.collection<any>('listy').findOne({ _id: 1 }))!.tags).toEqual(['x', 'y']);
    expect(connector.status().lists).toEqual({ positional: 3, whole: 0 });

    // An erase in an array holding nulls cannot be a positional $unset + $pull of null: the array is written whole.
    const two = r.objectForPrimaryKey<Record<string, any>>('Listy', 2)!;
    r.write(() => two.tags.splice(0, 1));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect((await db.collection<any>('listy').findOne({ _id: 2 }))!.tags).toEqual([null, 'q']);
    expect(connector.status().lists).toEqual({ positional: 3, whole: 1 });

    // The database edits the same array meanwhile: both sides end with the same list.
    await db.collection<any>('listy').updateOne({ _id: 1 }, { $push: { tags: 'from mongo' } } as never);
    r.write(() => o.tags.push('from realm'));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await r.syncSession!.downloadAllServerChanges(60_000);
    const final = (await db.collection<any>('listy').findOne({ _id: 1 }))!.tags;
    expect([...o.tags]).toEqual(final);
    expect(final).toEqual(expect.arrayContaining(['x', 'y', 'from mongo']));

    // MongoDB's own array edits (an index set, a $pop that truncates) reach the realm list whole.
    await db.collection<any>('listy').updateOne({ _id: 1 }, { $set: { 'tags.0': 'first' } });
    await db.collection<any>('listy').updateOne({ _id: 1 }, { $pop: { tags: 1 } } as never);
    await connector.quiesce(60_000);
    await r.syncSession!.downloadAllServerChanges(60_000);
    const popped = (await db.collection<any>('listy').findOne({ _id: 1 }))!.tags;
    expect(popped).toEqual(['first', ...final.slice(1, -1)]);
    expect([...o.tags]).toEqual(popped);
    await connector.stop();
  }, 120_000);
});

describe('conflicts', () => {
  test("database-wins: a database update of an object with unapplied realm changes brings the document's values, also of fields its $set left unchanged", async () => {
    await db.createCollection('race');
    await db.collection<any>('race').insertOne({ _id: new Int32(1), label: 'start', flag: false });
    const c = config('race', { realm: '/mongo/race', tables: { race: { type: 'Race' } }, schema: { race: { _id: 'int', label: 'string?', flag: 'bool?' } } });
    let connector = await start(c);
    const r = await realm('/mongo/race');
    await connector.quiesce(60_000);
    await connector.stop();
    r.write(() => Object.assign(r.objectForPrimaryKey<Record<string, unknown>>('Race', 1)!, { label: 'realm', flag: true }));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await db.collection<any>('race').updateOne({ _id: 1 }, { $set: { label: 'db', flag: false } }); // flag unchanged: not in the change event
    connector = await start(c);
    await connector.quiesce(60_000);
    await r.syncSession!.downloadAllServerChanges(60_000);
    expect(await db.collection<any>('race').findOne({ _id: 1 })).toEqual({ _id: 1, label: 'db', flag: false });
    expect(r.objectForPrimaryKey<Record<string, unknown>>('Race', 1)).toMatchObject({ label: 'db', flag: false });
    await connector.stop();
  }, 120_000);
});

describe('a process killed in an apply transaction', () => {
  test('the next start kills the sessions an earlier run recorded, so the transaction it left open does not block the realm for transactionLifetimeLimitSeconds', async () => {
    await db.createCollection('orphan');
    await db.collection<any>('orphan').insertOne({ _id: new Int32(1), label: 'one' });
    const c = config('orphan', { realm: '/mongo/orphan', tables: { orphan: { type: 'Orphan' } }, schema: { orphan: { _id: 'int', label: 'string?' } } });
    let connector = await start(c);
    const r = await realm('/mongo/orphan');
    r.write(() => (r.objectForPrimaryKey<Record<string, unknown>>('Orphan', 1)!.label = 'applied'));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await connector.stop();
    // What a SIGKILLed life leaves behind: its session's transaction open on the apply position, its lsid recorded.
    const dead = await target.client();
    const session = dead.startSession();
    session.startTransaction();
    await dead.db(target.dbName).collection<any>('tributary_apply_positions').updateOne({ _id: 'orphan:/mongo/orphan' }, { $set: { txn: -1 } }, { session });
    await dead.db(target.dbName).collection<any>('tributary_markers').updateOne({ _id: 'sessions:orphan' }, { $addToSet: { ids: session.id!.id } }, { upsert: true });
    r.write(() => (r.objectForPrimaryKey<Record<string, unknown>>('Orphan', 1)!.label = 'after the crash'));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    connector = await start(c);
    await connector.quiesce(15_000); // far below the 60 s transaction lifetime that would otherwise free the position
    expect(await db.collection<any>('orphan').findOne({ _id: 1 })).toEqual({ _id: 1, label: 'after the crash' });
    await expect(session.commitTransaction()).rejects.toMatchObject({ code: 251 }); // NoSuchTransaction: it was aborted
    await connector.stop();
  }, 120_000);
});

describe('a large transaction', () => {
  test('past spillThreshold its events spill to disk (types kept) and it is still one realm transaction per realm', async () => {
    await db.createCollection('bulk');
    const c = config('bulk', { realm: '/mongo/bulk/{zone}', spillThreshold: 5, tables: { bulk: { type: 'Bulk' } }, schema: { bulk: { _id: 'int', zone: 'int', n: 'int', x: 'double', d: 'decimal128?' } } });
    const connector = await start(c);
    const realms = [await realm('/mongo/bulk/1'), await realm('/mongo/bulk/2')];
    const seen = realms.map(() => [] as number[]);
    // The counts each realm showed: all 15 objects at once (a schema-only change first, which
    // arrives on its own under load, shows no new count).
    realms.forEach((r, i) =>
      r.addListener('change', () => {
        const n = r.objects('Bulk').length;
        if (n !== (seen[i]!.at(-1) ?? 0)) seen[i]!.push(n);
      }),
    );
    const session = client.startSession();
    await session.withTransaction(() => db.collection<any>('bulk').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: new Int32(i), zone: new Int32(1 + (i % 2)), n: Long.fromNumber(i), x: new Double(i), d: BsonDecimal.fromString(`${i}.5`) })), { session }));
    await session.endSession();
    await connector.quiesce(60_000);
    for (const r of realms) await r.syncSession!.downloadAllServerChanges(60_000);
    expect(seen).toEqual([[15], [15]]);
    expect(connector.status()).toMatchObject({ spilledTransactions: 1 });
    const o = realms[1]!.objectForPrimaryKey<Record<string, unknown>>('Bulk', 29)!;
    expect({ n: o.n, x: o.x, d: String(o.d) }).toEqual({ n: 29, x: 29, d: '29.5' });
    await connector.stop();
  }, 120_000);
});

describe('links', () => {
  test('a reference field with a link property: the link points at the referenced object, and setting it writes the referenced _id', async () => {
    await db.createCollection('lshop');
    await db.createCollection('litem');
    const [s1, s2] = [new BsonObjectId(), new BsonObjectId()];
    await db.collection<any>('lshop').insertMany([{ _id: s1, name: 'one' }, { _id: s2, name: 'two' }]);
    await db.collection<any>('litem').insertOne({ _id: new Int32(1), shop_id: s1, label: 'item' });
    const connector = await start(config('links', { realm: '/mongo/links', tables: { lshop: { type: 'LShop' }, litem: { type: 'LItem', references: { shop_id: 'lshop' }, links: { shop_id: 'shop' } } } }));
    const r = await realm('/mongo/links');
    const item = r.objectForPrimaryKey<Record<string, any>>('LItem', 1)!;
    expect(item.shop.name).toBe('one');
    expect(Object.keys(r.schema.find((x) => x.name === 'LItem')!.properties).sort()).toEqual(['_id', 'label', 'shop']);
    r.write(() => (item.shop = r.objectForPrimaryKey('LShop', new ObjectId(s2.toHexString()))));
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect(((await db.collection<any>('litem').findOne({ _id: 1 }))!.shop_id as BsonObjectId).toHexString()).toBe(s2.toHexString());
    await db.collection<any>('litem').updateOne({ _id: 1 }, { $set: { shop_id: s1 } });
    await connector.quiesce(60_000);
    await r.syncSession!.downloadAllServerChanges(60_000);
    expect(item.shop.name).toBe('one');
    await connector.stop();
  }, 120_000);
});

describe('schema', () => {
  test('inferred from a sample with conflicts reported; values that do not fit and fields without a property are counted and kept in MongoDB', async () => {
    await db.createCollection('loose');
    await db.collection<any>('loose').insertMany([
      { _id: 'a', qty: new Int32(1), label: 'one' },
      { _id: 'b', qty: new Int32(2), label: 'two' },
      { _id: 'c', qty: 'three', label: 'three' },
    ]);
    const connector = await start(config('loose', { realm: '/mongo/loose', schemaChanges: { addProperties: false }, tables: { loose: { type: 'Loose' } } }));
    const s = connector.status();
    expect(s.fields.conflicts).toEqual([{ collection: 'loose', field: 'qty', seen: { 'int?': 2, 'string?': 1 }, chosen: 'int?' }]);
    expect(s.fields.unfit).toBe(1);
    expect(s.warnings.join('\n')).toMatch(/loose\.qty: a string value does not fit property Loose\.qty/);
    const r = await realm('/mongo/loose');
    expect(r.objectForPrimaryKey<Record<string, unknown>>('Loose', 'c')).toMatchObject({ _id: 'c', qty: null, label: 'three' });
    await db.collection<any>('loose').insertOne({ _id: 'd', label: 'four', extra: 'not mapped' });
    await connector.quiesce(60_000);
    expect(connector.status().fields.unmapped).toBe(1);
    // A realm edit of another property leaves the unfit value and the unmapped field in MongoDB.
    await r.syncSession!.downloadAllServerChanges(60_000);
    r.write(() => {
      r.objectForPrimaryKey<Record<string, unknown>>('Loose', 'c')!.label = 'THREE';
      r.objectForPrimaryKey<Record<string, unknown>>('Loose', 'd')!.label = 'FOUR';
    });
    await r.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect(await db.collection<any>('loose').find({ _id: { $in: ['c', 'd'] } as never }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'c', qty: 'three', label: 'THREE' },
      { _id: 'd', label: 'FOUR', extra: 'not mapped' },
    ]);
    await connector.stop();
  }, 120_000);
});

describe('echo guard', () => {
  const run = async (guard: boolean) => {
    const coll = `echo_${guard ? 'on' : 'off'}`;
    await db.createCollection(coll);
    await db.collection<any>(coll).insertOne({ _id: new Int32(1), name: 'first' });
    const realmPath = `/mongo/${coll}`;
    const connector = await start(config(coll, { realm: realmPath, tables: { [coll]: { type: 'Echo' } }, schema: { [coll]: { _id: 'int', name: 'string?' } } }), { echoGuard: guard });
    const observer = await realm(realmPath);
    const position = () => observer.objectForPrimaryKey<{ resumeFrom: string }>(STATE_TYPE, coll)?.resumeFrom ?? null;
    await connector.quiesce(60_000);
    await observer.syncSession!.downloadAllServerChanges(60_000);
    const before = { status: connector.status(), position: position() };
    const writer = await realm(realmPath);
    for (let i = 0; i < 3; i++) {
      writer.write(() => (writer.objectForPrimaryKey<Record<string, unknown>>('Echo', 1)!.name = `realm ${i}`));
      await writer.syncSession!.uploadAllLocalChanges(60_000);
    }
    await connector.quiesce(60_000);
    await observer.syncSession!.downloadAllServerChanges(60_000);
    const after = connector.status();
    const ownSessions = connector.ownSessions.length;
    await connector.stop();
    return { captured: after.transactions - after.skippedOwnTransactions - (before.status.transactions - before.status.skippedOwnTransactions), own: after.skippedOwnTransactions - before.status.skippedOwnTransactions, positionMoved: position() !== before.position, ownSessions };
  };

  test("the connector's own transactions (its apply sessions' lsid/txnNumber, carrying its apply position) are not captured back", async () => {
    const on = await run(true);
    expect(on).toMatchObject({ captured: 0, positionMoved: false });
    expect(on.own).toBeGreaterThanOrEqual(1);
    expect(on.ownSessions).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('with the guard off the same writes come back into the realm (what the guard prevents)', async () => {
    const off = await run(false);
    expect(off.captured).toBeGreaterThanOrEqual(1);
    expect(off.positionMoved).toBe(true);
    expect(off.own).toBe(0);
  }, 120_000);
});

describe('deployment', () => {
  onTestServer('a standalone server is refused with MONGO_REPLICA_SET_REQUIRED, saying a replica set is needed (start and testConnection)', async () => {
    const standalone = await startMongoTestServer({ standalone: true });
    try {
      const c = config('standalone', { realm: '/mongo/standalone', tables: { thing: {} } }, standalone.url);
      const connector = new MongoConnector(c as never, { log });
      const e = (await connector.start().then(() => null, (x: unknown) => x)) as { code: string; message: string };
      expect(e).toMatchObject({ code: 'MONGO_REPLICA_SET_REQUIRED' });
      expect(e.message).toMatch(/replica set.*--replSet rs0.*rs\.initiate\(\)/);
      expect(mongodbModule.classify(e)).toBe('permanent');
      const t = await mongodbModule.testConnection(c);
      expect(t.checks.map((x) => [x.name, x.ok, x.code ?? null])).toEqual([
        ['database', true, null],
        ['replica set', false, 'MONGO_REPLICA_SET_REQUIRED'],
      ]);
    } finally {
      await standalone.stop();
    }
  }, 60_000);

  test('a password in the URL is never in an error or a log line', async () => {
    logs.length = 0;
    const c = config('secret', { realm: '/mongo/secret', tables: { thing: {} } }, 'mongodb://reader:s3cr3t-pw@127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=300');
    const connector = new MongoConnector(c as never, { log });
    const e = (await connector.start().then(() => null, (x: unknown) => x)) as Error & { code: string };
    expect(e.code).toBe('CONNECTOR_SOURCE_UNAVAILABLE');
    expect(e.message).toContain('mongodb://reader:***@127.0.0.1:1');
    expect(e.message + logs.join('\n')).not.toContain('s3cr3t');
    expect(connector.status().lastError).not.toContain('s3cr3t');
  }, 30_000);
});

describe('resync', () => {
  onTestServer('a resume point older than the oplog (ChangeStreamHistoryLost, 286) re-loads the collections: counted, no crash loop, deletes and moves included', async () => {
    const small = await startMongoTestServer({ oplogSize: 40 });
    const c2 = new MongoClient(small.url);
    try {
      const sdb = c2.db('resync');
      await sdb.createCollection('note');
      await sdb.collection<any>('note').insertMany([1, 2, 3, 4].map((i) => ({ _id: new Int32(i), zone: new Int32(1 + (i % 2)), body: `note ${i}` })));
      const c = { ...config('resync', { realm: '/mongo/resync/{zone}', tables: { note: { type: 'Note' } }, schema: { note: { _id: 'int', zone: 'int', body: 'string?' } } }, small.url), database: 'resync' };
      let connector = await start(c);
      await connector.quiesce(60_000);
      await connector.stop();
      // While it is stopped: a delete, a move, an update, then enough writes to push them out of the oplog.
      await sdb.collection<any>('note').deleteOne({ _id: new Int32(1) as never });
      await sdb.collection<any>('note').updateOne({ _id: new Int32(2) as never }, { $set: { zone: new Int32(2), body: 'moved' } });
      await sdb.collection<any>('note').insertOne({ _id: new Int32(5), zone: new Int32(1), body: 'new' });
      for (let i = 0; i < 60; i++) await sdb.collection('filler').insertOne({ i });
      connector = await start(c);
      expect(connector.status()).toMatchObject({ state: 'streaming', resyncs: 1 });
      expect(logs.join('\n')).toMatch(/history is lost/);
      await sdb.collection<any>('note').updateOne({ _id: new Int32(3) as never }, { $set: { body: 'after' } });
      await connector.quiesce(60_000);
      const z1 = await realm('/mongo/resync/1');
      const z2 = await realm('/mongo/resync/2');
      const ids = (r: Realm) => r.objects<Record<string, unknown>>('Note').map((o) => [o._id, o.body]).sort();
      expect({ z1: ids(z1), z2: ids(z2) }).toEqual({ z1: [[4, 'note 4'], [5, 'new']], z2: [[2, 'moved'], [3, 'after']] });
      expect(connector.status().resyncs).toBe(1);
      await connector.stop();
    } finally {
      await c2.close(true);
      await small.stop();
    }
  }, 120_000);
});

describe('CLI', () => {
  test('tributary connector mongodb test | run (until SIGTERM, exit 0) | status | reset, from a config file', async () => {
    await db.createCollection('clithing');
    await db.collection<any>('clithing').insertOne({ _id: new Int32(1), label: 'one' });
    const dir = fs.mkdtempSync(path.join(fx.dir, 'cli-'));
    const file = path.join(dir, 'connector.json');
    fs.writeFileSync(file, JSON.stringify({ ...config('cli', { realm: '/mongo/cli', tables: { clithing: { type: 'CliThing' } } }), localPath: './local' }));
    const t = await tributary(['connector', 'mongodb', 'test', '--config', file]);
    expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
    expect(t.stdout.split('\n').filter(Boolean).map((l) => l.split(/ {2,}/).slice(0, 2))).toEqual([
      ['ok', 'database'],
      ['ok', 'replica set'],
      ['ok', 'mapping'],
      ['ok', 'sync server'],
    ]);
    let status: Run | null = null;
    const run = await tributary(['connector', 'mongodb', '--config', file], {
      onStdout: (out, child) => {
        if (!/"msg":"mongodb connector streaming"/.test(out) || status) return;
        status = { code: null, signal: null, stdout: '', stderr: '' };
        void (async () => {
          const r = await realm('/mongo/cli');
          r.write(() => (r.objectForPrimaryKey<Record<string, unknown>>('CliThing', 1)!.label = 'from the realm'));
          await r.syncSession!.uploadAllLocalChanges(30_000);
          for (let i = 0; i < 200 && (await db.collection<any>('clithing').findOne({ _id: 1 }))!.label !== 'from the realm'; i++) await new Promise((res) => setTimeout(res, 50));
          status = await tributary(['connector', 'mongodb', 'status', '--config', file]);
          child.kill('SIGTERM');
        })();
      },
    });
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(run.stdout).toMatch(/"msg":"mongodb connector stopped"/);
    expect(status!.code).toBe(0);
    expect(status!.stdout).toMatch(/^apply positions: $/m);
    expect(status!.stdout).toMatch(/^ {2}\/mongo\/cli {2}txn \d+$/m);
    expect(status!.stdout).toMatch(/^dead letters: 0$/m);
    const reset = await tributary(['connector', 'mongodb', 'reset', '--config', file, '--yes']);
    expect({ code: reset.code, stderr: reset.stderr }).toEqual({ code: 0, stderr: '' });
    expect(reset.stdout).toMatch(/reset connector: 1 apply position\(s\) deleted, completed-load record and resume point removed; the next start loads from the database/);
  }, 180_000);
});

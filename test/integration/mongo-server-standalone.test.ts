import { Long, MongoClient, MongoServerError } from 'mongodb';
import { startMongoTestServer, type MongoTestServer } from '../mongo-server';

/** Test documents: any `_id`, any fields. */
type Loose = { _id?: string | number | object; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
import { REAL_MONGO_URL } from '../helpers/mongo-target';

// Standalone mode only exists on the test server (MONGO_URL names a replica set).
const describeOnTestServer = REAL_MONGO_URL ? describe.skip : describe;

describeOnTestServer('standalone mode', () => {
  let server: MongoTestServer;
  let client: MongoClient;

  beforeAll(async () => {
    server = await startMongoTestServer({ standalone: true });
    client = new MongoClient(server.url, { serverSelectionTimeoutMS: 3000 });
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  test('hello reports no replica set, and replies carry no cluster time', async () => {
    expect(server.url).toContain('directConnection=true');
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello).not.toHaveProperty('setName');
    expect(hello).not.toHaveProperty('hosts');
    expect(hello).not.toHaveProperty('$clusterTime');
    expect(hello.logicalSessionTimeoutMinutes).toBe(30);
    const status = await client.db('admin').command({ replSetGetStatus: 1 }).catch((e: MongoServerError) => e);
    expect(status).toMatchObject({ code: 76, codeName: 'NoReplicationEnabled' });
  });

  test('CRUD works', async () => {
    const coll = client.db('app').collection<Loose>('things');
    await coll.insertOne({ _id: 1, v: 1 });
    await coll.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, v: 2 });
  });

  test("watch() fails the way MongoDB's does: 40573, only supported on replica sets", async () => {
    const stream = client.db('app').collection<Loose>('things').watch();
    const error = await stream.tryNext().then(() => undefined, (e: unknown) => e);
    await stream.close();
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error).toMatchObject({ code: 40573, codeName: 'Location40573', message: 'The $changeStream stage is only supported on replica sets' });
  });

  test('transactions are refused (transaction numbers need a replica set)', async () => {
    const session = client.startSession();
    session.startTransaction();
    const error = await client.db('app').collection<Loose>('things').insertOne({ _id: 2 }, { session }).then(() => undefined, (e: unknown) => e);
    await session.abortTransaction().catch(() => undefined);
    await session.endSession();
    // The driver rewrites mongod's answer (code 20) into advice about retryable writes, as it does for a real standalone.
    expect(error).toMatchObject({ message: expect.stringContaining('This MongoDB deployment does not support retryable writes') });
    const raw = await client
      .db('app')
      .command({ insert: 'things', documents: [{ _id: 3 }], txnNumber: Long.fromNumber(1), autocommit: false, startTransaction: true })
      .then(() => undefined, (e: MongoServerError) => e.errorResponse);
    expect(raw).toMatchObject({ ok: 0, code: 20, codeName: 'IllegalOperation', errmsg: 'Transaction numbers are only allowed on a replica set member or mongos' });
  });

  test('a replicaSet connection string never finds a primary', async () => {
    const rs = new MongoClient(`mongodb://${server.host}:${server.port}/?replicaSet=rs0`, { serverSelectionTimeoutMS: 500 });
    await expect(rs.connect()).rejects.toThrow(/Server selection timed out/);
    await rs.close();
  });
});

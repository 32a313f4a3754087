import { Long, MongoServerError, type Db, type Document, type MongoClient } from 'mongodb';
import { onTestServer, openMongoTarget, type MongoTarget } from '../helpers/mongo-target';

/** Test documents: any `_id`, any fields. */
type Loose = { _id?: string | number | object; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

let target: MongoTarget;
let client: MongoClient;
let db: Db;
const commands: Array<{ name: string; ok: boolean }> = [];

beforeAll(async () => {
  target = await openMongoTarget('faults');
  client = await target.client({ monitorCommands: true });
  client.on('commandSucceeded', (e) => commands.push({ name: e.commandName, ok: true }));
  client.on('commandFailed', (e) => commands.push({ name: e.commandName, ok: false }));
  db = client.db(target.dbName);
});
afterAll(() => target.close());
beforeEach(() => {
  commands.length = 0;
});

const attempts = (name: string) => commands.filter((c) => c.name === name).map((c) => c.ok);

async function failCommand(data: Document, mode: Document | string = { times: 1 }): Promise<void> {
  await client.db('admin').command({ configureFailPoint: 'failCommand', mode, data });
}

test('an injected error reaches the driver with its code and the labels given', async () => {
  await failCommand({ failCommands: ['find'], errorCode: 2, errorLabels: ['MyLabel'] });
  const error = await db.collection<Loose>('x').findOne({}).then(() => undefined, (e: MongoServerError) => e);
  expect(error).toBeInstanceOf(MongoServerError);
  expect([error!.code, error!.codeName, error!.errorLabels]).toEqual([2, 'BadValue', ['MyLabel']]);
  expect(await db.collection<Loose>('x').findOne({})).toBeNull(); // times: 1 — the next find runs
});

test('a retryable write whose connection is closed is retried by the driver and applied once', async () => {
  await failCommand({ failCommands: ['insert'], closeConnection: true });
  await db.collection<Loose>('retry').insertOne({ _id: 'once' });
  expect(attempts('insert')).toEqual([false, true]);
  expect(await db.collection<Loose>('retry').countDocuments({ _id: 'once' })).toBe(1);
});

test('a retryable error code on a write is labelled RetryableWriteError by the server, and retried', async () => {
  await failCommand({ failCommands: ['update'], errorCode: 91 });
  await db.collection<Loose>('retry').updateOne({ _id: 'once' }, { $inc: { n: 1 } });
  expect(attempts('update')).toEqual([false, true]);
  expect(await db.collection<Loose>('retry').findOne({ _id: 'once' })).toEqual({ _id: 'once', n: 1 });
});

test('a retryable read is retried once', async () => {
  await failCommand({ failCommands: ['find'], errorCode: 10107 });
  expect(await db.collection<Loose>('retry').findOne({ _id: 'once' })).toEqual({ _id: 'once', n: 1 });
  expect(attempts('find')).toEqual([false, true]);
});

test('a write concern error comes back on an applied write', async () => {
  await failCommand({ failCommands: ['insert'], writeConcernError: { code: 100, errmsg: 'injected' } });
  const error = await db.collection<Loose>('wce').insertOne({ _id: 1 }).then(() => undefined, (e: MongoServerError) => e);
  expect(error).toMatchObject({ code: 100 });
  expect(await db.collection<Loose>('wce').countDocuments()).toBe(1);
});

test('a retried write with the same txnNumber returns the first result without applying twice; an older txnNumber is TransactionTooOld', async () => {
  // A client of its own: its pooled server session gets txnNumbers the driver does not know about.
  const own = await target.client();
  const session = own.startSession();
  const insert = (txnNumber: number, id: string) =>
    own.db(target.dbName).command({ insert: 'dedup', documents: [{ _id: id }], txnNumber: Long.fromNumber(txnNumber) }, { session });
  expect(await insert(100, 'a')).toMatchObject({ n: 1, ok: 1 });
  expect(await insert(100, 'a')).toMatchObject({ n: 1, ok: 1 }); // not a duplicate key error: the same write
  expect(await db.collection<Loose>('dedup').countDocuments()).toBe(1);
  const old = await insert(99, 'b').then(() => undefined, (e: MongoServerError) => e);
  expect(old).toMatchObject({ code: 225, codeName: 'TransactionTooOld' });
  await session.endSession();
  await own.close();
});

test('a resumable getMore error is labelled by the server and the change stream resumes', async () => {
  const coll = db.collection<Loose>('resumable');
  const stream = coll.watch([], { maxAwaitTimeMS: 100 });
  expect(await stream.tryNext()).toBeNull();
  await failCommand({ failCommands: ['getMore'], errorCode: 91 });
  await coll.insertOne({ _id: 1 });
  let event: Document | null = null;
  while (!event) event = await stream.tryNext();
  expect(event.documentKey).toEqual({ _id: 1 });
  expect(attempts('aggregate')).toEqual([true, true]); // the initial one and the resume
  await stream.close();
});

test('the same error without the ResumableChangeStreamError label ends the stream', async () => {
  const coll = db.collection<Loose>('notresumable');
  const stream = coll.watch([], { maxAwaitTimeMS: 100 });
  expect(await stream.tryNext()).toBeNull();
  await failCommand({ failCommands: ['getMore'], errorCode: 91, errorLabels: [] });
  const error = await stream.tryNext().then(() => undefined, (e: MongoServerError) => e);
  expect(error).toMatchObject({ code: 91 });
  await stream.close();
});

test('alwaysOn fails every matching command until switched off; blockConnection delays', async () => {
  await failCommand({ failCommands: ['count'], errorCode: 2 }, 'alwaysOn');
  for (let i = 0; i < 3; i++) await expect(db.command({ count: 'x' })).rejects.toMatchObject({ code: 2 });
  await failCommand({ failCommands: ['count'] }, 'off');
  await expect(db.command({ count: 'x' })).resolves.toMatchObject({ n: 0 });
  await failCommand({ failCommands: ['ping'], blockConnection: true, blockTimeMS: 300 });
  const started = Date.now();
  await db.command({ ping: 1 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(280);
});

onTestServer('server.failNext queues one-shot failures', async () => {
  target.server!.failNext('insert', { code: 11600, errorLabels: ['RetryableWriteError'] });
  await db.collection<Loose>('next').insertOne({ _id: 1 });
  expect(attempts('insert')).toEqual([false, true]);
  target.server!.failNext('find', { code: 2 });
  await expect(db.collection<Loose>('next').findOne({})).rejects.toMatchObject({ code: 2 });
  expect(await db.collection<Loose>('next').findOne({})).toEqual({ _id: 1 });
});

onTestServer('dropConnections closes every connection; the client reconnects by itself', async () => {
  await db.command({ ping: 1 });
  expect(target.server!.connectionCount()).toBeGreaterThan(0);
  target.server!.dropConnections();
  expect(target.server!.connectionCount()).toBe(0);
  let pinged = false;
  for (let i = 0; i < 3 && !pinged; i++) pinged = await db.command({ ping: 1 }).then(() => true, () => false);
  expect(pinged).toBe(true);
});

onTestServer('a restart keeps the data and loses cursors and open transactions', async () => {
  const coll = db.collection<Loose>('restarted');
  await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
  const cursorReply = await db.command({ find: 'restarted', batchSize: 2 });
  const session = client.startSession();
  session.startTransaction();
  await coll.insertOne({ _id: 'in-txn' }, { session });
  const processBefore = (await db.admin().command({ hello: 1 })).topologyVersion.processId;
  await target.server!.restart();
  let hello: Document | undefined;
  for (let i = 0; i < 3 && !hello; i++) hello = await db.admin().command({ hello: 1 }).catch(() => undefined);
  expect(hello!.topologyVersion.processId).not.toEqual(processBefore);
  expect(await coll.countDocuments({ _id: { $lt: 100 } })).toBe(10);
  const getMore = await db.command({ getMore: cursorReply.cursor.id, collection: 'restarted' }).then(() => undefined, (e: MongoServerError) => e);
  expect(getMore).toMatchObject({ code: 43, codeName: 'CursorNotFound' });
  const commit = await session.commitTransaction().then(() => undefined, (e: MongoServerError) => e);
  expect(commit).toMatchObject({ code: 251, codeName: 'NoSuchTransaction' });
  await session.endSession();
  expect(await coll.countDocuments({ _id: 'in-txn' })).toBe(0);
});

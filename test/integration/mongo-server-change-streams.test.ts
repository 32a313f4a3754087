import { Binary, MongoNetworkError, MongoServerError, Timestamp, type ChangeStream, type ChangeStreamDocument, type Db, type Document, type MongoClient, type ResumeToken } from 'mongodb';
import { onTestServer, openMongoTarget, REAL_MONGO_URL, type MongoTarget } from '../helpers/mongo-target';

/** Test documents: any `_id`, any fields. */
type Loose = { _id?: string | number | object; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

let target: MongoTarget;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  target = await openMongoTarget('streams');
  client = await target.client();
  db = client.db(target.dbName);
});
afterAll(() => target.close());

type Event = ChangeStreamDocument<Document> & Document;

/** The next `n` events of a stream (fails the test after `timeoutMs`). */
async function take(stream: ChangeStream<Document>, n: number, timeoutMs = 5000): Promise<Event[]> {
  const events: Event[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} events after ${timeoutMs} ms`);
    const event = await stream.tryNext();
    if (event) events.push(event as Event);
  }
  return events;
}

/** Opens the stream on the server (the driver sends the aggregate lazily). */
async function opened<T extends ChangeStream<Document>>(stream: T): Promise<T> {
  expect(await stream.tryNext()).toBeNull();
  return stream;
}

/** Tailing getMores wait 100 ms instead of the default 1 s, to keep the tests quick. */
const quick = { maxAwaitTimeMS: 100 };

const tsOf = (e: Event): Timestamp => e.clusterTime as Timestamp;

/**
 * Inserts surviving a connection drop. The driver retries a write that fails with a network error —
 * except when the pool had already been reset under its connection (the monitor saw the drop
 * first): then the error surfaces unretried (wrapped in a MongoBulkWriteError for insertMany), and
 * the caller must retry, idempotently.
 */
async function insertSurvivingDrops(coll: ReturnType<Db['collection']>, docs: Document[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await coll.insertMany(docs, { ordered: false });
      return;
    } catch (e) {
      const writeErrors = (e as { writeErrors?: Array<{ code: number }> }).writeErrors ?? [];
      if (writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000)) return;
      const network = e instanceof MongoNetworkError || (e as Error).cause instanceof MongoNetworkError || /closed/.test((e as Error).message);
      if (!network || attempt >= 3) throw e;
    }
  }
}

describe('collection streams', () => {
  test('insert, update, replace and delete events are shaped as MongoDB documents them', async () => {
    const coll = db.collection<Loose>('shapes');
    const stream = await opened(coll.watch([], quick));
    await coll.insertOne({ _id: 1, items: ['a', 'b', 'c', 'd'], gone: 1, list: [1, 2, 3] });
    await coll.updateOne({ _id: 1 }, { $set: { 'items.3': 'D', 'sub.x': 1 }, $unset: { gone: '' }, $push: { list: 4 } as never });
    await coll.updateOne({ _id: 1 }, { $pop: { list: 1 } });
    await coll.replaceOne({ _id: 1 }, { fresh: true });
    await coll.deleteOne({ _id: 1 });
    const [ins, upd, pop, rep, del] = await take(stream, 5);
    const ns = { db: target.dbName, coll: 'shapes' };
    expect(ins).toEqual({
      _id: { _data: expect.any(String) },
      operationType: 'insert',
      clusterTime: expect.any(Timestamp),
      wallTime: expect.any(Date),
      fullDocument: { _id: 1, items: ['a', 'b', 'c', 'd'], gone: 1, list: [1, 2, 3] },
      ns,
      documentKey: { _id: 1 },
    });
    expect(upd).toMatchObject({ operationType: 'update', ns, documentKey: { _id: 1 } });
    expect(upd.updateDescription).toEqual({
      updatedFields: { 'items.3': 'D', sub: { x: 1 }, 'list.3': 4 },
      removedFields: ['gone'],
      truncatedArrays: [],
    });
    expect(upd).not.toHaveProperty('fullDocument');
    expect(pop.updateDescription).toEqual({ updatedFields: {}, removedFields: [], truncatedArrays: [{ field: 'list', newSize: 3 }] });
    expect(rep).toMatchObject({ operationType: 'replace', fullDocument: { _id: 1, fresh: true }, documentKey: { _id: 1 } });
    expect(del).toMatchObject({ operationType: 'delete', documentKey: { _id: 1 }, ns });
    expect(del).not.toHaveProperty('fullDocument');
    const times = [ins, upd, pop, rep, del].map(tsOf);
    for (let i = 1; i < times.length; i++) expect(times[i]!.greaterThan(times[i - 1]!)).toBe(true);
    const tokens = [ins, upd, pop, rep, del].map((e) => (e._id as { _data: string })._data);
    expect([...tokens].sort()).toEqual(tokens);
    await stream.close();
  });

  test("fullDocument: 'updateLookup' carries the document as it is when the event is read", async () => {
    const coll = db.collection<Loose>('lookup');
    const stream = await opened(coll.watch([], { ...quick, fullDocument: 'updateLookup' }));
    await coll.insertOne({ _id: 1, v: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { v: 2 } });
    await coll.insertOne({ _id: 2, v: 1 });
    await coll.updateOne({ _id: 2 }, { $set: { v: 2 } });
    await coll.deleteOne({ _id: 2 });
    const events = await take(stream, 5);
    expect(events[1]).toMatchObject({ operationType: 'update', fullDocument: { _id: 1, v: 2 } });
    expect(events[3]).toMatchObject({ operationType: 'update', fullDocument: null });
    await stream.close();
  });

  test('fullDocumentBeforeChange comes from pre-images, once the collection records them', async () => {
    await db.createCollection('images', { changeStreamPreAndPostImages: { enabled: true } });
    const coll = db.collection<Loose>('images');
    await db.createCollection('noimages');
    const plain = db.collection<Loose>('noimages');
    const stream = await opened(db.watch([], { ...quick, fullDocumentBeforeChange: 'whenAvailable', fullDocument: 'whenAvailable' }));
    await coll.insertOne({ _id: 1, v: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { v: 2 } });
    await coll.deleteOne({ _id: 1 });
    await plain.insertOne({ _id: 1, v: 1 });
    await plain.updateOne({ _id: 1 }, { $set: { v: 2 } });
    const [, upd, del, , plainUpd] = await take(stream, 5);
    expect(upd).toMatchObject({ fullDocumentBeforeChange: { _id: 1, v: 1 }, fullDocument: { _id: 1, v: 2 } });
    expect(del).toMatchObject({ operationType: 'delete', fullDocumentBeforeChange: { _id: 1, v: 2 } });
    expect(plainUpd).toMatchObject({ fullDocumentBeforeChange: null, fullDocument: null });
    await stream.close();

    const required = await opened(plain.watch([], { ...quick, fullDocumentBeforeChange: 'required' }));
    await plain.deleteOne({ _id: 1 });
    await expect(take(required, 1)).rejects.toBeInstanceOf(MongoServerError);
    await required.close();

    await db.command({ collMod: 'noimages', changeStreamPreAndPostImages: { enabled: true } });
    const after = await opened(plain.watch([], { ...quick, fullDocumentBeforeChange: 'required' }));
    await plain.insertOne({ _id: 2, v: 1 });
    await plain.updateOne({ _id: 2 }, { $set: { v: 3 } });
    const [, enabled] = await take(after, 2);
    expect(enabled).toMatchObject({ fullDocumentBeforeChange: { _id: 2, v: 1 } });
    await after.close();
  });

  test('dropping the collection: drop, then invalidate, then the stream ends; startAfter the invalidate continues', async () => {
    const coll = db.collection<Loose>('dropped');
    await coll.insertOne({ _id: 0 });
    const stream = await opened(coll.watch([], quick));
    await coll.insertOne({ _id: 1 });
    await coll.drop();
    const [ins, drop, invalidate] = await take(stream, 3);
    expect(ins.operationType).toBe('insert');
    expect(drop).toEqual({
      _id: expect.any(Object),
      operationType: 'drop',
      clusterTime: expect.any(Timestamp),
      wallTime: expect.any(Date),
      ns: { db: target.dbName, coll: 'dropped' },
    });
    expect(invalidate).toEqual({ _id: expect.any(Object), operationType: 'invalidate', clusterTime: expect.any(Timestamp), wallTime: expect.any(Date) });
    expect(stream.closed).toBe(true);

    const resumed = coll.watch([], { resumeAfter: invalidate._id as ResumeToken });
    await expect(resumed.tryNext()).rejects.toMatchObject({ code: 260 });
    await resumed.close();

    const restarted = await opened(coll.watch([], { ...quick, startAfter: invalidate._id as ResumeToken }));
    await coll.insertOne({ _id: 'again' });
    const [again] = await take(restarted, 1);
    expect(again).toMatchObject({ operationType: 'insert', documentKey: { _id: 'again' } });
    await restarted.close();
  });

  test('$match on operationType filters events; $project must keep _id', async () => {
    const coll = db.collection<Loose>('filtered');
    const stream = await opened(coll.watch([{ $match: { operationType: { $in: ['delete'] } } }], quick));
    await coll.insertOne({ _id: 1 });
    await coll.deleteOne({ _id: 1 });
    const [del] = await take(stream, 1);
    expect(del.operationType).toBe('delete');
    await stream.close();
    const bad = await opened(coll.watch([{ $project: { _id: 0 } }], quick));
    await coll.insertOne({ _id: 2 });
    await expect(take(bad, 1)).rejects.toMatchObject({ code: 280, codeName: 'ChangeStreamFatalError' });
    await bad.close();
  });
});

describe('database and deployment streams', () => {
  test('a database stream sees every collection of its database only; dropDatabase invalidates it', async () => {
    const name = `${target.dbName}_d`;
    const mine = client.db(name);
    const stream = await opened(mine.watch([], quick));
    await mine.collection<Loose>('one').insertOne({ _id: 1 });
    await db.collection<Loose>('elsewhere').insertOne({ _id: 1 });
    await mine.collection<Loose>('two').insertOne({ _id: 2 });
    await mine.dropDatabase();
    const events = await take(stream, 6);
    expect(events.map((e) => [e.operationType, (e as Document).ns?.coll])).toEqual([
      ['insert', 'one'],
      ['insert', 'two'],
      ['drop', 'one'],
      ['drop', 'two'],
      ['dropDatabase', undefined],
      ['invalidate', undefined],
    ]);
    expect(events[4]!.ns).toEqual({ db: name });
  });

  test('a deployment stream (allChangesForCluster on admin) sees every database', async () => {
    const stream = await opened(client.watch([], quick));
    await client.db(`${target.dbName}_x`).collection<Loose>('c').insertOne({ _id: 'x' });
    await client.db(`${target.dbName}_y`).collection<Loose>('c').insertOne({ _id: 'y' });
    const events = await take(stream, 2);
    expect(events.map((e) => [(e as Document).ns.db, (e as Document).documentKey._id])).toEqual([
      [`${target.dbName}_x`, 'x'],
      [`${target.dbName}_y`, 'y'],
    ]);
    await stream.close();
    await client.db(`${target.dbName}_x`).dropDatabase();
    await client.db(`${target.dbName}_y`).dropDatabase();
  });

  test('a deployment stream is refused on any database but admin, a stream on admin without it too', async () => {
    const error = await db.command({ aggregate: 1, pipeline: [{ $changeStream: { allChangesForCluster: true } }], cursor: {} }).catch((e) => e);
    expect(error).toMatchObject({ code: 73 });
    const admin = await client.db('admin').command({ aggregate: 1, pipeline: [{ $changeStream: {} }], cursor: {} }).catch((e) => e);
    expect(admin).toMatchObject({ code: 73 });
  });
});

describe('transactions in the stream', () => {
  test('the events of one transaction share its cluster time, come together, and carry lsid and txnNumber', async () => {
    const coll = db.collection<Loose>('txnevents');
    const stream = await opened(coll.watch([], quick));
    await coll.insertOne({ _id: 'before' });
    const session = client.startSession();
    await session.withTransaction(async () => {
      await coll.insertOne({ _id: 't1' }, { session });
      await coll.updateOne({ _id: 'before' }, { $set: { x: 1 } }, { session });
      await coll.insertOne({ _id: 't2' }, { session });
    });
    await coll.insertOne({ _id: 'after' });
    const [before, t1, upd, t2, after] = await take(stream, 5);
    expect([t1, upd, t2].map((e) => e.operationType)).toEqual(['insert', 'update', 'insert']);
    expect(tsOf(t1).equals(tsOf(upd)) && tsOf(upd).equals(tsOf(t2))).toBe(true);
    expect(tsOf(t1).greaterThan(tsOf(before))).toBe(true);
    expect(tsOf(after).greaterThan(tsOf(t2))).toBe(true);
    const sessionId = (session.id!.id as Binary).toString('hex');
    for (const e of [t1, upd, t2]) {
      expect((e.lsid!.id as Binary).toString('hex')).toBe(sessionId);
      expect(e.lsid).toHaveProperty('uid');
      expect(Number(e.txnNumber)).toBe(Number(session.serverSession!.txnNumber));
    }
    expect(before).not.toHaveProperty('lsid');
    expect(after).not.toHaveProperty('txnNumber');
    await session.endSession();
    await stream.close();
  });
});

describe('resuming', () => {
  test('startAtOperationTime from a snapshot read: the stream replays what happened after the snapshot', async () => {
    const coll = db.collection<Loose>('snap');
    await coll.insertOne({ _id: 'A' });
    await coll.insertOne({ _id: 'B' });
    // A snapshot read as a connector would do it; the driver keeps no operationTime for snapshot
    // sessions (they are not causally consistent), so it is read from the reply.
    const reply = await db.command({ find: 'snap', readConcern: { level: 'snapshot' } });
    const operationTime = reply.operationTime as Timestamp;
    expect(reply.cursor.atClusterTime).toEqual(operationTime);
    expect(reply.cursor.firstBatch.map((d: Document) => d._id)).toEqual(['A', 'B']);
    await coll.insertOne({ _id: 'C' });
    await coll.deleteOne({ _id: 'A' });
    const stream = coll.watch([], { ...quick, startAtOperationTime: operationTime });
    const events: Event[] = [];
    while (!events.some((e) => e.operationType === 'delete')) events.push(...(await take(stream, 1)));
    const seen = events.map((e) => `${e.operationType}:${(e as Document).documentKey._id}`);
    expect(seen).not.toContain('insert:A');
    expect(seen.slice(-2)).toEqual(['insert:C', 'delete:A']);
    // The boundary is inclusive ("at or after"): the write the snapshot already contains may come again.
    for (const e of events) expect(tsOf(e).greaterThanOrEqual(operationTime)).toBe(true);
    await stream.close();
  });

  test('every batch carries a postBatchResumeToken that moves forward even when nothing happens', async () => {
    const monitored = await target.client({ monitorCommands: true });
    const replies: Document[] = [];
    monitored.on('commandSucceeded', (e) => {
      if (e.commandName === 'aggregate' || e.commandName === 'getMore') replies.push(e.reply as Document);
    });
    const coll = monitored.db(target.dbName).collection<Loose>('pbrt');
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 50 }));
    const first = stream.resumeToken as { _data: string };
    await db.collection<Loose>('other').insertOne({ at: 'elsewhere' });
    await stream.tryNext();
    await stream.tryNext();
    expect(replies.length).toBeGreaterThanOrEqual(2);
    for (const reply of replies) expect(reply.cursor.postBatchResumeToken).toEqual({ _data: expect.any(String) });
    expect((stream.resumeToken as { _data: string })._data > first._data).toBe(true);
    await stream.close();
  });

  test('a tailing getMore returns promptly when an event arrives and does not poll when idle', async () => {
    const monitored = await target.client({ monitorCommands: true });
    let getMores = 0;
    monitored.on('commandStarted', (e) => e.commandName === 'getMore' && getMores++);
    const coll = monitored.db(target.dbName).collection<Loose>('prompt');
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 1000 }));
    const waiting = stream.next();
    await new Promise((r) => setTimeout(r, 1500));
    const idleGetMores = getMores;
    const sent = Date.now();
    await db.collection<Loose>('prompt').insertOne({ _id: 'now' });
    const event = await waiting;
    const latency = Date.now() - sent;
    expect((event as Document).documentKey._id).toBe('now');
    expect(idleGetMores).toBeLessThanOrEqual(3);
    expect(latency).toBeLessThan(250);
    await stream.close();
  });

  onTestServer("the driver's automatic resume after dropped connections loses and repeats nothing", async () => {
    const monitored = await target.client({ monitorCommands: true });
    let aggregates = 0;
    monitored.on('commandStarted', (e) => e.commandName === 'aggregate' && aggregates++);
    const coll = monitored.db(target.dbName).collection<Loose>('drops');
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 2000 }));
    const received: unknown[] = [];
    for (let round = 0; round < 4; round++) {
      // A getMore is waiting on the server when every connection is dropped.
      const pending = stream.next();
      await new Promise((r) => setTimeout(r, 50));
      target.server!.dropConnections();
      await insertSurvivingDrops(db.collection<Loose>('drops'), [{ _id: `${round}-a` }, { _id: `${round}-b` }]);
      received.push(((await pending) as Document).documentKey._id);
      received.push(...(await take(stream, 1)).map((e) => (e as Document).documentKey._id));
    }
    expect(received).toEqual(['0-a', '0-b', '1-a', '1-b', '2-a', '2-b', '3-a', '3-b']);
    expect(aggregates).toBeGreaterThanOrEqual(5); // the first, and one resume per drop
    await stream.close();
  });

  onTestServer('a stream survives a server restart: the driver resumes from its token on the restarted server', async () => {
    const coll = db.collection<Loose>('restart');
    const stream = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
    await coll.insertOne({ _id: 1 });
    expect((await take(stream, 1))[0]!.documentKey).toEqual({ _id: 1 });
    await target.server!.stop();
    await target.server!.start();
    await insertSurvivingDrops(coll, [{ _id: 2 }]);
    const [next] = await take(stream, 1, 15000);
    expect(next!.documentKey).toEqual({ _id: 2 });
    expect(await coll.countDocuments()).toBe(2);
    await stream.close();
  }, 30000);
});

describe('history window', () => {
  let small: MongoTarget;
  beforeAll(async () => {
    if (!REAL_MONGO_URL) small = await openMongoTarget('window', { oplogSize: 10 });
  });
  afterAll(() => small?.close());

  onTestServer('resuming from a token older than the oplog window is ChangeStreamHistoryLost (286), not a silent gap', async () => {
    const c = await small.client();
    const coll = c.db(small.dbName).collection<Loose>('w');
    const stream = await opened(coll.watch([], quick));
    await coll.insertOne({ _id: 0 });
    const [first] = await take(stream, 1);
    await stream.close();
    const startedAt = first!.clusterTime as Timestamp;
    for (let i = 1; i <= 5; i++) await coll.insertOne({ _id: i });
    // Still inside the window: resuming works and returns what followed.
    const inside = coll.watch([], { resumeAfter: first!._id as ResumeToken });
    expect((await take(inside, 5)).map((e) => (e as Document).documentKey._id)).toEqual([1, 2, 3, 4, 5]);
    await inside.close();
    for (let i = 6; i <= 20; i++) await coll.insertOne({ _id: i });
    for (const options of [{ resumeAfter: first!._id as ResumeToken }, { startAtOperationTime: startedAt }]) {
      const lost = coll.watch([], options);
      const error = await lost.tryNext().then(() => undefined, (e: MongoServerError) => e);
      expect(error).toBeInstanceOf(MongoServerError);
      expect([error!.code, error!.codeName]).toEqual([286, 'ChangeStreamHistoryLost']);
      expect(error!.message).toContain('Resume of change stream was not possible, as the resume point may no longer be in the oplog.');
      expect(error!.errorLabels).toContain('NonResumableChangeStreamError');
      await lost.close();
    }
  });

  onTestServer('a stream that falls out of the window while open fails its next getMore with 286', async () => {
    const c = await small.client();
    const coll = c.db(small.dbName).collection<Loose>('behind');
    const stream = await opened(coll.watch([], { ...quick, batchSize: 1 }));
    await coll.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: i })));
    await take(stream, 1);
    await coll.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: 100 + i })));
    const error = await take(stream, 10).then(() => undefined, (e: MongoServerError) => e);
    expect(error).toMatchObject({ code: 286 });
    await stream.close();
  });
});

import { Double, Int32, Long, MongoBulkWriteError, MongoServerError, ObjectId, type Db, type MongoClient } from 'mongodb';
import { openMongoTarget, type MongoTarget } from '../helpers/mongo-target';

/** Test documents: any `_id`, any fields. */
type Loose = { _id?: string | number | object; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

let target: MongoTarget;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  target = await openMongoTarget('crud');
  client = await target.client();
  db = client.db(target.dbName);
});
afterAll(() => target.close());

async function serverError(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof MongoServerError) return e;
    throw e;
  }
  throw new Error('expected a server error');
}

describe('insert and find', () => {
  const people = [
    { _id: 1, name: 'ann', age: 31, tags: ['a', 'b'], address: { city: 'Oslo', zip: '0150' } },
    { _id: 2, name: 'bob', age: 25, tags: ['b'], address: { city: 'Bergen' } },
    { _id: 3, name: 'cid', age: 40, tags: [], address: { city: 'Oslo', zip: '0151' } },
    { _id: 4, name: 'dee', age: null, items: [{ sku: 'x', qty: 2 }, { sku: 'y', qty: 5 }] },
    { _id: 5, name: 'eve', age: 25 },
  ];

  beforeAll(async () => {
    await db.collection<Loose>('people').insertMany(people);
  });

  const ids = async (filter: object, options: object = {}): Promise<unknown[]> =>
    (await db.collection<Loose>('people').find(filter, options).toArray()).map((d) => d._id);

  test('equality on top-level and dotted fields, and array membership', async () => {
    expect(await ids({ name: 'bob' })).toEqual([2]);
    expect(await ids({ 'address.city': 'Oslo' })).toEqual([1, 3]);
    expect(await ids({ tags: 'b' })).toEqual([1, 2]);
    expect(await ids({ 'items.sku': 'y' })).toEqual([4]);
    expect(await ids({ 'address.zip': { $exists: false } })).toEqual([2, 4, 5]);
    expect(await ids({ age: null })).toEqual([4]);
  });

  test('comparison, $in, $and, $or', async () => {
    expect(await ids({ age: { $gt: 25 } })).toEqual([1, 3]);
    expect(await ids({ age: { $gte: 25, $lt: 40 } })).toEqual([1, 2, 5]);
    expect(await ids({ age: { $lte: 25 } })).toEqual([2, 5]);
    expect(await ids({ name: { $in: ['ann', 'eve', 'zed'] } })).toEqual([1, 5]);
    expect(await ids({ $or: [{ age: 40 }, { name: 'dee' }] })).toEqual([3, 4]);
    expect(await ids({ $and: [{ age: 25 }, { name: { $ne: 'bob' } }] })).toEqual([5]);
    expect(await ids({ 'items.qty': { $gt: 4 } })).toEqual([4]);
  });

  test('sort on several fields, projection, skip and limit', async () => {
    expect(await ids({}, { sort: { age: -1, name: 1 } })).toEqual([3, 1, 2, 5, 4]);
    expect(await ids({}, { sort: { age: 1, _id: -1 }, skip: 1, limit: 2 })).toEqual([5, 2]);
    const projected = await db.collection<Loose>('people').find({ _id: 1 }, { projection: { name: 1, 'address.city': 1 } }).toArray();
    expect(projected).toEqual([{ _id: 1, name: 'ann', address: { city: 'Oslo' } }]);
    const excluded = await db.collection<Loose>('people').find({ _id: 3 }, { projection: { tags: 0, address: 0, _id: 0 } }).toArray();
    expect(excluded).toEqual([{ name: 'cid', age: 40 }]);
  });

  test('bad filters and projections are refused with MongoDB codes', async () => {
    const unknown = await serverError(db.collection<Loose>('people').find({ age: { $bogus: 1 } }).toArray());
    expect([unknown.code, unknown.codeName]).toEqual([2, 'BadValue']);
    expect(unknown.message).toContain('unknown operator: $bogus');
    const mixed = await serverError(db.collection<Loose>('people').find({}, { projection: { a: 1, b: 0 } }).toArray());
    expect(mixed.code).toBe(31254);
  });
});

describe('cursors', () => {
  beforeAll(async () => {
    await db.collection<Loose>('many').insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i, n: i })));
  });

  test('batchSize splits the result into getMores that return every document once, in order', async () => {
    const seen: number[] = [];
    const commands: Array<{ name: string; batch?: number }> = [];
    const listener = (e: { commandName: string; reply: { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } } }) =>
      commands.push({ name: e.commandName, batch: (e.reply.cursor?.firstBatch ?? e.reply.cursor?.nextBatch)?.length });
    const monitored = await target.client({ monitorCommands: true });
    monitored.on('commandSucceeded', listener as never);
    for await (const doc of monitored.db(target.dbName).collection<Loose>('many').find({}, { batchSize: 100, sort: { n: 1 } })) seen.push(doc.n);
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(commands.filter((c) => c.name === 'find' || c.name === 'getMore')).toEqual([
      { name: 'find', batch: 100 },
      { name: 'getMore', batch: 100 },
      { name: 'getMore', batch: 50 },
    ]);
  });

  test('killCursors closes a cursor: a later getMore is CursorNotFound', async () => {
    const reply = await db.command({ find: 'many', batchSize: 2 });
    const id = reply.cursor.id as Long;
    expect(id.isZero()).toBe(false);
    const killed = await db.command({ killCursors: 'many', cursors: [id] });
    expect(killed.cursorsKilled).toEqual([id]);
    const error = await serverError(db.command({ getMore: id, collection: 'many' }));
    expect([error.code, error.codeName]).toEqual([43, 'CursorNotFound']);
  });

  test('a cursor returns the documents as of its find, whatever happens later', async () => {
    const cursor = db.collection<Loose>('many').find({ n: { $lt: 10 } }, { batchSize: 3, sort: { n: 1 } });
    const first = await cursor.next();
    await db.collection<Loose>('many').deleteMany({ n: { $lt: 10, $gt: 0 } });
    const rest = await cursor.toArray();
    expect([first, ...rest].map((d) => d!.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await db.collection<Loose>('many').countDocuments({ n: { $lt: 10 } })).toBe(1);
  });
});

describe('writes', () => {
  test('duplicate _id is error 11000 with the real shape, in insertOne and in an unordered insertMany', async () => {
    const coll = db.collection<Loose>('dups');
    await coll.insertOne({ _id: 'a', v: 1 });
    const one = await serverError(coll.insertOne({ _id: 'a' }));
    expect(one.code).toBe(11000);
    expect(one.message).toBe(`E11000 duplicate key error collection: ${target.dbName}.dups index: _id_ dup key: { _id: "a" }`);
    expect(one.keyPattern).toEqual({ _id: 1 });
    expect(one.keyValue).toEqual({ _id: 'a' });
    let bulk: MongoBulkWriteError | undefined;
    try {
      await coll.insertMany([{ _id: 'b' }, { _id: 'a' }, { _id: 'c' }], { ordered: false });
    } catch (e) {
      bulk = e as MongoBulkWriteError;
    }
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expect(bulk!.insertedCount).toBe(2);
    expect(bulk!.writeErrors).toHaveLength(1);
    expect((bulk!.writeErrors as unknown as Array<{ index: number; code: number }>)[0]).toMatchObject({ index: 1, code: 11000 });
    // ordered: stops at the first error
    await expect(coll.insertMany([{ _id: 'd' }, { _id: 'a' }, { _id: 'e' }])).rejects.toThrow(/E11000/);
    expect((await coll.find().toArray()).map((d) => d._id).sort()).toEqual(['a', 'b', 'c', 'd']);
    // 1, Long(1) and 1.0 are the same _id
    await coll.insertOne({ _id: 1 });
    await expect(coll.insertOne({ _id: Long.fromNumber(1) })).rejects.toMatchObject({ code: 11000 });
    await expect(coll.insertOne({ _id: new Double(1) })).rejects.toMatchObject({ code: 11000 });
  });

  test('update operators, positional array paths, upsert and replacement', async () => {
    const coll = db.collection<Loose>('updates');
    await coll.insertOne({ _id: 1, n: 1, items: ['a', 'b', 'c', 'd'], gone: true, nested: { x: 1 } });
    const result = await coll.updateOne(
      { _id: 1 },
      { $set: { 'items.3': 'D', 'nested.y': 2 }, $unset: { gone: '' }, $inc: { n: 5 }, $push: { log: { $each: ['p', 'q'], $position: 0 } } as never },
    );
    expect([result.matchedCount, result.modifiedCount]).toEqual([1, 1]);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 6, items: ['a', 'b', 'c', 'D'], nested: { x: 1, y: 2 }, log: ['p', 'q'] });
    await coll.updateOne({ _id: 1 }, { $pull: { items: { $in: ['a', 'c'] } } as never, $pop: { log: 1 } });
    await coll.updateOne({ _id: 1 }, { $push: { log: { $each: ['first'], $position: 0 } } as never });
    expect(await coll.findOne({ _id: 1 })).toMatchObject({ items: ['b', 'D'], log: ['first', 'p'] });
    const noop = await coll.updateOne({ _id: 1 }, { $set: { n: 6 } });
    expect([noop.matchedCount, noop.modifiedCount]).toEqual([1, 0]);
    const up = await coll.updateOne({ key: 'k1' }, { $set: { v: 1 }, $setOnInsert: { created: true } }, { upsert: true });
    expect(up.upsertedCount).toBe(1);
    expect(up.upsertedId).toBeInstanceOf(ObjectId);
    expect(await coll.findOne({ key: 'k1' }, { projection: { _id: 0 } })).toEqual({ key: 'k1', v: 1, created: true });
    const replaced = await coll.replaceOne({ _id: 1 }, { only: 'this' });
    expect(replaced.modifiedCount).toBe(1);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, only: 'this' });
    const many = await coll.updateMany({}, { $set: { touched: true } });
    expect(many.matchedCount).toBe(2);
  });

  test('numeric types survive a round trip and $inc keeps MongoDB result types', async () => {
    const coll = db.collection<Loose>('types');
    await coll.insertOne({ _id: 1, i: new Int32(1), d: new Double(1), l: Long.fromNumber(1) });
    await coll.updateOne({ _id: 1 }, { $inc: { i: new Int32(2), d: new Int32(2), l: new Int32(2) } });
    const raw = await coll.findOne({ _id: 1 }, { promoteValues: false });
    expect(raw!.i).toBeInstanceOf(Int32);
    expect(raw!.d).toBeInstanceOf(Double);
    expect(raw!.l).toBeInstanceOf(Long);
    expect([raw!.i.valueOf(), raw!.d.valueOf(), Number(raw!.l)]).toEqual([3, 3, 3]);
  });

  test('bad updates are refused with MongoDB codes and leave the document alone', async () => {
    const coll = db.collection<Loose>('badupdates');
    await coll.insertOne({ _id: 1, s: 'text' });
    // Statement errors come back as writeErrors, which carry a code but (as in mongod) no codeName.
    const inc = await serverError(coll.updateOne({ _id: 1 }, { $inc: { s: 1 } }));
    expect([inc.code, inc.message]).toEqual([14, expect.stringContaining('Cannot apply $inc to a value of non-numeric type')]);
    const idChange = await serverError(coll.updateOne({ _id: 1 }, { $set: { _id: 2 } }));
    expect([idChange.code, idChange.message]).toEqual([66, "Performing an update on the path '_id' would modify the immutable field '_id'"]);
    const conflict = await serverError(coll.updateOne({ _id: 1 }, { $set: { a: 1 }, $unset: { 'a.b': '' } }));
    expect(conflict.code).toBe(40);
    const modifier = await serverError(db.command({ update: 'badupdates', updates: [{ q: {}, u: { $bogus: { a: 1 } } }] }).then((r) => {
      if (r.writeErrors) throw new MongoServerError(r.writeErrors[0]);
      return r;
    }));
    expect([modifier.code, modifier.message]).toEqual([9, expect.stringContaining('Unknown modifier: $bogus')]);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, s: 'text' });
  });

  test('delete with limit 1 and 0, and findOneAndUpdate', async () => {
    const coll = db.collection<Loose>('deletes');
    await coll.insertMany([{ k: 1 }, { k: 1 }, { k: 1 }, { k: 2 }]);
    expect((await coll.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ k: 1 })).deletedCount).toBe(2);
    expect(await coll.countDocuments()).toBe(1);
    const before = await coll.findOneAndUpdate({ k: 2 }, { $set: { k: 3 } });
    expect(before).toMatchObject({ k: 2 });
    const after = await coll.findOneAndUpdate({ k: 3 }, { $inc: { k: 1 } }, { returnDocument: 'after' });
    expect(after).toMatchObject({ k: 4 });
  });

  test('bulkWrite: one command per run of same-kind operations, ordered and unordered', async () => {
    const coll = db.collection<Loose>('bulk');
    const monitored = await target.client({ monitorCommands: true });
    const sent: Array<{ name: string; count: number }> = [];
    monitored.on('commandStarted', (e) => {
      const c = e.command;
      const count = (c.documents ?? c.updates ?? c.deletes)?.length;
      if (count !== undefined) sent.push({ name: e.commandName, count });
    });
    const result = await monitored.db(target.dbName).collection<Loose>('bulk').bulkWrite([
      { insertOne: { document: { _id: 1, v: 1 } } },
      { insertOne: { document: { _id: 2, v: 1 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { v: 2 } } } },
      { updateMany: { filter: {}, update: { $inc: { v: 10 } } } },
      { replaceOne: { filter: { _id: 3 }, replacement: { v: 3 }, upsert: true } },
      { deleteOne: { filter: { _id: 2 } } },
    ]);
    expect([result.insertedCount, result.matchedCount, result.modifiedCount, result.upsertedCount, result.deletedCount]).toEqual([2, 3, 3, 1, 1]);
    expect(sent).toEqual([{ name: 'insert', count: 2 }, { name: 'update', count: 3 }, { name: 'delete', count: 1 }]);
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1, v: 12 }, { _id: 3, v: 3 }]);
  });
});

describe('catalog', () => {
  test('create, listCollections, listDatabases, drop, and their errors', async () => {
    await db.createCollection('made', { changeStreamPreAndPostImages: { enabled: true } });
    const exists = await serverError(db.createCollection('made'));
    expect([exists.code, exists.codeName]).toEqual([48, 'NamespaceExists']);
    const listed = await db.listCollections({ name: 'made' }).toArray();
    expect(listed).toEqual([
      expect.objectContaining({ name: 'made', type: 'collection', options: { changeStreamPreAndPostImages: { enabled: true } } }),
    ]);
    const names = (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    expect(names).toContain(target.dbName);
    expect(await db.collection<Loose>('made').drop()).toBe(true);
    expect((await db.listCollections({ name: 'made' }).toArray()).length).toBe(0);
    const collMod = await serverError(db.command({ collMod: 'nope', changeStreamPreAndPostImages: { enabled: true } }));
    expect([collMod.code, collMod.codeName]).toEqual([26, 'NamespaceNotFound']);
    const badName = await serverError(db.collection<Loose>('bad$name').insertOne({}));
    expect([badName.code, badName.codeName]).toEqual([73, 'InvalidNamespace']);
  });

  test('countDocuments goes through aggregate $match + $group; estimatedDocumentCount through count', async () => {
    const coll = db.collection<Loose>('counted');
    await coll.insertMany(Array.from({ length: 7 }, (_, i) => ({ i })));
    expect(await coll.countDocuments({ i: { $gte: 3 } })).toBe(4);
    expect(await coll.countDocuments({}, { skip: 2, limit: 3 })).toBe(3);
    expect(await coll.estimatedDocumentCount()).toBe(7);
    expect(await coll.distinct('i', { i: { $lt: 3 } })).toEqual([0, 1, 2]);
  });

  test('every error reply has ok 0, errmsg, code and codeName; unknown commands are CommandNotFound', async () => {
    const raw = await db.command({ definitelyNotACommand: 1 }).catch((e: MongoServerError) => e.errorResponse);
    expect(raw).toMatchObject({ ok: 0, code: 59, codeName: 'CommandNotFound', errmsg: "no such command: 'definitelyNotACommand'" });
  });
});

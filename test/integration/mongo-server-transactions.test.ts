import { MongoServerError, type ClientSession, type Db, type MongoClient } from 'mongodb';
import { openMongoTarget, type MongoTarget } from '../helpers/mongo-target';

/** Test documents: any `_id`, any fields. */
type Loose = { _id?: string | number | object; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

let target: MongoTarget;
let client: MongoClient;
let other: MongoClient;
let db: Db;

beforeAll(async () => {
  target = await openMongoTarget('txn');
  client = await target.client();
  other = await target.client();
  db = client.db(target.dbName);
  await db.createCollection('accounts');
});
afterAll(() => target.close());

beforeEach(async () => {
  await db.collection<Loose>('accounts').deleteMany({});
  await db.collection<Loose>('accounts').insertMany([
    { _id: 'a', balance: 100 },
    { _id: 'b', balance: 0 },
  ]);
});

const outside = () => other.db(target.dbName).collection<Loose>('accounts');

async function inSession<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = client.startSession();
  try {
    return await work(session);
  } finally {
    await session.endSession();
  }
}

async function rejection(promise: Promise<unknown>): Promise<MongoServerError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof MongoServerError) return e;
    throw e;
  }
  throw new Error('expected a server error');
}

test('writes become visible to others atomically at commit; the transaction sees its own writes', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    const accounts = db.collection<Loose>('accounts');
    await accounts.updateOne({ _id: 'a' }, { $inc: { balance: -30 } }, { session });
    await accounts.updateOne({ _id: 'b' }, { $inc: { balance: 30 } }, { session });
    await accounts.insertOne({ _id: 'c', balance: 1 }, { session });
    expect(await accounts.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', balance: 70 },
      { _id: 'b', balance: 30 },
      { _id: 'c', balance: 1 },
    ]);
    expect(await outside().find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', balance: 100 },
      { _id: 'b', balance: 0 },
    ]);
    await session.commitTransaction();
  });
  expect(await outside().find().sort({ _id: 1 }).toArray()).toEqual([
    { _id: 'a', balance: 70 },
    { _id: 'b', balance: 30 },
    { _id: 'c', balance: 1 },
  ]);
});

test('abort discards every write', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    await db.collection<Loose>('accounts').deleteMany({}, { session });
    await db.collection<Loose>('accounts').insertOne({ _id: 'z' }, { session });
    await session.abortTransaction();
  });
  expect((await outside().find().toArray()).map((d) => d._id).sort()).toEqual(['a', 'b']);
});

test('reads in a transaction come from its snapshot: commits by others after it started stay invisible', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    const accounts = db.collection<Loose>('accounts');
    expect(await accounts.findOne({ _id: 'a' }, { session })).toEqual({ _id: 'a', balance: 100 });
    await outside().updateOne({ _id: 'a' }, { $set: { balance: 999 } });
    await outside().insertOne({ _id: 'new', balance: 5 });
    expect(await accounts.findOne({ _id: 'a' }, { session })).toEqual({ _id: 'a', balance: 100 });
    expect(await accounts.countDocuments({}, { session })).toBe(2);
    await session.commitTransaction();
  });
  expect(await outside().findOne({ _id: 'a' })).toEqual({ _id: 'a', balance: 999 });
});

test('writing a document changed since the snapshot is a WriteConflict labelled TransientTransactionError, and aborts the transaction', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    const accounts = db.collection<Loose>('accounts');
    await accounts.findOne({ _id: 'b' }, { session });
    await outside().updateOne({ _id: 'a' }, { $set: { balance: 1 } });
    const conflict = await rejection(accounts.updateOne({ _id: 'a' }, { $inc: { balance: 1 } }, { session }));
    expect([conflict.code, conflict.codeName]).toEqual([112, 'WriteConflict']);
    expect(conflict.errorLabels).toContain('TransientTransactionError');
    const after = await rejection(accounts.findOne({ _id: 'a' }, { session }));
    expect([after.code, after.codeName]).toEqual([251, 'NoSuchTransaction']);
    expect(after.errorLabels).toContain('TransientTransactionError');
    await session.abortTransaction().catch(() => undefined);
  });
});

test('two transactions writing one document: the second writer conflicts (first writer wins)', async () => {
  const s1 = client.startSession();
  const s2 = other.startSession();
  s1.startTransaction();
  s2.startTransaction();
  await db.collection<Loose>('accounts').updateOne({ _id: 'a' }, { $set: { by: 1 } }, { session: s1 });
  const conflict = await rejection(other.db(target.dbName).collection<Loose>('accounts').updateOne({ _id: 'a' }, { $set: { by: 2 } }, { session: s2 }));
  expect(conflict.code).toBe(112);
  await s1.commitTransaction();
  await s2.abortTransaction().catch(() => undefined);
  await Promise.all([s1.endSession(), s2.endSession()]);
  expect(await outside().findOne({ _id: 'a' })).toEqual({ _id: 'a', balance: 100, by: 1 });
});

test('a write outside any transaction waits for the transaction holding its document, then applies', async () => {
  const session = client.startSession();
  session.startTransaction();
  await db.collection<Loose>('accounts').updateOne({ _id: 'a' }, { $inc: { balance: 1 } }, { session });
  let applied = false;
  const blocked = outside().updateOne({ _id: 'a' }, { $inc: { balance: 10 } }).then(() => (applied = true));
  await new Promise((r) => setTimeout(r, 200));
  expect(applied).toBe(false);
  await session.commitTransaction();
  await blocked;
  await session.endSession();
  expect(await outside().findOne({ _id: 'a' })).toEqual({ _id: 'a', balance: 111 });
});

test('a duplicate key inside a transaction aborts it: commit is NoSuchTransaction', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    await db.collection<Loose>('accounts').insertOne({ _id: 'x' }, { session });
    const dup = await rejection(db.collection<Loose>('accounts').insertOne({ _id: 'a' }, { session }));
    expect(dup.code).toBe(11000);
    const commit = await rejection(session.commitTransaction());
    expect([commit.code, commit.codeName]).toEqual([251, 'NoSuchTransaction']);
    expect(commit.errorLabels).toContain('TransientTransactionError');
  });
  expect(await outside().findOne({ _id: 'x' })).toBeNull();
});

test('withTransaction retries the whole transaction on TransientTransactionError and commits once', async () => {
  await db.admin().command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: ['insert'], errorCode: 112, errorLabels: ['TransientTransactionError'] },
  });
  let attempts = 0;
  await inSession((session) =>
    session.withTransaction(async () => {
      attempts++;
      await db.collection<Loose>('accounts').updateOne({ _id: 'a' }, { $inc: { balance: -1 } }, { session });
      await db.collection<Loose>('accounts').insertOne({ _id: `t${attempts}` }, { session });
    }),
  );
  expect(attempts).toBe(2);
  expect(await outside().findOne({ _id: 'a' })).toEqual({ _id: 'a', balance: 99 });
  expect((await outside().find({ _id: { $in: ['t1', 't2'] } }).toArray()).map((d) => d._id)).toEqual(['t2']);
});

test('a commit that fails with a retryable error is retried by the driver and applied once (UnknownTransactionCommitResult)', async () => {
  await db.admin().command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: ['commitTransaction'], errorCode: 91 },
  });
  const monitored = await target.client({ monitorCommands: true });
  const commits: Array<{ ok: boolean; labels?: string[] }> = [];
  monitored.on('commandSucceeded', (e) => e.commandName === 'commitTransaction' && commits.push({ ok: true }));
  monitored.on('commandFailed', (e) => e.commandName === 'commitTransaction' && commits.push({ ok: false, labels: (e.failure as MongoServerError).errorLabels }));
  const session = monitored.startSession();
  session.startTransaction();
  await monitored.db(target.dbName).collection<Loose>('accounts').insertOne({ _id: 'once' }, { session });
  await session.commitTransaction();
  await session.endSession();
  expect(commits).toEqual([{ ok: false, labels: expect.arrayContaining(['RetryableWriteError', 'UnknownTransactionCommitResult']) }, { ok: true }]);
  expect(await outside().countDocuments({ _id: 'once' })).toBe(1);
});

test('commands a transaction may not run are OperationNotSupportedInTransaction', async () => {
  await inSession(async (session) => {
    session.startTransaction();
    await db.collection<Loose>('accounts').findOne({}, { session });
    const error = await rejection(db.command({ count: 'accounts' }, { session }));
    expect([error.code, error.codeName]).toEqual([263, 'OperationNotSupportedInTransaction']);
    await session.abortTransaction().catch(() => undefined);
  });
});

describe('killSessions', () => {
  test("aborts the sessions' open transactions at once: their documents are free, their commit is NoSuchTransaction", async () => {
    await inSession(async (session) => {
      session.startTransaction();
      await db.collection<Loose>('accounts').updateOne({ _id: 'a' }, { $inc: { balance: -10 } }, { session });
      await other.db('admin').command({ killSessions: [{ id: session.id!.id }] });
      // Another transaction may write the document now (no WriteConflict with the killed one).
      const s2 = other.startSession();
      try {
        await s2.withTransaction(() => outside().updateOne({ _id: 'a' }, { $inc: { balance: 1 } }, { session: s2 }));
      } finally {
        await s2.endSession();
      }
      const e = await rejection(session.commitTransaction());
      expect(e.code).toBe(251);
    });
    expect((await outside().findOne({ _id: 'a' }))!.balance).toBe(101);
  });
});

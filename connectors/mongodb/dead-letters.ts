import type { ClientSession, Db } from 'mongodb';
import type { DeadLetter, DeadLetterRecord, DeadLetterStore } from '../kit/dead-letters';
import type { ApplyPositionStore } from '../kit/reject';

/**
 * Where apply keeps its state in the mapped database, written inside the apply transaction:
 * `tributary_apply_positions` (one document per connector and realm: `_id` `<connector>:<path>`,
 * `txn`) and `tributary_dead_letters`. Every apply transaction writes its position document, which
 * is also how capture recognises the connector's own transactions (capture.ts).
 */

export type MongoTx = { db: Db; session: ClientSession | undefined };

export function positionId(connector: string, path: string): string {
  return `${connector}:${path}`;
}

async function ensureCollection(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (e) {
    if ((e as { code?: number }).code !== 48) throw e; // NamespaceExists
  }
}

export function mongoApplyPositions(connector: string, collection: string): ApplyPositionStore<MongoTx> {
  return {
    ensure: (tx) => ensureCollection(tx.db, collection),
    read: async (tx, path) => {
      const d = await tx.db.collection<{ _id: string; txn?: number }>(collection).findOne({ _id: positionId(connector, path) }, { session: tx.session });
      return d ? Number(d.txn ?? 0) : 0;
    },
    write: async (tx, path, txn) => {
      await tx.db.collection<{ _id: string }>(collection).updateOne({ _id: positionId(connector, path) }, { $set: { connector, realmPath: path, txn, updatedAt: new Date() } }, { upsert: true, session: tx.session });
    },
  };
}

type LetterDoc = Omit<DeadLetterRecord, 'id' | 'createdAt'> & { _id: number; connector: string; createdAt: Date };

export function mongoDeadLetters(connector: string, collection: string): DeadLetterStore<MongoTx> {
  const coll = (tx: MongoTx) => tx.db.collection<LetterDoc>(collection);
  let seq = 0;
  return {
    ensure: (tx) => ensureCollection(tx.db, collection),
    async record(tx, letter: DeadLetter) {
      const id = Date.now() * 1000 + (seq++ % 1000);
      await coll(tx).insertOne({ _id: id, connector, ...letter, createdAt: new Date() }, { session: tx.session });
      return id;
    },
    async list(tx, limit = 1000) {
      const docs = await coll(tx).find({ connector }, { session: tx.session }).sort({ _id: 1 }).limit(limit).toArray();
      return docs.map(({ _id, connector: _c, createdAt, ...rest }) => ({ ...rest, id: _id, createdAt: createdAt.toISOString() }));
    },
    count: (tx) => coll(tx).countDocuments({ connector }, { session: tx.session }),
    async clear(tx, ids) {
      const r = await coll(tx).deleteMany(ids ? { connector, _id: { $in: ids } } : { connector }, { session: tx.session });
      return r.deletedCount;
    },
  };
}

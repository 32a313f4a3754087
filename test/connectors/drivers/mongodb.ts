import { Double, Int32, type ClientSession, type Db, type Document, type MongoClient } from 'mongodb';
import { openMongoTarget, REAL_MONGO_URL } from '../../helpers/mongo-target';
import type { ColumnSpec, ColumnType, ConformanceDriver, DbOp, DriverDatabase, DriverSession, Row, TableSpec } from '../driver';

/**
 * The MongoDB conformance driver: the wire-level test server (test/mongo-server) as a single-node
 * replica set, or a real MongoDB when MONGO_URL is set (test/helpers/mongo-target.ts). A table is a
 * collection whose `_id` is the `id` column; its columns are declared to the connector in the
 * config's `schema` (MongoDB has no catalog of field types); counters need pre-images, so their
 * collections are created with `changeStreamPreAndPostImages`.
 */

const DECLARED: Record<ColumnType, string> = { int: 'int', string: 'string', double: 'double', bool: 'bool', date: 'date' };

function toBson(v: Row[string], type: ColumnType | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return type === 'double' ? new Double(v) : Number.isInteger(v) ? new Int32(v) : new Double(v);
  return v;
}

function plainValue(v: unknown): Row[string] {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null && 'valueOf' in v && (v as { _bsontype?: string })._bsontype) return Number((v as { valueOf(): unknown }).valueOf());
  return v as Row[string];
}

async function runOps(client: MongoClient, db: Db, specs: Map<string, TableSpec>, ops: DbOp[], session: ClientSession): Promise<void> {
  const typeOf = (table: string, col: string) => specs.get(table)?.columns.find((c) => c.name === col)?.type;
  const doc = (table: string, row: Row): Document => {
    const out: Document = {};
    for (const [k, v] of Object.entries(row)) out[k === 'id' ? '_id' : k] = toBson(v, typeOf(table, k));
    return out;
  };
  const idOf = (table: string, key: Row) => toBson(key.id ?? null, typeOf(table, 'id'));
  await session.withTransaction(async () => {
    for (const o of ops) {
      const c = db.collection(o.table);
      switch (o.op) {
        case 'insert':
          await c.insertOne(doc(o.table, o.row), { session });
          break;
        case 'upsert': {
          const { _id, ...rest } = doc(o.table, o.row);
          await c.updateOne({ _id: _id as never }, { $set: rest }, { upsert: true, session });
          break;
        }
        case 'update':
          await c.updateOne({ _id: idOf(o.table, o.key) as never }, { $set: doc(o.table, o.set) }, { session });
          break;
        case 'delete': {
          const id = idOf(o.table, o.key);
          await c.deleteOne({ _id: id as never }, { session });
          for (const [name, spec] of specs) for (const r of spec.references ?? []) if (r.table === o.table && r.onDelete === 'cascade') await db.collection(name).deleteMany({ [r.column]: id }, { session });
          break;
        }
        case 'increment':
          await c.updateOne({ _id: idOf(o.table, o.key) as never }, { $inc: { [o.column]: new Int32(o.by) } }, { session });
          break;
      }
    }
  });
  void client;
}

export const mongodbDriver: ConformanceDriver = {
  type: 'mongodb',
  skipReason: () => null,
  applyLocksRowsAtBarrier: false,
  isTransientWriteError: (e) => (e as { hasErrorLabel?: (l: string) => boolean }).hasErrorLabel?.('TransientTransactionError') === true || (e as { code?: number }).code === 112,
  unreachableConfig: () => ({ url: 'mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=1000&connectTimeoutMS=1000', database: 'none' }),
  async open(label): Promise<DriverDatabase> {
    const target = await openMongoTarget(`conf_${label}`);
    const client = await target.client();
    const db = client.db(target.dbName);
    const specs = new Map<string, TableSpec>();
    const sessions: MongoClient[] = [];
    const main = client.startSession();
    return {
      connectorConfig: () => ({
        url: target.url,
        database: target.dbName,
        idProperty: 'id',
        schema: Object.fromEntries([...specs].map(([name, s]) => [name, Object.fromEntries(s.columns.map((c) => [c.name === 'id' ? '_id' : c.name, DECLARED[c.type] + (c.name === 'id' ? '' : '?')]))])),
      }),
      async createTable(spec) {
        specs.set(spec.name, spec);
        await db.createCollection(spec.name, spec.counters?.length ? { changeStreamPreAndPostImages: { enabled: true } } : {});
      },
      transaction: (ops) => runOps(client, db, specs, ops, main),
      async session(): Promise<DriverSession> {
        const c = await target.client();
        sessions.push(c);
        const s = c.startSession();
        return { transaction: (ops) => runOps(c, c.db(target.dbName), specs, ops, s), close: () => s.endSession() };
      },
      async rows(table, columns) {
        const spec = specs.get(table);
        const cols = columns ?? spec?.columns.map((c) => c.name) ?? [];
        const docs = await db.collection(table).find({}, { promoteValues: false }).sort({ _id: 1 }).toArray();
        return docs.map((d) => Object.fromEntries([...new Set(['id', ...cols])].map((c) => [c, plainValue(d[c === 'id' ? '_id' : c])])));
      },
      async addColumn(table, column: ColumnSpec) {
        specs.get(table)?.columns.push(column);
      },
      async columnNames(table) {
        const names = new Set<string>();
        for (const d of await db.collection(table).find({}).toArray()) for (const k of Object.keys(d)) names.add(k === '_id' ? 'id' : k);
        return [...names];
      },
      close: async () => undefined,
      async dispose() {
        await main.endSession().catch(() => undefined);
        await target.close();
      },
    };
  },
};

/** Which database the suite ran against (printed by the test file). */
export const mongoTargetName = REAL_MONGO_URL ? `a real MongoDB (MONGO_URL)` : 'the wire-level test server (test/mongo-server)';

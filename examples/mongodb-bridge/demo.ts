/**
 * A MongoDB ↔ realms bridge in one script (docs/connectors/mongodb.md): a shop's `product` and
 * `order` collections, products in one catalog realm, orders partitioned by their `_partition`
 * field (one realm per customer, as Atlas Device Sync did). An application keeps writing MongoDB
 * with the plain driver; realm clients see it live, and their edits come back as BSON of the same
 * types.
 *
 *   MONGO_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0' npx tsx examples/mongodb-bridge/demo.ts
 *   npx tsx examples/mongodb-bridge/demo.ts            # no MONGO_URL: the wire-level test server
 *
 * It starts a sync server in-process (or uses TRIBUTARY_URL + TRIBUTARY_ADMIN_TOKEN), works in a
 * database of its own (`MONGO_DB`, default `tributary_bridge_demo`, dropped at the start) and a
 * temporary directory, and prints what happens.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Decimal128 as BsonDecimal, Int32, MongoClient, ObjectId as BsonObjectId } from 'mongodb';
import { MongoConnector } from '../../connectors/mongodb';
import { User } from '../../src/client';
import { Decimal128, ObjectId as RealmObjectId } from '../../src/model';
import { Realm } from '../../src/realm';
import { JsonLogger, Server, readAdminToken, silentLogger } from '../../src/server';

/** Resolves once `check` holds, re-checking at every change the realm downloads. */
function whenClientSees(realm: Realm, what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onChange = () => {
      if (!check()) return;
      clearTimeout(timer);
      realm.removeListener('change', onChange);
      resolve();
    };
    const timer = setTimeout(() => reject(new Error(`the client did not see ${what} within ${timeoutMs} ms`)), timeoutMs);
    realm.addListener('change', onChange);
  });
}

export async function runDemo(say: (line: string) => void = (l) => console.log(l)): Promise<{ captured: number; applied: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mongodb-bridge-'));
  let testServer: { url: string; stop(): Promise<void> } | null = null;
  let url = process.env.MONGO_URL;
  if (!url) {
    const { startMongoTestServer } = await import('../../test/mongo-server');
    testServer = await startMongoTestServer();
    url = testServer.url;
    say(`mongodb: the wire-level test server at ${url} (set MONGO_URL for a real replica set)`);
  } else say(`mongodb: ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
  let server: Server | null = null;
  let serverUrl = process.env.TRIBUTARY_URL;
  let adminToken = process.env.TRIBUTARY_ADMIN_TOKEN;
  if (!serverUrl) {
    server = new Server({ dataPath: path.join(dir, 'server'), port: 0, logger: silentLogger });
    await server.start();
    serverUrl = `realm://127.0.0.1:${server.port}`;
    adminToken = readAdminToken(path.join(dir, 'server'));
    say(`server: started in-process at ${serverUrl}`);
  }
  const admin = User.adminUser(adminToken!, serverUrl.replace(/^realm(s?):/, 'http$1:'));
  const mongo = new MongoClient(url);
  const database = process.env.MONGO_DB ?? 'tributary_bridge_demo';
  const db = mongo.db(database);
  let connector: MongoConnector | null = null;
  const realms: Realm[] = [];
  try {
    await db.dropDatabase();
    await db.createCollection('product');
    await db.createCollection('order');
    const tea = new BsonObjectId();
    await db.collection('product').insertMany([
      { _id: tea, name: 'Green tea', price: BsonDecimal.fromString('4.50'), stock: new Int32(12), tags: ['tea', 'organic'], dims: { w: 7, h: 12 } },
      { _id: new BsonObjectId(), name: 'Mug', price: BsonDecimal.fromString('9.90'), stock: new Int32(3), tags: ['kitchen'] },
    ]);
    await db.collection('order').insertOne({ _id: new BsonObjectId(), _partition: '/customers/ann', product_id: tea, qty: new Int32(2), at: new Date(Date.UTC(2026, 0, 5)) });

    connector = new MongoConnector(
      {
        name: 'bridge_demo',
        url,
        database,
        serverUrl,
        adminToken,
        localPath: path.join(dir, 'connector'),
        tables: {
          product: { type: 'Product', realm: '/catalog', columns: { stock: { counter: true } } },
          order: { type: 'Order', partition: true, references: { product_id: 'product' } },
        },
        schema: { order: { _id: 'objectId', product_id: 'objectId', qty: 'int', at: 'date?' } },
      },
      { adminUser: admin, log: process.env.BRIDGE_LOG ? new JsonLogger('info') : undefined, onProgress: (p) => p.done && say(`connector: loaded ${p.table}: ${p.rows} document(s)`) },
    );
    await connector.start();
    const open = async (p: string) => {
      const r = await Realm.open({ sync: { user: admin, url: serverUrl + p }, path: path.join(dir, 'clients', p.replace(/\//g, '_') + '.db') });
      realms.push(r);
      await r.syncSession!.downloadAllServerChanges(30_000);
      return r;
    };
    const catalog = await open('/catalog');
    const ann = await open('/customers/ann');
    const product = (id: BsonObjectId) => catalog.objectForPrimaryKey<Record<string, any>>('Product', new RealmObjectId(id.toHexString()))!;
    say(`client /catalog: ${catalog.objects('Product').length} products; "${product(tea).name}" at ${product(tea).price}, tags [${[...product(tea).tags].join(', ')}], dims ${product(tea).dims}`);
    say(`client /customers/ann: ${ann.objects('Order').length} order(s)`);

    // The application writes MongoDB with the plain driver.
    await db.collection('product').updateOne({ _id: tea }, { $inc: { stock: -2 }, $push: { tags: 'sale' } as never });
    say('mongodb: product stock -2, tags += sale');
    await whenClientSees(catalog, 'the stock change', () => product(tea).stock === 10 && product(tea).tags.length === 3);
    say(`client sees: stock ${product(tea).stock}, tags [${[...product(tea).tags].join(', ')}]`);

    // A realm client edits: a price, an increment, a new order in the customer's realm.
    catalog.write(() => {
      product(tea).price = new Decimal128('4.20');
      catalog.increment(product(tea), 'stock', 5);
    });
    ann.write(() => ann.create('Order', { _id: new RealmObjectId(new BsonObjectId().toHexString()), product_id: product(tea)._id, qty: 1, at: new Date(Date.UTC(2026, 0, 6)) }));
    for (const r of [catalog, ann]) await r.syncSession!.uploadAllLocalChanges(30_000);
    await connector.quiesce(60_000);
    const doc = (await db.collection('product').findOne({ _id: tea }))!;
    const orders = await db.collection('order').find({ _partition: '/customers/ann' }).toArray();
    say(`mongodb: product price ${doc.price} (${doc.price._bsontype}), stock ${doc.stock}; ann has ${orders.length} orders, the new one with _partition ${orders[1]?._partition}`);
    const s = connector.status();
    say(`connector: ${s.transactions - s.skippedOwnTransactions} MongoDB transactions captured, ${s.apply!.applied} realm transactions applied, ${s.skippedOwnTransactions} own skipped`);
    return { captured: s.transactions - s.skippedOwnTransactions, applied: s.apply!.applied };
  } finally {
    for (const r of realms) if (!r.isClosed) r.close();
    await connector?.stop();
    await mongo.close(true);
    admin.logout();
    await server?.stop();
    await testServer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runDemo().then(
    () => console.log('done'),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

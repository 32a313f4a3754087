import { randomBytes } from 'node:crypto';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { startMongoTestServer, type MongoTestServer, type MongoTestServerOptions } from '../mongo-server';

/**
 * Where the MongoDB tests run: the wire-level test server (test/mongo-server), or a real MongoDB
 * when MONGO_URL is set (a single-node replica set: `mongod --replSet rs0` + `rs.initiate()`; the
 * fault-injection tests also need `--setParameter enableTestCommands=1`). Tests that need the test
 * server's own controls (restart, dropConnections, a small oplog) skip against a real one.
 */
export interface MongoTarget {
  url: string;
  /** The test server, or undefined when MONGO_URL points at a real MongoDB. */
  server: MongoTestServer | undefined;
  /** A database name of its own for this test file. */
  dbName: string;
  client(options?: MongoClientOptions): Promise<MongoClient>;
  close(): Promise<void>;
}

export const REAL_MONGO_URL = process.env.MONGO_URL;

/** `it` when running on the test server, `it.skip` against a real MongoDB. */
export const onTestServer = REAL_MONGO_URL ? it.skip : it;

export async function openMongoTarget(name: string, options?: MongoTestServerOptions): Promise<MongoTarget> {
  const server = REAL_MONGO_URL ? undefined : await startMongoTestServer(options);
  const url = REAL_MONGO_URL ?? server!.url;
  const clients: MongoClient[] = [];
  const dbName = `tributary_${name}_${randomBytes(4).toString('hex')}`;
  return {
    url,
    server,
    dbName,
    async client(clientOptions?: MongoClientOptions) {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, ...clientOptions });
      clients.push(client);
      await client.connect();
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close(true).catch(() => undefined)));
      if (REAL_MONGO_URL) {
        const admin = new MongoClient(url);
        await admin.db(dbName).dropDatabase().catch(() => undefined);
        await admin.close();
      }
      await server?.stop();
    },
  };
}

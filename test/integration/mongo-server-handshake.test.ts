import { connect, type Socket } from 'node:net';
import { BSON, MongoClient, type ServerHeartbeatSucceededEvent } from 'mongodb';
import { REAL_MONGO_URL } from '../helpers/mongo-target';
import { startMongoTestServer, type MongoTestServer } from '../mongo-server';
import { encodeRequest } from '../mongo-server/wire/messages';

const describeOnTestServer = REAL_MONGO_URL ? describe.skip : describe;

/** Sends raw bytes and returns the first reply's body document. */
async function roundTrip(server: MongoTestServer, bytes: Buffer, bodyOffset: number): Promise<BSON.Document> {
  const socket: Socket = connect(server.port, server.host);
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= all.readInt32LE(0)) {
        socket.destroy();
        resolve(BSON.deserialize(all.subarray(bodyOffset)));
      }
    });
    socket.write(bytes);
  });
}

function opQuery(collection: string, query: object): Buffer {
  const name = Buffer.from(collection + '\0');
  const doc = Buffer.from(BSON.serialize(query));
  const buffer = Buffer.alloc(28 + name.length + doc.length);
  buffer.writeInt32LE(buffer.length, 0);
  buffer.writeInt32LE(1, 4);
  buffer.writeInt32LE(2004, 12);
  name.copy(buffer, 20);
  buffer.writeInt32LE(-1, 24 + name.length);
  doc.copy(buffer, 28 + name.length);
  return buffer;
}

describeOnTestServer('handshake and monitoring', () => {
  let server: MongoTestServer;
  beforeAll(async () => {
    server = await startMongoTestServer({ replSetName: 'tributary' });
  });
  afterAll(() => server.stop());

  test('the driver sees a replica set primary, through replicaSet= and through directConnection=true', async () => {
    for (const url of [server.url, server.directUrl]) {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 });
      await client.connect();
      const hello = await client.db('admin').command({ hello: 1 });
      expect(hello).toMatchObject({
        isWritablePrimary: true,
        secondary: false,
        setName: 'tributary',
        hosts: [`${server.host}:${server.port}`],
        me: `${server.host}:${server.port}`,
        logicalSessionTimeoutMinutes: 30,
        maxWireVersion: 25,
      });
      expect(hello.topologyVersion.processId).toBeDefined();
      expect(hello.$clusterTime.clusterTime).toBeDefined();
      expect(hello.operationTime).toBeDefined();
      const type = (client as unknown as { topology: { description: { type: string } } }).topology.description.type;
      expect(type).toBe(url === server.url ? 'ReplicaSetWithPrimary' : 'Single');
      await client.close();
    }
  });

  test("the driver's monitor streams awaitable hellos (exhaust) without failures", async () => {
    const client = new MongoClient(server.url, { heartbeatFrequencyMS: 300 });
    const beats: ServerHeartbeatSucceededEvent[] = [];
    let failures = 0;
    client.on('serverHeartbeatSucceeded', (e) => beats.push(e));
    client.on('serverHeartbeatFailed', () => failures++);
    await client.connect();
    await new Promise((r) => setTimeout(r, 1400));
    await client.close();
    expect(failures).toBe(0);
    const awaited = beats.filter((b) => b.awaited);
    expect(awaited.length).toBeGreaterThanOrEqual(2);
    expect(awaited.length).toBeLessThanOrEqual(6);
  });

  test('OP_QUERY is answered for the legacy hello only; OP_MSG needs $db', async () => {
    const hello = await roundTrip(server, opQuery('admin.$cmd', { isMaster: 1 }), 36);
    expect(hello).toMatchObject({ ismaster: true, setName: 'tributary', ok: 1 });
    const find = await roundTrip(server, opQuery('app.$cmd', { find: 'c' }), 36);
    expect(find).toMatchObject({ ok: 0, code: 352, codeName: 'UnsupportedOpQueryCommand' });
    const noDb = await roundTrip(server, encodeRequest({ ping: 1 }, 9), 21);
    expect(noDb).toMatchObject({ ok: 0, code: 40571, errmsg: 'OP_MSG requests require a $db argument' });
  });
});

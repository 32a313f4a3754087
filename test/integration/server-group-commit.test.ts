import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apply } from '../../src/changeset/apply';
import { decodeChangeset, encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { MemoryState } from '../../src/changeset/state';
import { readAdminToken, Server, silentLogger } from '../../src/server';
import { RawSyncClient } from '../helpers/server-process';

const SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Counter',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'string', optional: false },
    { name: 'owner', type: 'string', optional: false },
    { name: 'n', type: 'int', optional: false },
  ],
};

let dataPath: string;
let server: Server;
const clients: RawSyncClient[] = [];

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-group-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

async function adminSession(session: number, realmPath: string) {
  const c = await RawSyncClient.connect(`${server.url.replace('http', 'ws')}/sync`, readAdminToken(dataPath));
  clients.push(c);
  c.send({ type: 'BIND', session, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', session);
  c.send({ type: 'IDENT', session, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  const first = await c.nextOf('DOWNLOAD', session);
  return { c, fileIdent: ident.fileIdent, first };
}

async function snapshot(realmPath: string): Promise<MemoryState> {
  const { c } = await adminSession(99, realmPath);
  c.send({ type: 'STATE_REQUEST', session: 99 });
  const state = await c.nextOf('STATE', 99);
  const replica = new MemoryState();
  apply(replica, decodeChangeset(state.data));
  return replica;
}

test('uploads from many sessions arriving together are committed in few transactions and all acknowledged', async () => {
  const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => adminSession(1, `/group/r${i}`)));
  const before = server.stats.batches;
  sessions.forEach(({ c }, i) =>
    c.send({
      type: 'UPLOAD',
      session: 1,
      progressClientVersion: 1,
      progressServerVersion: 0,
      changesets: [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 1000 + i, data: encodeChangeset([SCHEMA, { op: 'Create', type: 'Counter', id: 'c', values: { owner: `r${i}`, n: i } }]) }],
    }),
  );
  const acks = await Promise.all(sessions.map(({ c }) => c.nextOf('DOWNLOAD', 1)));
  expect(acks.every((a) => a.uploadClientVersion === 1 && a.serverVersion === 1)).toBe(true);
  expect(server.stats.batches - before).toBeLessThan(12);
  expect(server.stats.largestBatch).toBeGreaterThan(1);
});

test('concurrent conflicting uploads to one realm merge through the stored reciprocal history', async () => {
  const n = 6;
  const sessions = [];
  for (let i = 0; i < n; i++) sessions.push(await adminSession(1, '/group/shared'));
  const [creator] = sessions;
  creator!.c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: 1,
    progressServerVersion: 0,
    changesets: [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 1, data: encodeChangeset([SCHEMA, { op: 'Create', type: 'Counter', id: 'c', values: { owner: 'nobody', n: 0 } }]) }],
  });
  // Every session gets version 1 before writing on top of it.
  await Promise.all(sessions.map(({ c }) => c.next((m) => m.type === 'DOWNLOAD' && m.serverVersion === 1)));

  // Two rounds, each based on version 1 only: round two transforms against the reciprocal copies of round one.
  for (const round of [1, 2]) {
    sessions.forEach(({ c }, i) => {
      const clientVersion = i === 0 ? round + 1 : round;
      c.send({
        type: 'UPLOAD',
        session: 1,
        progressClientVersion: clientVersion,
        progressServerVersion: 1,
        changesets: [
          {
            clientVersion,
            lastIntegratedServerVersion: 1,
            originTimestamp: 10_000 * round + i,
            data: encodeChangeset([
              { op: 'Set', type: 'Counter', id: 'c', values: { owner: `s${i}-round${round}` } },
              { op: 'AddInteger', type: 'Counter', id: 'c', property: 'n', delta: 1 },
            ]),
          },
        ],
      });
    });
    await Promise.all(sessions.map(({ c }, i) => c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === (i === 0 ? round + 1 : round))));
  }
  const state = await snapshot('/group/shared');
  const counter = state.getObject('Counter', 'c')!;
  // Last writer by (timestamp, file ident) wins the Set; every increment counts.
  expect(counter.values.owner).toBe(`s${n - 1}-round2`);
  expect(counter.values.n).toBe(2 * n);
});

function createUpload(session: number, clientVersion: number, id: string, extra: Instruction[] = []) {
  return {
    type: 'UPLOAD' as const,
    session,
    progressClientVersion: clientVersion,
    progressServerVersion: 0,
    changesets: [
      {
        clientVersion,
        lastIntegratedServerVersion: 0,
        originTimestamp: 1000 + clientVersion,
        data: encodeChangeset([...extra, { op: 'Create', type: 'Counter', id, values: { owner: 'me', n: clientVersion } }]),
      },
    ],
  };
}

test('one session streaming uploads has them committed together (pipelined), acknowledged in order', async () => {
  const { c } = await adminSession(1, '/group/stream');
  const before = server.stats.batches;
  const n = 40;
  for (let v = 1; v <= n; v++) c.send(createUpload(1, v, `c${v}`, v === 1 ? [SCHEMA] : []));
  const acks: number[] = [];
  while (acks[acks.length - 1] !== n) acks.push((await c.nextOf('DOWNLOAD', 1)).uploadClientVersion);
  expect(acks).toEqual([...acks].sort((a, b) => a - b));
  expect(server.stats.batches - before).toBeLessThan(n);
  const state = await snapshot('/group/stream');
  expect([...state.objects('Counter')]).toHaveLength(n);
});

test('when a pipelined upload fails, the later uploads of that session are not integrated', async () => {
  const { c } = await adminSession(1, '/group/gap');
  c.send(createUpload(1, 1, 'a', [SCHEMA]));
  await c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 1);
  // Version 2 sets a property of an object that does not exist (the applier rejects it); 3 and 4 are fine.
  c.send({ ...createUpload(1, 2, 'b'), changesets: [{ clientVersion: 2, lastIntegratedServerVersion: 0, originTimestamp: 2000, data: encodeChangeset([{ op: 'Set', type: 'Counter', id: 'ghost', values: { n: 1 } }]) }] });
  c.send(createUpload(1, 3, 'c'));
  c.send(createUpload(1, 4, 'd'));
  const error = await c.nextOf('ERROR', 1);
  expect(error.code).toBeGreaterThanOrEqual(200);
  await new Promise((r) => setTimeout(r, 100));
  const state = await snapshot('/group/gap');
  expect([...state.objects('Counter')].map((o) => o.id)).toEqual(['a']);
});

test('upload backpressure: a connection over maxPendingUploadBytes stops being read until its uploads commit', async () => {
  await server.stop();
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, maxPendingUploadBytes: 1 });
  await server.start();
  const { c } = await adminSession(1, '/group/pressure');
  const n = 30;
  for (let v = 1; v <= n; v++) c.send(createUpload(1, v, `c${v}`, v === 1 ? [SCHEMA] : []));
  let acked = 0;
  while (acked !== n) acked = (await c.nextOf('DOWNLOAD', 1)).uploadClientVersion;
  expect(server.stats.readPauses).toBeGreaterThan(0);
  // The connection still works after its backlog drained.
  c.send({ type: 'PING', timestamp: 5, rtt: 0 });
  expect((await c.nextOf('PONG')).timestamp).toBe(5);
  const state = await snapshot('/group/pressure');
  expect([...state.objects('Counter')]).toHaveLength(n);
});

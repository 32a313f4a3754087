import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalState } from '../../src/changeset';
import type { Instruction } from '../../src/changeset/instructions';
import { readAdminToken, Server, silentLogger } from '../../src/server';
import { ITEM_SCHEMA as SCHEMA, itemTotal, mergedInOneGo, offlineChangesets, snapshotOf, upload, writerChangesets, type Changeset } from '../helpers/offline-merge';
import { RawSyncClient } from '../helpers/server-process';

// A big upload merged against a long history is integrated in slices (uploadSliceMs), one commit
// job each: other sessions' uploads commit in between, a second UPLOAD of the same client that
// arrives meanwhile waits for the first to finish, and the result is exactly what integrating the
// same changesets in one go gives.

const OBJECTS = 50;

let dataPath: string;
let server: Server;
const clients: RawSyncClient[] = [];

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-slices-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, uploadSliceMs: 1 });
  await server.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

async function session(realmPath: string) {
  const c = await RawSyncClient.connect(`${server.url.replace('http', 'ws')}/sync`, readAdminToken(dataPath));
  clients.push(c);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', 1);
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  await c.nextOf('DOWNLOAD', 1);
  return { c, fileIdent: ident.fileIdent };
}

test('a big offline upload is merged in slices while another realm keeps committing, with the same result as in one go', async () => {
  const writer = await session('/slices/shared');
  const offline = await session('/slices/shared');
  const bystander = await session('/slices/other');

  // The writer creates the objects and then changes them many times (server versions 1..301).
  const { setup, writes } = writerChangesets(OBJECTS, 300);
  upload(writer.c, [setup], 0);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 1);
  upload(writer.c, writes, 1);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 301);
  // The offline client saw only version 1, then made 400 changes to the same objects, sent as two
  // UPLOAD messages back to back.
  await offline.c.next((m) => m.type === 'DOWNLOAD' && m.serverVersion >= 1);
  const mine = offlineChangesets(OBJECTS, 400, 300);
  const batchesBefore = server.stats.batches;
  const bystanderAcks: number[] = [];
  let offlineDone = false;
  const offlineAck = offline.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 400, 120_000).then(() => (offlineDone = true));
  upload(offline.c, mine.slice(0, 200), 1);
  upload(offline.c, mine.slice(200), 1);
  // The bystander commits one changeset after another while the merge runs.
  let v = 0;
  while (!offlineDone && v < 200) {
    v++;
    upload(bystander.c, [{ clientVersion: v, lastIntegratedServerVersion: 0, originTimestamp: v, instructions: v === 1 ? [SCHEMA] : [{ op: 'Create', type: 'Item', id: v, values: { label: 'b', n: 0 } }] }], 0);
    await bystander.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === v);
    if (!offlineDone) bystanderAcks.push(v);
  }
  await offlineAck;
  expect(bystanderAcks.length).toBeGreaterThan(1);
  expect(server.stats.batches - batchesBefore).toBeGreaterThan(3);

  // The same changesets integrated in one go, in memory, give the same state.
  const { state } = mergedInOneGo([[writer.fileIdent, [setup, ...writes]], [offline.fileIdent, mine]]);
  const check = await session('/slices/shared');
  check.c.send({ type: 'STATE_REQUEST', session: 1 });
  const snapshot = await check.c.nextState(1);
  const merged = snapshotOf(snapshot.data);
  expect(canonicalState(merged)).toEqual(canonicalState(state));
  // Every increment of both clients counted.
  const total = itemTotal(merged);
  expect(total).toBe(300 + 400 * 10);
});

test('UPLOADs streamed back to back, each sliced, while another session commits: every changeset integrated, in order', async () => {
  // Regression: a later UPLOAD of a client once overtook an earlier one that was waiting for its
  // turn (the commit queue had run another session's job between), and the earlier one's
  // changesets were then skipped as already integrated — acknowledged, never stored.
  const writer = await session('/slices/stream');
  const bystander = await session('/slices/stream-other');
  const MESSAGES = 30;
  const PER_MESSAGE = 20;
  const CREATES = 25;
  let cv = 0;
  const sent: Changeset[][] = [];
  for (let m = 0; m < MESSAGES; m++) {
    const changesets: Changeset[] = Array.from({ length: PER_MESSAGE }, () => {
      cv++;
      const creates = Array.from({ length: CREATES }, (_, i): Instruction => ({ op: 'Create', type: 'Item', id: cv * 1000 + i, values: { label: `c${cv}`, n: cv } }));
      return { clientVersion: cv, lastIntegratedServerVersion: 0, originTimestamp: cv, instructions: cv === 1 ? [SCHEMA, ...creates] : creates };
    });
    sent.push(changesets);
  }
  const acked = writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === cv, 120_000);
  let writerDone = false;
  void acked.then(() => (writerDone = true));
  for (const changesets of sent) upload(writer.c, changesets, 0);
  // Short jobs of another session all along, so the queue has other work to put between slices.
  let v = 0;
  while (!writerDone && v < 500) {
    v++;
    upload(bystander.c, [{ clientVersion: v, lastIntegratedServerVersion: 0, originTimestamp: v, instructions: v === 1 ? [SCHEMA] : [{ op: 'Create', type: 'Item', id: v, values: { label: 'b', n: 0 } }] }], 0);
    await bystander.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === v);
  }
  await acked;
  expect(v).toBeGreaterThan(1);
  // Both clients write alone in their realms and have nothing left to upload (each upload was
  // acknowledged above): no merge state is kept for them.
  expect(server.stats.mergeStates).toBe(0);

  const check = await session('/slices/stream');
  check.c.send({ type: 'STATE_REQUEST', session: 1 });
  const snapshot = await check.c.nextState(1);
  const items = [...snapshotOf(snapshot.data).objects('Item')];
  expect(items).toHaveLength(MESSAGES * PER_MESSAGE * CREATES);
  // In client-version order: each changeset's objects carry its version.
  const byVersion = new Map<number, number>();
  for (const r of items) byVersion.set(r.values.n as number, (byVersion.get(r.values.n as number) ?? 0) + 1);
  expect([...byVersion.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: cv }, (_, i) => i + 1));
  expect(new Set(byVersion.values())).toEqual(new Set([CREATES]));
});

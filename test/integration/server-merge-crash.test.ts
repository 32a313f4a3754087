import { apply, canonicalState } from '../../src/changeset';
import { decodeChangeset, encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { MemoryState } from '../../src/changeset/state';
import { MemoryHistory, UploadIntegration } from '../../src/merge';
import { RawSyncClient, startServerProcess, type ServerProcess } from '../helpers/server-process';

// A long offline merge is integrated in slices, each durable on its own, and the reciprocal copies
// it changes are kept in memory, made durable only by the upload journal. A server killed with
// -9 in the middle of such a merge keeps a prefix of the upload; the client sends the rest again,
// and the server, rebuilding the copies from the journal, must merge it exactly as it would have
// without the crash.

const SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Item',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 'label', type: 'string', optional: false },
    { name: 'n', type: 'int', optional: false },
  ],
};
const OBJECTS = 40;
const WRITES = 400;
const OFFLINE = 4000;
const KILL_AFTER = 600;

interface Changeset {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  instructions: Instruction[];
}

let server: ServerProcess;
const clients: RawSyncClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.dispose();
});

/** Binds session 1 to `realmPath` as a new client file, or as `file` again from download cursor 0, and waits for the first DOWNLOAD. */
async function session(realmPath: string, file?: { fileIdent: number; fileSalt: number }) {
  const c = await RawSyncClient.connect(server.syncUrl, server.adminToken);
  clients.push(c);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: file === undefined });
  const ident = file ?? (await c.nextOf('IDENT', 1));
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  const first = await c.nextOf('DOWNLOAD', 1, 60_000);
  return { c, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, first };
}

/** Every history entry's instructions by version, downloaded by a new client file. */
async function downloadAll(realmPath: string): Promise<string[]> {
  const { c, first } = await session(realmPath);
  const out: string[] = [];
  for (let m = first; ; m = await c.nextOf('DOWNLOAD', 1, 60_000)) {
    for (const x of m.changesets) out[x.serverVersion - 1] = JSON.stringify(decodeChangeset(x.data));
    if (m.downloadableBytes === 0 && m.serverVersion === m.latestServerVersion) return out;
  }
}

function upload(c: RawSyncClient, changesets: Changeset[], progressServerVersion: number): void {
  c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: changesets[changesets.length - 1]!.clientVersion,
    progressServerVersion,
    changesets: changesets.map((x) => ({ clientVersion: x.clientVersion, lastIntegratedServerVersion: x.lastIntegratedServerVersion, originTimestamp: x.originTimestamp, data: encodeChangeset(x.instructions) })),
  });
}

test('a server killed mid-merge resumes from the upload journal: the re-sent rest merges exactly as without the crash', async () => {
  server = await startServerProcess({ args: ['--upload-slice-ms', '1'] });
  const writer = await session('/merge-crash/shared');
  const offline = await session('/merge-crash/shared');
  const watcher = await session('/merge-crash/shared');

  // The writer creates the objects and then changes them many times (server versions 1..WRITES+1).
  const setup: Changeset = {
    clientVersion: 1,
    lastIntegratedServerVersion: 0,
    originTimestamp: 1,
    instructions: [SCHEMA, ...Array.from({ length: OBJECTS }, (_, i): Instruction => ({ op: 'Create', type: 'Item', id: i, values: { label: 'start', n: 0 } }))],
  };
  const writes: Changeset[] = Array.from({ length: WRITES }, (_, k) => ({
    clientVersion: k + 2,
    lastIntegratedServerVersion: 1,
    originTimestamp: 10 + 2 * k,
    instructions: [{ op: 'Set', type: 'Item', id: (k * 7) % OBJECTS, values: { label: `w${k}` } }, { op: 'AddInteger', type: 'Item', id: (k * 7) % OBJECTS, property: 'n', delta: 1 }],
  }));
  upload(writer.c, [setup], 0);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 1);
  upload(writer.c, writes, 1);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === WRITES + 1, 60_000);
  // The offline client saw only version 1, then changed the same objects many times; timestamps
  // interleave with the writer's, so both sides win some.
  const mine: Changeset[] = Array.from({ length: OFFLINE }, (_, k) => ({
    clientVersion: k + 1,
    lastIntegratedServerVersion: 1,
    originTimestamp: 11 + 2 * (k % WRITES),
    instructions: [{ op: 'Set', type: 'Item', id: (k * 3) % OBJECTS, values: { label: `o${k}` } }, { op: 'AddInteger', type: 'Item', id: (k * 3) % OBJECTS, property: 'n', delta: 10 }],
  }));

  // Kill -9 once the watcher has seen a good part of the merge land (enough for changesets on
  // both sides of the kill to meet the same entries), well before its end.
  upload(offline.c, mine, 1);
  let seen = 0;
  await watcher.c.next((m) => m.type === 'DOWNLOAD' && (seen += m.changesets.filter((c) => c.originFileIdent === offline.fileIdent).length) >= KILL_AFTER, 60_000);
  await server.restart('SIGKILL');
  clients.splice(0).forEach((c) => c.close());

  // What survived: a prefix of the offline upload, neither none nor all of it.
  const check = await session('/merge-crash/shared');
  check.c.send({ type: 'STATE_REQUEST', session: 1 });
  const before = await check.c.nextState(1);
  const kept = new MemoryState();
  apply(kept, decodeChangeset(before.data));
  const keptIncrements = [...kept.objects('Item')].reduce((s, r) => s + (r.values.n as number), 0);
  const keptOffline = (keptIncrements - WRITES) / 10;
  expect(keptOffline).toBeGreaterThan(0);
  expect(keptOffline).toBeLessThan(OFFLINE);

  // The offline client reconnects at the cursor it had and sends everything unacknowledged again.
  const again = await session('/merge-crash/shared', { fileIdent: offline.fileIdent, fileSalt: offline.fileSalt });
  upload(again.c, mine, 1);
  await again.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === OFFLINE, 120_000);

  // The same changesets integrated in one go, in memory, give the same state.
  const history = new MemoryHistory();
  const state = new MemoryState();
  for (const [ident, list] of [[writer.fileIdent, [setup, ...writes]], [offline.fileIdent, mine]] as const) {
    const merge = new UploadIntegration(ident);
    merge.use(history, state);
    merge.load(0);
    for (const c of list) {
      const r = merge.integrate(c);
      if (r.version !== undefined) apply(state, r.instructions);
    }
    merge.flush();
  }
  // The history too: every transformed changeset the server appended, as other clients download
  // them (a merge against stale reciprocal copies shows here first: the final values of a
  // last-writer-wins property can agree while the changesets that led there do not).
  const expected = Array.from({ length: history.latestVersion() }, (_, i) => JSON.stringify(history.entry(i + 1)!.instructions));
  expect(await downloadAll('/merge-crash/shared')).toEqual(expected);
  check.c.send({ type: 'STATE_REQUEST', session: 1 });
  const after = await check.c.nextState(1);
  const merged = new MemoryState();
  apply(merged, decodeChangeset(after.data));
  expect(canonicalState(merged)).toEqual(canonicalState(state));
  const total = [...merged.objects('Item')].reduce((s, r) => s + (r.values.n as number), 0);
  expect(total).toBe(WRITES + OFFLINE * 10);
}, 180_000);

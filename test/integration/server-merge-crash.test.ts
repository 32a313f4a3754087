import { canonicalState } from '../../src/changeset';
import { decodeChangeset } from '../../src/changeset/codec';
import { itemTotal, mergedInOneGo, offlineChangesets, snapshotOf, upload, writerChangesets } from '../helpers/offline-merge';
import { RawSyncClient, startServerProcess, type ServerProcess } from '../helpers/server-process';

// A long offline merge is integrated in slices, each durable on its own, and the reciprocal copies
// it changes are kept in memory, made durable only by the upload journal. A server killed with
// -9 in the middle of such a merge keeps a prefix of the upload; the client sends the rest again,
// and the server, rebuilding the copies from the journal, must merge it exactly as it would have
// without the crash.

const OBJECTS = 40;
const WRITES = 400;
const OFFLINE = 4000;
const KILL_AFTER = 600;

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

test('a server killed mid-merge resumes from the upload journal: the re-sent rest merges exactly as without the crash', async () => {
  server = await startServerProcess({ args: ['--upload-slice-ms', '1'] });
  const writer = await session('/merge-crash/shared');
  const offline = await session('/merge-crash/shared');
  const watcher = await session('/merge-crash/shared');

  // The writer creates the objects and then changes them many times (server versions 1..WRITES+1).
  const { setup, writes } = writerChangesets(OBJECTS, WRITES);
  upload(writer.c, [setup], 0);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 1);
  upload(writer.c, writes, 1);
  await writer.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === WRITES + 1, 60_000);
  // The offline client saw only version 1, then changed the same objects many times.
  const mine = offlineChangesets(OBJECTS, OFFLINE, WRITES);

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
  const keptOffline = (itemTotal(snapshotOf(before.data)) - WRITES) / 10;
  expect(keptOffline).toBeGreaterThan(0);
  expect(keptOffline).toBeLessThan(OFFLINE);

  // The offline client reconnects and sends everything not acknowledged again.
  const again = await session('/merge-crash/shared', { fileIdent: offline.fileIdent, fileSalt: offline.fileSalt });
  upload(again.c, mine, 1);
  await again.c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === OFFLINE, 120_000);

  // The same changesets integrated in one go, in memory, give the same state.
  const { history, state } = mergedInOneGo([[writer.fileIdent, [setup, ...writes]], [offline.fileIdent, mine]]);
  // The history too: every transformed changeset the server appended, as other clients download
  // them (a merge against stale reciprocal copies shows here first: the final values of a
  // last-writer-wins property can agree while the changesets that led there do not).
  const expected = Array.from({ length: history.latestVersion() }, (_, i) => JSON.stringify(history.entry(i + 1)!.instructions));
  expect(await downloadAll('/merge-crash/shared')).toEqual(expected);
  check.c.send({ type: 'STATE_REQUEST', session: 1 });
  const merged = snapshotOf((await check.c.nextState(1)).data);
  expect(canonicalState(merged)).toEqual(canonicalState(state));
  expect(itemTotal(merged)).toBe(WRITES + OFFLINE * 10);
}, 180_000);

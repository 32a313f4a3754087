import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeChangeset, type Instruction } from '../../src/changeset';
import { Notifier, type ChangeEvent } from '../../src/notifier';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';
import { RawSyncClient } from '../helpers/server-process';

const REALMS = 1000;
const MAX_OPEN = 100;
// Local copies are SQLite files; on a tmpfs this test measures the notifier, not the disk's fsyncs.
const TMP = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

let fx: AdminFixture;
let writer: RawSyncClient | null = null;
beforeEach(async () => {
  fx = await adminFixture({ maxSessionsPerConnection: 5000 }, TMP);
});
afterEach(async () => {
  writer?.close();
  await fx.dispose();
});

const ITEM_TYPE: Instruction = {
  op: 'AddType',
  type: 'Item',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 'round', type: 'int', optional: false },
  ],
};

/** A protocol-level writer (no local files): one session per realm on one socket. */
async function createRealms(c: RawSyncClient): Promise<void> {
  await Promise.all(
    Array.from({ length: REALMS }, async (_, i) => {
      const session = i + 1;
      c.send({ type: 'BIND', session, path: fx.userPath(`scale-${i}`), needIdent: true });
      const ident = await c.next((m) => (m.type === 'IDENT' || m.type === 'ERROR') && m.session === session, 30_000);
      if (ident.type !== 'IDENT') throw new Error(`bind failed: ${JSON.stringify(ident)}`);
      c.send({ type: 'IDENT', session, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
      await c.next((m) => m.type === 'DOWNLOAD' && m.session === session, 30_000);
    }),
  );
}

async function writeRound(c: RawSyncClient, round: number): Promise<void> {
  await Promise.all(
    Array.from({ length: REALMS }, async (_, i) => {
      const session = i + 1;
      const clientVersion = round + 1;
      const instructions: Instruction[] = [...(round === 0 ? [ITEM_TYPE] : []), { op: 'Create', type: 'Item', id: round, values: { round } }];
      c.send({
        type: 'UPLOAD',
        session,
        progressClientVersion: clientVersion,
        progressServerVersion: 0,
        changesets: [{ clientVersion, lastIntegratedServerVersion: 0, originTimestamp: Date.now() * 1024 + round, data: encodeChangeset(instructions) }],
      });
      await c.next((m) => m.type === 'DOWNLOAD' && m.session === session && m.uploadClientVersion >= clientVersion, 30_000);
    }),
  );
}

test(`one notifier watches ${REALMS} realms on one WebSocket; idle copies are closed beyond maxOpenRealms`, async () => {
  writer = await RawSyncClient.connect(`ws://127.0.0.1:${fx.server.port}/sync`, fx.writer.token);
  await createRealms(writer);
  await writeRound(writer, 0);
  const n = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'listener'), maxOpenRealms: MAX_OPEN, concurrency: 64 });
  const events = new Map<string, number[][]>();
  await n.addListener('/scale-\\d+$', 'change', (e: ChangeEvent) => {
    const ids = e.changes.Item.insertions.map((i) => e.realm.objects<any>('Item')[i].id as number);
    const list = events.get(e.path) ?? [];
    list.push(ids);
    events.set(e.path, list);
  });
  expect(n.watchedPaths).toHaveLength(REALMS);
  await waitFor(() => events.size === REALMS, 40_000, 'first event of every realm');
  await writeRound(writer, 1);
  await waitFor(() => [...events.values()].every((l) => l.length === 2), 40_000, 'second event of every realm');
  for (let i = 0; i < REALMS; i++) expect(events.get(fx.userPath(`scale-${i}`))).toEqual([[0], [1]]);

  // One WebSocket for every realm: the writer's and the notifier's are the server's only two.
  expect(fx.server.stats.connections).toBe(2);
  const sessions = fx.admin.sessions;
  expect(sessions.length).toBe(REALMS + 1); // + the /__admin directory
  const connections = new Set(sessions.map((s) => (s as unknown as { connection: unknown }).connection));
  expect(connections.size).toBe(1);
  expect(([...connections][0] as { stats: { connects: number } }).stats.connects).toBe(1);
  await waitFor(() => n.openRealmCount <= MAX_OPEN, 5_000, 'idle copies closed');
  expect(n.stats.evictions).toBeGreaterThan(0);
  await n.close();
}, 60_000);

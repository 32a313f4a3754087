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

/** jest's time-out of the test; its steps share a budget a little inside it (room for the afterEach). */
const TEST_TIMEOUT_MS = 60_000;
const BUDGET_MS = TEST_TIMEOUT_MS - 5_000;

/**
 * One deadline for every step of the test: each step, and each wait inside it, gets what is left,
 * so under load the test fails naming the step that did not finish and how long the earlier ones
 * took, instead of with jest's time-out after waits that add up past it.
 */
class Deadline {
  private readonly at: number;
  private readonly done: string[] = [];
  constructor(private readonly totalMs: number) {
    this.at = Date.now() + totalMs;
  }
  /** Runs a step within what is left; `progress` describes how far it got, for the failure. */
  async step<T>(what: string, run: (leftMs: number) => Promise<T>, progress?: () => string): Promise<T> {
    const began = Date.now();
    const left = this.at - began;
    const failure = (reason: string) =>
      new Error(`${what}: ${reason}${progress ? `; ${progress()}` : ''} (${left} ms were left of the test's ${this.totalMs} ms; earlier steps: ${this.done.join(', ') || 'none'})`);
    if (left <= 0) throw failure('no time left');
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(failure(`not done after ${left} ms`)), left);
    });
    try {
      const value = await Promise.race([run(left), expired]);
      this.done.push(`${what} ${Date.now() - began} ms`);
      return value;
    } catch (e) {
      throw (e as Error).message.startsWith(`${what}: `) ? e : failure((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}

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
async function createRealms(c: RawSyncClient, timeoutMs: number): Promise<void> {
  await Promise.all(
    Array.from({ length: REALMS }, async (_, i) => {
      const session = i + 1;
      c.send({ type: 'BIND', session, path: fx.userPath(`scale-${i}`), needIdent: true });
      const ident = await c.next((m) => (m.type === 'IDENT' || m.type === 'ERROR') && m.session === session, timeoutMs);
      if (ident.type !== 'IDENT') throw new Error(`bind failed: ${JSON.stringify(ident)}`);
      c.send({ type: 'IDENT', session, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
      await c.next((m) => m.type === 'DOWNLOAD' && m.session === session, timeoutMs);
    }),
  );
}

async function writeRound(c: RawSyncClient, round: number, timeoutMs: number): Promise<void> {
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
      await c.next((m) => m.type === 'DOWNLOAD' && m.session === session && m.uploadClientVersion >= clientVersion, timeoutMs);
    }),
  );
}

test(`one notifier watches ${REALMS} realms on one WebSocket; idle copies are closed beyond maxOpenRealms`, async () => {
  const deadline = new Deadline(BUDGET_MS);
  const w = (writer = await deadline.step('connecting the writer', () => RawSyncClient.connect(`ws://127.0.0.1:${fx.server.port}/sync`, fx.writer.token)));
  await deadline.step(`creating ${REALMS} realms`, (left) => createRealms(w, left));
  await deadline.step('writing round 0', (left) => writeRound(w, 0, left));
  const n = new Notifier({ serverUrl: fx.realmUrl, adminUser: fx.admin, directory: path.join(fx.dir, 'listener'), maxOpenRealms: MAX_OPEN, concurrency: 64 });
  try {
    const events = new Map<string, number[][]>();
    await deadline.step('adding the listener', () =>
      n.addListener('/scale-\\d+$', 'change', (e: ChangeEvent) => {
        const ids = e.changes.Item.insertions.map((i) => e.realm.objects<any>('Item')[i].id as number);
        const list = events.get(e.path) ?? [];
        list.push(ids);
        events.set(e.path, list);
      }),
    );
    expect(n.watchedPaths).toHaveLength(REALMS);
    await deadline.step('the first event of every realm', (left) => waitFor(() => events.size === REALMS, left), () => `${events.size} of ${REALMS} realms had one`);
    await deadline.step('writing round 1', (left) => writeRound(w, 1, left));
    const twice = () => [...events.values()].filter((l) => l.length === 2).length;
    await deadline.step('the second event of every realm', (left) => waitFor(() => twice() === REALMS, left), () => `${twice()} of ${REALMS} realms had two`);
    for (let i = 0; i < REALMS; i++) expect(events.get(fx.userPath(`scale-${i}`))).toEqual([[0], [1]]);

    // One WebSocket for every realm: the writer's and the notifier's are the server's only two.
    expect(fx.server.stats.connections).toBe(2);
    const sessions = fx.admin.sessions;
    expect(sessions.length).toBe(REALMS + 1); // + the /__admin directory
    const connections = new Set(sessions.map((s) => (s as unknown as { connection: unknown }).connection));
    expect(connections.size).toBe(1);
    expect(([...connections][0] as { stats: { connects: number } }).stats.connects).toBe(1);
    await deadline.step('closing idle copies', (left) => waitFor(() => n.openRealmCount <= MAX_OPEN, left), () => `${n.openRealmCount} copies open, at most ${MAX_OPEN} wanted`);
    expect(n.stats.evictions).toBeGreaterThan(0);
  } finally {
    await n.close();
  }
}, TEST_TIMEOUT_MS);

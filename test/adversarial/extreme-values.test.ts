import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { User } from '../../src/client';
import type { ClientMessage } from '../../src/protocol/messages';
import { Realm } from '../../src/realm';
import { Server, silentLogger } from '../../src/server';
import { Prng, testSeed } from '../helpers/prng';
import { RawSyncClient } from '../helpers/server-process';

// Every number a client puts in a message is checked against what the server and the other
// replicas can hold. A hostile (or broken) client sending extreme values gets a coded ERROR at
// worst; it never poisons the realm for others or drags the server's clock: afterwards ordinary
// clients on the same realm still write and sync, and the server's own realm (/__admin) still
// records new realms. (Before, an UPLOAD with originTimestamp 2^53 − 1 was acknowledged, and every
// other replica of the realm then failed on its next write.)

const EXTREMES = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 48, Date.now() * 1024 * 4, 2 ** 53 - 1];
const schema = [{ name: 'Note', primaryKey: 'id', properties: { id: 'int', text: 'string' } }];

let dataPath: string;
let clientDir: string;
let server: Server;
let adminToken: string;

beforeAll(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-adv-'));
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-adv-client-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  adminToken = JSON.parse(fs.readFileSync(path.join(dataPath, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN;
});

afterAll(async () => {
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(clientDir, { recursive: true, force: true });
});

async function bound(realmPath: string): Promise<{ c: RawSyncClient; fileIdent: number; fileSalt: number }> {
  const c = await RawSyncClient.connect(`${server.url.replace('http', 'ws')}/sync`, adminToken);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', 1);
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  await c.nextOf('DOWNLOAD', 1);
  return { c, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt };
}

let probe = 1_000_000;
/**
 * The server's answer to what was just sent: an ERROR, a close, or the answer to a MARK sent right
 * after it on the same session (messages of a session are handled in order, so the MARK's answer
 * comes after whatever the message caused).
 */
async function outcome(c: RawSyncClient): Promise<string> {
  const requestId = probe++;
  c.send({ type: 'MARK', session: 1, requestId });
  const closed = c.closed.then(() => 'closed');
  const answered = c.next((m) => m.type === 'ERROR' || (m.type === 'MARK' && m.requestId === requestId), 10_000).then((m) => (m.type === 'ERROR' ? `error ${m.code}` : 'accepted'));
  return Promise.race([answered, closed]);
}

const noteType: Instruction = { op: 'AddType', type: 'Note', primaryKey: 'id', properties: [{ name: 'id', type: 'int', optional: false }, { name: 'text', type: 'string', optional: false }] };

/** Messages of every client type, with each numeric field replaced by `value` in turn. */
function variants(value: number, fileIdent: number, fileSalt: number, k: number): { field: string; message: ClientMessage }[] {
  const upload = (over: Record<string, number>, cs: Record<string, number>): ClientMessage => ({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: over.progressClientVersion ?? 1,
    progressServerVersion: over.progressServerVersion ?? 0,
    changesets: [
      {
        clientVersion: cs.clientVersion ?? 1,
        lastIntegratedServerVersion: cs.lastIntegratedServerVersion ?? 0,
        originTimestamp: cs.originTimestamp ?? Date.now() * 1024,
        data: encodeChangeset([noteType, { op: 'Create', type: 'Note', id: cs.id ?? k, values: { text: 'x' } }]),
      },
    ],
  });
  const ident = (f: string): ClientMessage => ({
    type: 'IDENT',
    session: 1,
    fileIdent,
    fileSalt,
    serverVersion: 0,
    lastIntegratedClientVersion: 0,
    latestServerVersion: 0,
    latestServerVersionSalt: 0,
    [f]: value,
  });
  return [
    { field: 'UPLOAD.progressClientVersion', message: upload({ progressClientVersion: value }, {}) },
    { field: 'UPLOAD.progressServerVersion', message: upload({ progressServerVersion: value }, {}) },
    { field: 'UPLOAD.changesets[0].clientVersion', message: upload({ progressClientVersion: value }, { clientVersion: value }) },
    { field: 'UPLOAD.changesets[0].lastIntegratedServerVersion', message: upload({}, { lastIntegratedServerVersion: value }) },
    { field: 'UPLOAD.changesets[0].originTimestamp', message: upload({}, { originTimestamp: value }) },
    { field: 'UPLOAD Create id', message: upload({}, { id: value }) },
    ...['fileIdent', 'fileSalt', 'serverVersion', 'lastIntegratedClientVersion', 'latestServerVersion', 'latestServerVersionSalt'].map((f) => ({ field: `IDENT.${f}`, message: ident(f) })),
    { field: 'MARK.requestId', message: { type: 'MARK', session: 1, requestId: value } },
    { field: 'PING.timestamp', message: { type: 'PING', timestamp: value, rtt: 0 } },
    { field: 'PING.rtt', message: { type: 'PING', timestamp: 1, rtt: value } },
    { field: 'UPLOAD.session', message: { ...upload({}, {}), session: value } as ClientMessage },
  ];
}

test('extreme numbers in every client message field get a coded answer and poison nothing', async () => {
  const rng = new Prng(testSeed('extreme values'));
  const outcomes = new Map<string, Set<string>>();
  let k = 1000;
  for (const value of EXTREMES) {
    const attacker = await bound('/adversarial/shared');
    const cases = variants(value, attacker.fileIdent, attacker.fileSalt, k++);
    // A random order each run; a fresh connection and client file for every case, so cursors an
    // earlier case moved do not decide the answer.
    attacker.c.close();
    for (const { field, message } of cases.sort(() => rng.next() - 0.5)) {
      const conn = await bound('/adversarial/shared');
      const m = message.type === 'IDENT' ? { ...message, fileIdent: field === 'IDENT.fileIdent' ? message.fileIdent : conn.fileIdent, fileSalt: field === 'IDENT.fileSalt' ? message.fileSalt : conn.fileSalt } : message;
      conn.c.send(m);
      const result = await outcome(conn.c);
      const seen = outcomes.get(field) ?? new Set();
      seen.add(`${value}:${result}`);
      outcomes.set(field, seen);
      conn.c.close();
    }
  }
  // A timestamp far ahead of the server's clock (one the other replicas could not even hold, too)
  // is refused; one in the past is an ordinary old timestamp.
  const timestamps = outcomes.get('UPLOAD.changesets[0].originTimestamp')!;
  for (const v of [2 ** 53 - 1, EXTREMES[6]!]) expect(timestamps).toContain(`${v}:error 111`);
  expect(timestamps).toContain(`${2 ** 48}:accepted`);
  // Every answer is an acceptance, a coded ERROR or a close: nothing hangs.
  for (const [field, seen] of outcomes) for (const o of seen) expect([field, o]).toEqual([field, expect.stringMatching(/:(accepted|error \d{3}|closed)$/)]);

  // Ordinary clients on the same realm still write and sync with each other.
  const alice = await User.register(server.url, 'alice', 'pw-alice-1');
  const realmUrl = `realm://127.0.0.1:${server.port}/adversarial/shared`;
  const admin = User.adminUser(adminToken, server.url);
  const a = new Realm({ schema: schema as any, sync: { user: admin, url: realmUrl }, path: path.join(clientDir, 'a.db') });
  const b = new Realm({ schema: schema as any, sync: { user: admin, url: realmUrl }, path: path.join(clientDir, 'b.db') });
  await a.syncSession!.downloadAllServerChanges(20_000);
  a.write(() => a.create('Note', { id: 1, text: 'after the attack' }, 'modified'));
  await a.syncSession!.uploadAllLocalChanges(20_000);
  await b.syncSession!.downloadAllServerChanges(20_000);
  expect(b.objectForPrimaryKey<any>('Note', 1)?.text).toBe('after the attack');
  b.write(() => b.create('Note', { id: 2, text: 'and back' }, 'modified'));
  await b.syncSession!.uploadAllLocalChanges(20_000);
  a.close();
  b.close();
  // The server's clock did not jump: its own realm still takes new entries (a new realm is recorded).
  const own = new Realm({ schema: schema as any, sync: { user: alice, url: `realm://127.0.0.1:${server.port}/~/mine` }, path: path.join(clientDir, 'c.db') });
  own.write(() => own.create('Note', { id: 1, text: 'mine' }));
  await own.syncSession!.uploadAllLocalChanges(20_000);
  own.close();
  const health = await fetch(`${server.url}/health`);
  expect(health.status).toBe(200);
  const adminView = await Realm.open({ sync: { user: admin, url: `realm://127.0.0.1:${server.port}/__admin` }, path: path.join(clientDir, 'admin.db') } as any);
  expect(adminView.objects<any>('RealmFile').some((r: any) => String(r.path).endsWith('/mine'))).toBe(true);
  adminView.close();
});

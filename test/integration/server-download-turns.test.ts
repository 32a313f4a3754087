import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { readAdminToken, Server, silentLogger } from '../../src/server';
import { RawSyncClient } from '../helpers/server-process';

// A client catching up on a long history is sent its DOWNLOADs one per turn of the event loop, so
// other sessions' work runs between them: a catch-up never holds the server for longer than the
// encoding of one DOWNLOAD (issue 11, "the server never stalls").

const SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Item',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 'label', type: 'string', optional: false },
  ],
};
const DOWNLOAD_CODE = 0x12;

let dataPath: string;
let server: Server;
const clients: RawSyncClient[] = [];
const originalSend = WebSocket.prototype.send;

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-download-turns-'));
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, downloadBatchBytes: 2048, maxBufferedBytes: 64 * 1024 * 1024 });
  await server.start();
});

afterEach(async () => {
  WebSocket.prototype.send = originalSend;
  for (const c of clients.splice(0)) c.close();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

async function bound(realmPath: string) {
  const c = await RawSyncClient.connect(`${server.url.replace('http', 'ws')}/sync`, readAdminToken(dataPath));
  clients.push(c);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', 1);
  return { c, ident };
}

/** A bound session that has sent IDENT and had its first DOWNLOAD. */
async function ready(realmPath: string) {
  const { c, ident } = await bound(realmPath);
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  await c.nextOf('DOWNLOAD', 1);
  return c;
}

/** One UPLOAD creating items 0…count-1 (the first changeset adds the schema). */
function uploadItems(c: RawSyncClient, count: number, label: (k: number) => string): void {
  c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: count,
    progressServerVersion: 0,
    changesets: Array.from({ length: count }, (_, k) => ({
      clientVersion: k + 1,
      lastIntegratedServerVersion: 0,
      originTimestamp: k + 1,
      data: encodeChangeset([...(k === 0 ? [SCHEMA] : []), { op: 'Create', type: 'Item', id: k, values: { label: label(k) } }]),
    })),
  });
}

/** Counts turns of this process's event loop (the server runs in it) until stopped. */
function countTurns(): { readonly turn: number; stop(): void } {
  let turn = 0;
  let counting = true;
  const tick = () => {
    turn++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turn() {
      return turn;
    },
    stop: () => (counting = false),
  };
}

test('a long catch-up goes out one DOWNLOAD per event-loop turn, and another session round-trips meanwhile', async () => {
  const writer = await ready('/turns/shared');
  const COUNT = 300;
  uploadItems(writer, COUNT, (k) => `item ${k} `.padEnd(200, '.'));
  await writer.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === COUNT);
  const bystander = await ready('/turns/other');

  // Turns of this process's event loop, and the turn each DOWNLOAD that carries changesets was
  // handed to its socket in.
  const turns = countTurns();
  const sends: { socket: WebSocket; turn: number }[] = [];
  WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    if (data instanceof Uint8Array && data[0] === DOWNLOAD_CODE && data.length > 512) sends.push({ socket: this, turn: turns.turn });
    return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
  } as typeof WebSocket.prototype.send;

  const { c: reader, ident: ri } = await bound('/turns/shared');
  let caughtUp = false;
  const done = reader.next((m) => m.type === 'DOWNLOAD' && m.serverVersion === COUNT, 60_000).then(() => (caughtUp = true));
  reader.send({ type: 'IDENT', session: 1, fileIdent: ri.fileIdent, fileSalt: ri.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  // The bystander writes while the reader catches up: each write acknowledged before the next.
  let acked = 0;
  await reader.nextOf('DOWNLOAD', 1);
  while (!caughtUp && acked < 50) {
    const v = acked + 1;
    bystander.send({
      type: 'UPLOAD',
      session: 1,
      progressClientVersion: v,
      progressServerVersion: 0,
      changesets: [{ clientVersion: v, lastIntegratedServerVersion: 0, originTimestamp: v, data: encodeChangeset(v === 1 ? [SCHEMA] : [{ op: 'Create', type: 'Item', id: v, values: { label: 'b' } }]) }],
    });
    await bystander.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === v);
    acked = v;
  }
  await done;
  turns.stop();

  // The reader's socket is the one most DOWNLOADs went to; each of them went out in a turn of its own.
  const bySocket = new Map<WebSocket, number[]>();
  for (const s of sends) bySocket.set(s.socket, [...(bySocket.get(s.socket) ?? []), s.turn]);
  const readerTurns = [...bySocket.values()].sort((a, b) => b.length - a.length)[0]!;
  expect(readerTurns.length).toBeGreaterThan(20);
  expect(new Set(readerTurns).size).toBe(readerTurns.length);
  expect(acked).toBeGreaterThan(0);
});

test('a catch-up over many small changesets is cut by count as well as by bytes: no DOWNLOAD is made from more than downloadBatchChangesets entries, one per turn', async () => {
  // A server whose byte bound would put the whole history in one DOWNLOAD.
  await server.stop();
  server = new Server({ dataPath, port: 0, address: '127.0.0.1', logger: silentLogger, downloadBatchBytes: 16 * 1024 * 1024, downloadBatchChangesets: 40 });
  await server.start();
  const writer = await ready('/turns/small');
  const COUNT = 400;
  uploadItems(writer, COUNT, () => 'x');
  // The writer's own entries count against the bound too, though it is sent none of them: its
  // cursor moves past them in DOWNLOADs without changesets.
  const ownCursors: number[] = [];
  await writer.next((m) => {
    if (m.type === 'DOWNLOAD') ownCursors.push(m.serverVersion);
    return m.type === 'DOWNLOAD' && m.uploadClientVersion === COUNT && m.serverVersion === COUNT;
  });
  expect(Math.max(...ownCursors)).toBe(COUNT);

  const loop = countTurns();
  const turns: number[] = [];
  WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    if (data instanceof Uint8Array && data[0] === DOWNLOAD_CODE) turns.push(loop.turn);
    return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
  } as typeof WebSocket.prototype.send;
  const { c: reader, ident: ri } = await bound('/turns/small');
  const sizes: number[] = [];
  reader.send({ type: 'IDENT', session: 1, fileIdent: ri.fileIdent, fileSalt: ri.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  await reader.next((m) => {
    if (m.type === 'DOWNLOAD' && m.changesets.length > 0) sizes.push(m.changesets.length);
    return m.type === 'DOWNLOAD' && m.serverVersion === COUNT;
  }, 60_000);
  loop.stop();
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(COUNT);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(40);
  expect(sizes.length).toBeGreaterThanOrEqual(COUNT / 40);
  const catchUpTurns = turns.slice(-sizes.length);
  expect(new Set(catchUpTurns).size).toBe(catchUpTurns.length);
});

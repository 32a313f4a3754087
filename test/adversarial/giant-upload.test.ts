import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { RawSyncClient, startServerProcess, type ServerProcess } from '../helpers/server-process';
import { summarize } from '../../bench/stats';

// One client's upload cannot freeze the server for the others. A single changeset over
// maxInstructionsPerChangeset is refused from its declared count, before it is decoded (a legal
// 1M-instruction upload used to hold the event loop for 20–35 s); a big legal upload is integrated
// in slices while another client's round trips keep going. Round-trip figures are printed; the
// assertions bound the worst case far below the old stall, not the machine-dependent p99.

const SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Row',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 's', type: 'string', optional: false },
  ],
};

let server: ServerProcess;
const clients: RawSyncClient[] = [];
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-giant-'));
  server = await startServerProcess({ dataPath: path.join(work, 'data') });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

async function session(realmPath: string): Promise<RawSyncClient> {
  const c = await RawSyncClient.connect(server.syncUrl, server.adminToken);
  clients.push(c);
  c.send({ type: 'BIND', session: 1, path: realmPath, needIdent: true });
  const ident = await c.nextOf('IDENT', 1);
  c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
  await c.nextOf('DOWNLOAD', 1);
  return c;
}

function creates(from: number, n: number): Instruction[] {
  return Array.from({ length: n }, (_, i): Instruction => ({ op: 'Create', type: 'Row', id: from + i, values: { s: 'x' } }));
}

/** One round trip of the bystander: a one-object changeset until its acknowledgement. */
let bystanderVersion = 0;
async function roundTrip(c: RawSyncClient): Promise<number> {
  const v = ++bystanderVersion;
  const start = performance.now();
  c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: v,
    progressServerVersion: 0,
    changesets: [{ clientVersion: v, lastIntegratedServerVersion: 0, originTimestamp: Date.now() * 1024, data: encodeChangeset(v === 1 ? [SCHEMA, ...creates(0, 1)] : creates(v, 1)) }],
  });
  await c.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === v, 60_000);
  return performance.now() - start;
}

test('a changeset over maxInstructionsPerChangeset is refused from its declared count; a big legal upload does not stall others', async () => {
  const bystander = await session('/giant/bystander');
  const idle: number[] = [];
  for (let i = 0; i < 30; i++) idle.push(await roundTrip(bystander));

  // 1,000,001 instructions in one changeset: refused at once.
  const attacker = await session('/giant/big');
  const huge = encodeChangeset([SCHEMA, ...creates(0, 1_000_000)]);
  const started = performance.now();
  attacker.send({ type: 'UPLOAD', session: 1, progressClientVersion: 1, progressServerVersion: 0, changesets: [{ clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: Date.now() * 1024, data: huge }] });
  const refusal = await attacker.nextOf('ERROR', undefined, 30_000);
  expect(refusal).toEqual(expect.objectContaining({ code: 104, message: expect.stringMatching(/maxInstructionsPerChangeset/) }));
  const refusedIn = performance.now() - started;

  // A legal big upload: 80 changesets of 5,000 instructions in one message, merged in slices.
  const writer = await session('/giant/legal');
  const changesets = Array.from({ length: 80 }, (_, k) => ({
    clientVersion: k + 1,
    lastIntegratedServerVersion: 0,
    originTimestamp: Date.now() * 1024 + k,
    data: encodeChangeset(k === 0 ? [SCHEMA, ...creates(0, 5000)] : creates(k * 5000, 5000)),
  }));
  let done = false;
  const acked = writer.next((m) => m.type === 'DOWNLOAD' && m.uploadClientVersion === 80, 120_000).then(() => (done = true));
  writer.send({ type: 'UPLOAD', session: 1, progressClientVersion: 80, progressServerVersion: 0, changesets });
  const during: number[] = [];
  while (!done) during.push(await roundTrip(bystander));
  await acked;
  const i = summarize(idle);
  const d = summarize(during);
  console.log(
    `giant upload: 1M-instruction changeset refused in ${refusedIn.toFixed(0)} ms; bystander round trips idle p50 ${i.p50.toFixed(1)} / p99 ${i.p99.toFixed(1)} ms, during the 400k-instruction upload (${during.length} trips) p50 ${d.p50.toFixed(1)} / p99 ${d.p99.toFixed(1)} / max ${d.max.toFixed(1)} ms (p99 ratio ${(d.p99 / i.p99).toFixed(1)})`,
  );
  expect(refusedIn).toBeLessThan(10_000);
  expect(during.length).toBeGreaterThan(3);
  // The old behaviour held every other client for many seconds; one slice and one changeset step
  // at most stand in the way now.
  expect(d.max).toBeLessThan(2_000);
});

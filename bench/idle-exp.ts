import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RawSyncClient } from '../test/helpers/server-process';
import { startBenchServer } from './server-process';
import { readAdminToken } from '../src/shared/admin-token';

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}
async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const shared = process.argv[3] === 'shared';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idle-'));
  const server = await startBenchServer(path.join(dir, 's'));
  const token = readAdminToken(path.join(dir, 's'));
  const warm = await RawSyncClient.connect(`ws://127.0.0.1:${server.port}/sync`, token);
  warm.close();
  await new Promise((r) => setTimeout(r, 500));
  const before = rss(server.pid);
  const t = performance.now();
  const clients: RawSyncClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RawSyncClient.connect(`ws://127.0.0.1:${server.port}/sync`, token);
    c.send({ type: 'BIND', session: 1, path: shared ? '/idle/shared' : `/idle/r${i}`, needIdent: true });
    const ident = await c.nextOf('IDENT', 1);
    c.send({ type: 'IDENT', session: 1, fileIdent: ident.fileIdent, fileSalt: ident.fileSalt, serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0 });
    await c.nextOf('DOWNLOAD', 1);
    clients.push(c);
  }
  const connectMs = performance.now() - t;
  await new Promise((r) => setTimeout(r, 2000));
  const after = rss(server.pid);
  console.log(`${n} clients (${shared ? 'one realm' : 'a realm each'}): connect ${connectMs.toFixed(0)} ms; server RSS +${((after - before) / n).toFixed(1)} KB per client`);
  for (const c of clients) c.close();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
main().then(() => process.exit(0));

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Server, silentLogger } from '../src/server';
import { readAdminToken } from '../src/shared/admin-token';

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idle2-'));
  const server = new Server({ dataPath: dir, port: 0, address: '127.0.0.1', logger: silentLogger });
  await server.start();
  const token = readAdminToken(dir);
  const gc = (globalThis as any).gc as () => void;
  gc(); gc();
  const m0 = process.memoryUsage();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'idle-exp2-client.ts'), String(server.port), token, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
  await new Promise((r) => setTimeout(r, 1000));
  gc(); gc();
  const m1 = process.memoryUsage();
  const per = (k: keyof NodeJS.MemoryUsage) => ((m1[k] - m0[k]) / n / 1024).toFixed(1);
  console.log(`per client KB: rss ${per('rss')} heapUsed ${per('heapUsed')} external ${per('external')} arrayBuffers ${per('arrayBuffers')}`);
  if (process.argv[3] === 'snap') v8.writeHeapSnapshot('/tmp/idle.heapsnapshot');
  child.stdin!.end();
  child.kill();
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
main().then(() => process.exit(0));

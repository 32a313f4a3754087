import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { WebSocketServer } from 'ws';

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const deflate = process.argv[3] === 'deflate';
  const srv = http.createServer();
  const wss = new WebSocketServer({ server: srv, perMessageDeflate: deflate ? { threshold: 1024 } : false });
  const kept: unknown[] = [];
  wss.on('connection', (ws, req) => { kept.push(ws); ws.on('message', (d) => ws.send(d)); void req; });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as any).port;
  const gc = (globalThis as any).gc as () => void;
  gc(); gc();
  const m0 = process.memoryUsage();
  const child = spawn(process.execPath, ['-e', `
    const WebSocket = require('ws'); let open = 0; const all = [];
    for (let i = 0; i < ${n}; i++) { const w = new WebSocket('ws://127.0.0.1:${port}/'); all.push(w); w.on('open', () => { w.send('hello'); }); w.on('message', () => { if (++open === ${n}) process.stdout.write('ready\\n'); }); }
    setInterval(() => {}, 1e6);`], { stdio: ['pipe', 'pipe', 'inherit'], cwd: path.join(__dirname, '..') });
  await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
  await new Promise((r) => setTimeout(r, 1000));
  gc(); gc();
  const m1 = process.memoryUsage();
  const per = (k: keyof NodeJS.MemoryUsage) => ((m1[k] - m0[k]) / n / 1024).toFixed(1);
  console.log(`raw ws${deflate ? ' +deflate' : ''} per client KB: rss ${per('rss')} heapUsed ${per('heapUsed')} external ${per('external')}`);
  child.kill();
  process.exit(0);
}
main();

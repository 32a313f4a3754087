import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { startServerProcess } from '../helpers/server-process';

/**
 * Soak (a long test, not part of `npm test`): a `tributary serve` child and three client processes
 * writing to one realm for a bounded time, on whatever Node runs it. It passes when no process
 * aborts or fails, the server still answers /health, and all three replicas end identical with
 * every write and every increment counted. A native-module fault (better-sqlite3 12 aborting on
 * Node 24 was one) shows up here as a signal.
 *
 *   npm run soak [-- --seconds 60]
 */
interface ClientReport {
  phase: string;
  index: number;
  writes: number;
  increments?: number;
  queried?: number;
  items?: number;
  total?: number;
  digest?: string;
}

interface Child {
  child: ChildProcess;
  reports: ClientReport[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function secondsFlag(argv: string[]): number {
  const i = argv.indexOf('--seconds');
  if (i < 0) return 60;
  const v = Number(argv[i + 1]);
  if (!(v > 0)) throw new Error('--seconds expects a positive number');
  return v;
}

function startClient(url: string, token: string, dir: string, index: number, seconds: number): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'soak-client.ts'), url, token, dir, String(index), String(seconds)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const entry: Child = {
    child,
    reports: [],
    stderr: [],
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      entry.reports.push(JSON.parse(line) as ClientReport);
    } catch {
      entry.stderr.push(line);
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => entry.stderr.push(line));
  return entry;
}

/** Resolves when the child has printed the report of `phase`, or has ended. */
function reached(c: Child, phase: string): Promise<void> {
  return new Promise((resolve) => {
    if (c.reports.some((r) => r.phase === phase)) return resolve();
    const onLine = () => c.reports.some((r) => r.phase === phase) && resolve();
    c.child.stdout!.on('data', () => setImmediate(onLine));
    void c.exit.then(() => resolve());
  });
}

async function main(): Promise<number> {
  const seconds = secondsFlag(process.argv.slice(2));
  const clients = 3;
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`soak: a server and ${clients} client processes writing to one realm for ${seconds} s on Node ${process.versions.node} (load ${load})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-soak-'));
  const server = await startServerProcess();
  const started = Date.now();
  const children = Array.from({ length: clients }, (_, i) => startClient(server.url, server.adminToken, dir, i, seconds));
  await Promise.all(children.map((c) => reached(c, 'uploaded')));
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.stdin!.write('settle\n');
  const exits = await Promise.all(children.map((c) => c.exit));
  const elapsed = (Date.now() - started) / 1000;

  const failures: string[] = [];
  const serverEnded = server.exitStatus;
  if (serverEnded) failures.push(`the server ended during the soak (code ${serverEnded.code}, signal ${serverEnded.signal})`);
  else {
    const health = await fetch(`${server.url}/health`).then((r) => r.status, (e: Error) => e.message);
    if (health !== 200) failures.push(`/health answered ${health} after the soak`);
  }
  exits.forEach((e, i) => {
    if (e.code !== 0 || e.signal) failures.push(`client ${i} ended with code ${e.code}, signal ${e.signal}:\n  ${children[i]!.stderr.slice(-15).join('\n  ')}`);
  });
  const done = children.map((c) => c.reports.find((r) => r.phase === 'done'));
  const writes = done.reduce((s, r) => s + (r?.writes ?? 0), 0);
  const increments = done.reduce((s, r) => s + (r?.increments ?? 0), 0);
  if (done.every(Boolean)) {
    if (new Set(done.map((r) => r!.digest)).size !== 1) failures.push(`replicas differ: ${done.map((r) => r!.digest!.slice(0, 12)).join(' ')}`);
    for (const r of done) {
      if (r!.items !== writes) failures.push(`client ${r!.index} holds ${r!.items} items; ${writes} were written`);
      if (r!.total !== increments) failures.push(`client ${r!.index} sums its counters to ${r!.total}; ${increments} increments were made`);
    }
  }
  const stopCode = await server.kill('SIGTERM');
  if (!serverEnded && stopCode !== 0) failures.push(`the server exited with ${JSON.stringify(server.exitStatus as unknown)} on SIGTERM`);
  fs.rmSync(dir, { recursive: true, force: true });
  await server.dispose();

  console.log(`  writes      ${writes} in ${elapsed.toFixed(1)} s (${(writes / elapsed).toFixed(0)}/s; each client waits 5 ms between writes), ${increments} increments`);
  console.log(`  queries     ${done.reduce((s, r) => s + (r?.queried ?? 0), 0)} rows iterated`);
  console.log(`  processes   server ${serverEnded ? 'ENDED' : 'up'}; clients ${exits.map((e) => (e.signal ? e.signal : `exit ${e.code}`)).join(', ')}`);
  console.log(`  replicas    ${done.map((r) => (r ? r.digest!.slice(0, 12) : 'none')).join(' ')}`);
  if (failures.length) {
    console.log(`soak FAILED on Node ${process.versions.node}:\n- ${failures.join('\n- ')}`);
    return 1;
  }
  console.log(`soak passed on Node ${process.versions.node}: no abort, ${writes} writes, replicas identical`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

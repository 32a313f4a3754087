import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { track } from './children';

const REPO = path.resolve(__dirname, '..', '..');
const GC_HOOK = path.join(__dirname, 'gc-hook.cjs');
const USER_HZ = 100;

/** A server child process of the peers benchmark: one per system and phase group. */
export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** CPU time (user + system) the child has used so far, in ms (from /proc/<pid>/stat). */
  cpuMs(): number;
  /**
   * After a full GC in the child: its resident set size (VmRSS from /proc/<pid>/status) and the
   * memory its JavaScript retains (V8 heap in use + external), both in KiB.
   */
  memoryAfterGc(): Promise<{ rssKb: number; heapKb: number }>;
  stop(): Promise<void>;
}

/**
 * Starts `script` (a TypeScript file, run through tsx, or compiled JavaScript, run as is) in a
 * child node process with --expose-gc and the GC hook; resolves once the child logs a JSON line `{"msg":"listening","port":N}`
 * (the form `tributary serve` logs too). Its stdout is read to the end so it never blocks.
 */
export async function startServerChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerChild> {
  // BENCH_SERVER_NODE_ARGS: extra node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=prof".
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const argv = [...extra, '--expose-gc', ...loader, '--require', GC_HOOK, script, ...args];
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('TRIBUTARY_')) delete childEnv[k];
  const child = track(spawn(process.execPath, argv, { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping = false;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(script)} did not start\n${stderr}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'listening' && typeof rec.port === 'number') {
          clearTimeout(timer);
          resolve(rec.port);
        }
      } catch {
        // not a log record
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(script)} exited with ${code}\n${stderr}`));
    });
  });
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`peers: server ${path.basename(script)} (pid ${child.pid}) died (${code ?? signal}):\n${stderr}`);
  });
  return {
    port,
    pid: child.pid!,
    cpuMs: () => procCpuMs(child.pid!),
    memoryAfterGc: () => memoryAfterGc(child),
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** CPU (user + system) of a process in ms; NaN where /proc is missing. */
export function procCpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** VmRSS of a process in KiB; NaN where /proc is missing. */
export function procRssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * VmRSS and retained JavaScript memory after two rounds of (full GC, 250 ms pause): the first lets
 * the allocator hand back what start-up freed (tsx's compile caches and the like), so the baseline
 * does not shrink later.
 */
async function memoryAfterGc(child: ChildProcess): Promise<{ rssKb: number; heapKb: number }> {
  await gcOnce(child);
  await new Promise((r) => setTimeout(r, 250));
  const retained = await gcOnce(child);
  await new Promise((r) => setTimeout(r, 250));
  return { rssKb: procRssKb(child.pid!), heapKb: retained / 1024 };
}

/** Runs a full GC in the child; resolves with the bytes its JavaScript retains (NaN on no answer). */
async function gcOnce(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => done(NaN), 10_000);
    function done(bytes: number) {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(bytes);
    }
    function onMessage(m: unknown) {
      const r = m as { type?: string; heapUsed?: number; external?: number };
      if (r?.type === 'gc-done') done((r.heapUsed ?? NaN) + (r.external ?? NaN));
    }
    child.on('message', onMessage);
    child.send('gc');
  });
}

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export const REPO = path.resolve(__dirname, '..', '..');
export const RABBITMQ_URL = process.env.TRIBUTARY_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const NATS_URL = process.env.TRIBUTARY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Whether a TCP service answers, decided synchronously at collection time so that a suite can be
 * `describe.skip`ped (with a console line saying why) on a machine without the broker.
 */
export function reachable(url: string, what: string): boolean {
  const u = new URL(url);
  const script = `const s=require('net').connect(${Number(u.port)},${JSON.stringify(u.hostname)});s.setTimeout(1500);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1));`;
  try {
    execFileSync(process.execPath, ['-e', script], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    console.warn(`SKIPPING ${what} tests: nothing answers at ${u.host} (set ${what === 'RabbitMQ' ? 'TRIBUTARY_TEST_AMQP_URL' : 'TRIBUTARY_TEST_NATS_URL'} to point elsewhere)`);
    return false;
  }
}

export interface ChildRun {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

/** `node --import tsx <script> ...args`, resolved once it prints `ready`. */
export function spawnScript(script: string, args: string[], readyTimeoutMs = 30_000): Promise<ChildRun> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, script), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = { proc, stdout: [], stderr: [], exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
  proc.stderr!.on('data', (d: Buffer) => run.stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not print 'ready' within ${readyTimeoutMs} ms\n${run.stderr.join('')}`)), readyTimeoutMs);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      run.stdout.push(line);
      if (line === 'ready') {
        clearTimeout(timer);
        resolve(run);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before 'ready'\n${run.stderr.join('')}`));
    });
  });
}

export async function killHard(run: ChildRun | null): Promise<void> {
  if (!run || run.proc.exitCode !== null || run.proc.signalCode !== null) return;
  run.proc.kill('SIGKILL');
  await run.exited;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

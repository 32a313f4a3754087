import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarize } from '../stats';
import type { BystanderConfig } from './bystander';
import type { OfflineClientsConfig } from './offline-clients';
import { sleep, withTimeout } from './pool';
import { procCpuMs } from './server-child';
import { track } from './children';

/** One system's offline-merge set-up: an online client A and a client B that went offline. */
export interface OfflineScenario {
  /**
   * A creates `objects` objects, B syncs them and goes offline, B makes `changes` changes
   * offline, then A makes `changes` changes to the same objects and waits until the server
   * acknowledged them all. Returns the time each side's writes took.
   */
  prepare(objects: number, changes: number): Promise<{ offlineWriteMs: number; serverWriteMs: number }>;
  /** B reconnects; resolves once both replicas hold the same state. */
  reconnect(): Promise<void>;
  /** Whether A's and B's states are identical (compared in a canonical form). */
  equal(): boolean;
  close(): Promise<void>;
}

type Window = { count: number; p50: number; p99: number; max: number };

export interface OfflineResult {
  offlineWriteMs: number;
  serverWriteMs: number;
  convergeMs: number;
  /** CPU used while converging: the server child, and the clients' child (A and B). */
  serverCpuMs: number;
  clientCpuMs: number;
  equal: boolean;
  idle: Window;
  during: Window;
  error?: string;
}

/** Forks a TypeScript module of this folder with an IPC channel; its config goes in `envName`. */
function forkChild(file: string, envName: string, config: unknown): { child: ChildProcess; exited: Promise<void> } {
  const child = track(
    fork(path.join(__dirname, file), [], {
      // BENCH_CHILD_NODE_ARGS: extra node flags for these children (e.g. a --require hook to profile them).
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean)],
      env: { ...process.env, [envName]: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited };
}

async function kill(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first message `pick` accepts; rejects if the child exits first. */
function nextMessage<T>(child: ChildProcess, pick: (m: any) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(v);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * A and B (one child process), the bystander (another) and the server (a third): B reconnects
 * after `idleMs` of the bystander's round trips, and the merge has `timeoutMs` to converge, after
 * which the clients' process is killed and the phase reported as failed.
 */
export async function offlineMerge(
  clientsConfig: OfflineClientsConfig,
  bystanderConfig: BystanderConfig,
  options: { idleMs: number; timeoutMs: number; serverCpuMs: () => number },
): Promise<OfflineResult> {
  const empty: Window = { count: 0, p50: NaN, p99: NaN, max: NaN };
  const result: OfflineResult = { offlineWriteMs: NaN, serverWriteMs: NaN, convergeMs: NaN, serverCpuMs: NaN, clientCpuMs: NaN, equal: false, idle: empty, during: empty };
  const clients = forkChild('offline-clients.ts', 'OFFLINE_CLIENTS_CONFIG', clientsConfig);
  let bystander: { child: ChildProcess; exited: Promise<void> } | undefined;
  try {
    const prepared = await withTimeout(
      nextMessage(clients.child, (m) => m?.prepared ?? (m?.failed ? { failed: m.failed } : undefined)),
      600_000,
      'preparing the offline clients',
    );
    if ('failed' in prepared) throw new Error(prepared.failed);
    Object.assign(result, prepared);

    bystander = forkChild('bystander.ts', 'BYSTANDER_CONFIG', bystanderConfig);
    await withTimeout(nextMessage(bystander.child, (m) => (m === 'ready' ? true : undefined)), 60_000, 'starting the bystander');
    const idleFrom = performance.timeOrigin + performance.now();
    await sleep(options.idleMs);

    const mergeFrom = performance.timeOrigin + performance.now();
    const start = performance.now();
    const serverCpuStart = options.serverCpuMs();
    const clientCpuStart = procCpuMs(clients.child.pid!);
    const converged = nextMessage(clients.child, (m) => m?.converged ?? (m?.failed ? { failed: m.failed } : undefined));
    clients.child.send('reconnect');
    try {
      const outcome = await withTimeout(converged, options.timeoutMs, 'offline merge');
      if ('failed' in outcome) throw new Error(outcome.failed);
      result.convergeMs = performance.now() - start;
      result.equal = outcome.equal;
    } catch (e) {
      result.error = (e as Error).message;
    }
    result.serverCpuMs = options.serverCpuMs() - serverCpuStart;
    result.clientCpuMs = procCpuMs(clients.child.pid!) - clientCpuStart;
    const mergeTo = performance.timeOrigin + performance.now();

    const samples = nextMessage(bystander.child, (m) => m?.samples as Array<[number, number]> | undefined);
    bystander.child.send('stop');
    const rtts = await withTimeout(samples, 30_000, 'stopping the bystander');
    const stats = (xs: number[]): Window => (xs.length ? { count: xs.length, ...summarize(xs) } : empty);
    // Idle: round trips wholly before B reconnects (skipping the first 500 ms, where the
    // bystander's room is created). During: every round trip that overlapped the merge.
    result.idle = stats(rtts.filter(([t, rtt]) => t >= idleFrom + 500 && t + rtt <= mergeFrom).map(([, rtt]) => rtt));
    result.during = stats(rtts.filter(([t, rtt]) => t < mergeTo && t + rtt > mergeFrom).map(([, rtt]) => rtt));
    // BENCH_DUMP_RTT: a file to write the bystander's samples to, with the merge's start and end
    // (epoch ms), to line its slow round trips up with the server's stalls.
    if (process.env.BENCH_DUMP_RTT) fs.writeFileSync(process.env.BENCH_DUMP_RTT, JSON.stringify({ mergeFrom, mergeTo, rtts }));
  } catch (e) {
    result.error ??= (e as Error).message;
  } finally {
    clients.child.kill('SIGKILL');
    await kill(clients.child, clients.exited, 1000);
    if (bystander) {
      bystander.child.kill('SIGTERM');
      await kill(bystander.child, bystander.exited, 5000);
    }
  }
  return result;
}

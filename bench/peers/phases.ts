import { cpuMs } from '../stats';
import { mapLimit, sleep, withTimeout } from './pool';
import type { Deployment, PeerClient } from './types';

/** Deliveries of one phase: every reader must see every key exactly once. */
export class DeliveryLog {
  readonly latencies: number[] = [];
  delivered = 0;
  duplicates = 0;
  lastAt = 0;
  private readonly seen: Array<Set<string>>;
  private onComplete: (() => void) | undefined;

  constructor(
    readonly readers: number,
    readonly expected: number,
  ) {
    this.seen = Array.from({ length: readers }, () => new Set());
  }

  record(reader: number, key: string, sentAt: number): void {
    const now = performance.now();
    const seen = this.seen[reader]!;
    if (seen.has(key)) {
      this.duplicates++;
      return;
    }
    seen.add(key);
    this.latencies.push(now - sentAt);
    this.lastAt = now;
    if (++this.delivered === this.expected) this.onComplete?.();
  }

  /** Resolves true when every delivery arrived, false after `timeoutMs`. */
  complete(timeoutMs: number): Promise<boolean> {
    if (this.delivered >= this.expected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onComplete = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

export interface StreamResult {
  expected: number;
  delivered: number;
  duplicates: number;
  /** From the first write to the last delivery. */
  seconds: number;
  deliveriesPerSecond: number;
  latencies: number[];
  serverCpuMs: number;
  clientCpuMs: number;
  /** Writes per second the writer achieved (fixed-rate phase: should be the rate). */
  writesPerSecond: number;
  error?: string;
}

export interface StreamOptions {
  readers: number;
  count: number;
  /** Unacknowledged changes the writer allows (flat-out phase). */
  window?: number;
  /** Changes per second (fixed-rate phase); no window then. */
  perSecond?: number;
  timeoutMs: number;
}

/**
 * One writer and `readers` readers on a fresh shared room, each its own client (socket, user).
 * The writer makes `count` changes: flat out within a window of unacknowledged changes, or at a
 * fixed rate. Each change carries the writer's `performance.now()`, and every reader's arrival
 * time is taken in this same process, so latencies need no clock sync. CPU is counted from the
 * first write to the last delivery: this process (every client) and the server child.
 */
export async function streamChanges(deployment: Deployment, room: string, options: StreamOptions): Promise<StreamResult> {
  const log = new DeliveryLog(options.readers, options.count * options.readers);
  const clients: PeerClient[] = [];
  try {
    await deployment.prepareClients(options.readers + 1);
    const writer = await withTimeout(deployment.open(room, { user: 0, shared: true }), 60_000, 'opening the writer');
    clients.push(writer);
    for (let r = 0; r < options.readers; r++) {
      const onDelivery = (key: string, sentAt: number) => log.record(r, key, sentAt);
      clients.push(await withTimeout(deployment.open(room, { user: r + 1, shared: true, onDelivery }), 60_000, `opening reader ${r}`));
    }
    await sleep(200);
    const serverCpuStart = deployment.server.cpuMs();
    const clientCpuStart = cpuMs();
    const start = performance.now();
    let stallTimer: NodeJS.Timeout | undefined;
    const writesStalled = new Promise<never>((_, reject) => {
      stallTimer = setTimeout(() => reject(new Error(`the writer's changes were not acknowledged within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    });
    writesStalled.catch(() => undefined); // raced below; unobserved once the loop is done
    try {
      for (let i = 0; i < options.count; i++) {
        if (options.perSecond) {
          const wait = start + (i * 1000) / options.perSecond - performance.now();
          // Behind schedule, still yield, as an app writing from a timer would.
          if (wait > 0) await sleep(wait);
          else await new Promise((r) => setImmediate(r));
        } else {
          // Bounded like the deliveries: a system that stops acknowledging fails the phase instead
          // of hanging the benchmark (one timer for the whole loop, not one per change).
          await Promise.race([writer.whenUnackedBelow(options.window ?? 32), writesStalled]);
        }
        writer.write(`k${i}`, performance.now());
        if (!options.perSecond) await new Promise((r) => setImmediate(r));
      }
    } finally {
      clearTimeout(stallTimer);
    }
    const writeSeconds = (performance.now() - start) / 1000;
    const complete = await log.complete(options.timeoutMs);
    const end = complete ? log.lastAt : performance.now();
    const seconds = (end - start) / 1000;
    return {
      expected: log.expected,
      delivered: log.delivered,
      duplicates: log.duplicates,
      seconds,
      deliveriesPerSecond: log.delivered / seconds,
      latencies: log.latencies,
      serverCpuMs: deployment.server.cpuMs() - serverCpuStart,
      clientCpuMs: cpuMs() - clientCpuStart,
      writesPerSecond: options.count / writeSeconds,
      error: complete ? undefined : `timed out after ${options.timeoutMs / 1000} s with ${log.delivered} of ${log.expected} deliveries`,
    };
  } catch (e) {
    return {
      expected: log.expected,
      delivered: log.delivered,
      duplicates: log.duplicates,
      seconds: NaN,
      deliveriesPerSecond: NaN,
      latencies: [],
      serverCpuMs: NaN,
      clientCpuMs: NaN,
      writesPerSecond: NaN,
      error: (e as Error).message,
    };
  } finally {
    await mapLimit(clients.length, 16, (i) => clients[i]!.close().catch(() => undefined));
  }
}

export interface IdleResult {
  expected: number;
  synced: number;
  /** From the first open to the last client's first full sync. */
  connectSeconds: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  /** Growth of the server's resident set per client (includes V8's heap sizing, native caches). */
  kbPerClient: number;
  /** Growth of what the server's JavaScript retains (heap in use + external) per client. */
  heapKbPerClient: number;
  /** CPU used while the clients connected: the server child, and this process (the clients). */
  serverCpuMs: number;
  clientCpuMs: number;
  error?: string;
}

/**
 * `clients` clients connect and sync, at most `concurrency` opening at once, each on its own
 * room or all on one (client 0 opens the shared room first, creating it), then sit idle. Server
 * memory: VmRSS after a full GC in the child, before the first open and after the idle pause.
 */
export async function idleClients(deployment: Deployment, clients: number, shared: boolean, options: { concurrency: number; idleMs: number; timeoutMs: number }): Promise<IdleResult> {
  const open: PeerClient[] = [];
  let synced = 0;
  let error: string | undefined;
  let connectSeconds = NaN;
  let rssBeforeKb = NaN;
  let rssAfterKb = NaN;
  let heapBeforeKb = NaN;
  let heapAfterKb = NaN;
  let serverCpuMs = NaN;
  let clientCpuMs = NaN;
  try {
    await deployment.prepareClients(clients);
    // One client opens and closes a room of its own first, so the baseline has the server's
    // connection and sync code loaded and compiled, and the figure is the clients' cost alone.
    await (await withTimeout(deployment.open('idle-warm-up', { user: 0, shared: false }), 60_000, 'warm-up client')).close();
    ({ rssKb: rssBeforeKb, heapKb: heapBeforeKb } = await deployment.server.memoryAfterGc());
    const start = performance.now();
    const serverCpuStart = deployment.server.cpuMs();
    const clientCpuStart = cpuMs();
    const deadline = start + options.timeoutMs;
    const openOne = async (i: number) => {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`connect timed out after ${options.timeoutMs / 1000} s`);
      const c = await withTimeout(deployment.open(shared ? 'idle-shared' : `idle-${i}`, { user: i, shared }), left, 'connect');
      open.push(c);
      synced++;
    };
    try {
      if (shared) await openOne(0);
      await mapLimit(clients - (shared ? 1 : 0), options.concurrency, (i) => openOne(i + (shared ? 1 : 0)));
      connectSeconds = (performance.now() - start) / 1000;
    } catch (e) {
      error = `${(e as Error).message} (${synced} of ${clients} synced)`;
    }
    serverCpuMs = deployment.server.cpuMs() - serverCpuStart;
    clientCpuMs = cpuMs() - clientCpuStart;
    await sleep(options.idleMs);
    ({ rssKb: rssAfterKb, heapKb: heapAfterKb } = await deployment.server.memoryAfterGc());
  } catch (e) {
    error ??= (e as Error).message;
  } finally {
    await mapLimit(open.length, 32, (i) => open[i]!.close().catch(() => undefined));
  }
  return { expected: clients, synced, connectSeconds, rssBeforeKb, rssAfterKb, kbPerClient: (rssAfterKb - rssBeforeKb) / clients, heapKbPerClient: (heapAfterKb - heapBeforeKb) / clients, serverCpuMs, clientCpuMs, error };
}

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atExit } from './peers/children';
import { offlineMerge, type OfflineResult } from './peers/offline';
import { idleClients, streamChanges, type IdleResult, type StreamResult } from './peers/phases';
import { rawSystem } from './peers/raw';
import { shareDbSystem } from './peers/sharedb';
import { renderTable, SYSTEMS, type Cell, type Figure } from './peers/table';
import { TributarySystem, type TributaryDeployment } from './peers/tributary';
import type { Deployment, PeerSystem, SystemName } from './peers/types';
import { yjsSystem } from './peers/yjs';
import { flag, fmt, summarize } from './stats';

/**
 * Tributary side by side with the systems a user would pick instead — ShareDB (in-memory,
 * JSON0), Yjs (y-websocket server) — and a raw `ws` relay as the floor. Every server is a child
 * process; every client has its own socket (and, for Tributary, its own user). See
 * docs/benchmarks.md § peers for what each figure means.
 */
const PHASES = ['fanout', 'latency', 'idle', 'offline'] as const;
type Phase = (typeof PHASES)[number];

function listFlag<T extends string>(argv: string[], name: string, all: readonly T[]): T[] {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return [...all];
  const picked = (argv[i + 1] ?? '').split(',').map((s) => s.trim().replace(/^raw$/, 'raw ws')).filter(Boolean);
  const unknown = picked.filter((p) => !all.includes(p as T));
  if (unknown.length || picked.length === 0) throw new Error(`--${name} takes a comma-separated list of: ${all.join(', ')}`);
  return picked as T[];
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};

export async function main(argv: string[]): Promise<void> {
  const phases = listFlag(argv, 'only', PHASES);
  const systemNames = listFlag(argv, 'systems', SYSTEMS);
  const o = {
    readers: flag(argv, 'readers', 10),
    changes: flag(argv, 'changes', 3000),
    trials: flag(argv, 'trials', 3),
    window: flag(argv, 'window', 32),
    rate: flag(argv, 'rate', 1000),
    seconds: flag(argv, 'seconds', 2),
    clients: flag(argv, 'clients', 1000),
    concurrency: flag(argv, 'concurrency', 50),
    idleMs: flag(argv, 'idle-ms', 2000),
    streamTimeout: flag(argv, 'stream-timeout', 120),
    connectTimeout: flag(argv, 'connect-timeout', 120),
    offlineChanges: flag(argv, 'offline-changes', 10_000),
    offlineObjects: flag(argv, 'offline-objects', 1000),
    offlineTimeout: flag(argv, 'offline-timeout', 120),
  };
  // y-websocket adds a process 'exit' listener per provider.
  process.setMaxListeners(o.clients + 100);
  const started = performance.now();
  console.log(`peers: ${systemNames.join(', ')}; phases ${phases.join(', ')}`);
  console.log(`load average at start: ${load()} (${os.cpus().length} cores)`);

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-peers-'));
  // All clients share this process's event loop, so synchronous fsyncs of Tributary's durable
  // client replicas would queue behind one another, which separate devices would not do:
  // replicas go on tmpfs unless --client-disk. The server's data is on disk either way.
  const clientDisk = argv.includes('--client-disk') || !fs.existsSync('/dev/shm');
  const clientRoot = fs.mkdtempSync(path.join(clientDisk ? os.tmpdir() : '/dev/shm', 'trib-peers-clients-'));
  console.log(`tributary server data in ${workDir}; client replicas in ${clientRoot}${clientDisk ? '' : ' (tmpfs)'}`);
  const removeWorkDir = () => {
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(clientRoot, { recursive: true, force: true });
  };
  const cancelCleanup = atExit(removeWorkDir);
  const tributary = new TributarySystem(workDir, clientRoot, Math.max(phases.includes('idle') ? o.clients : 0, o.readers + 1, 3), [
    'warm-up',
    ...Array.from({ length: o.trials }, (_, t) => `fanout-${t + 1}`),
    'latency-warm-up',
    'latency',
    'idle-shared',
    'offline',
  ]);
  const systems: PeerSystem[] = systemNames.map((n) => ({ tributary, sharedb: shareDbSystem, yjs: yjsSystem, 'raw ws': rawSystem })[n]);
  const figures: Figure[] = [];
  const figure = (label: string, better: Figure['better'], digits: number): Figure => {
    const f: Figure = { label, better, digits, cells: {} };
    figures.push(f);
    return f;
  };
  try {
    if (systemNames.includes('tributary')) await tributary.prepare(console.log);
    if (phases.includes('fanout') || phases.includes('latency')) await streamPhases(systems, phases, o, figure);
    if (phases.includes('idle')) await idlePhases(systems, o, figure);
    if (phases.includes('offline')) await offlinePhase(systems, o, figure);
  } finally {
    cancelCleanup();
    removeWorkDir();
  }
  console.log('');
  console.log(renderTable(figures));
  console.log(`\nload average at end: ${load()}; whole run ${fmt((performance.now() - started) / 1000, 0)} s`);
}

type Options = {
  readers: number;
  changes: number;
  trials: number;
  window: number;
  rate: number;
  seconds: number;
  clients: number;
  concurrency: number;
  idleMs: number;
  streamTimeout: number;
  connectTimeout: number;
  offlineChanges: number;
  offlineObjects: number;
  offlineTimeout: number;
};
type AddFigure = (label: string, better: Figure['better'], digits: number) => Figure;

function deliveryCell(results: Array<{ expected: number; delivered: number; duplicates: number; error?: string }>): Cell {
  const expected = results.reduce((n, r) => n + r.expected, 0);
  const delivered = results.reduce((n, r) => n + r.delivered, 0);
  const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
  return { value: delivered / expected, note: duplicates ? `${duplicates} duplicates` : undefined };
}

const failure = (r: { error?: string }): Cell | undefined => (r.error ? { failed: r.error.replace(/ with \d+ of \d+ deliveries/, '') } : undefined);

async function streamPhases(systems: PeerSystem[], phases: Phase[], o: Options, addFigure: AddFigure): Promise<void> {
  const deployments = new Map<SystemName, Deployment>();
  for (const s of systems) deployments.set(s.name, await s.deploy());
  try {
    if (phases.includes('fanout')) {
      console.log(`\nfan-out: 1 writer → ${o.readers} readers, ${o.changes} changes, window ${o.window}, ${o.trials} trials (system order rotates)`);
      const trials = new Map<SystemName, StreamResult[]>(systems.map((s) => [s.name, []]));
      // Each server child is fresh: one short untimed stream first, so no trial pays for the JIT.
      for (const s of systems) await streamChanges(deployments.get(s.name)!, 'warm-up', { readers: o.readers, count: Math.min(300, o.changes), window: o.window, timeoutMs: o.streamTimeout * 1000 });
      for (let t = 0; t < o.trials; t++) {
        for (let k = 0; k < systems.length; k++) {
          const s = systems[(k + t) % systems.length]!;
          const r = await streamChanges(deployments.get(s.name)!, `fanout-${t + 1}`, { readers: o.readers, count: o.changes, window: o.window, timeoutMs: o.streamTimeout * 1000 });
          trials.get(s.name)!.push(r);
          const l = summarize(r.latencies);
          console.log(
            `  trial ${t + 1} ${s.name.padEnd(9)} ${fmt(r.deliveriesPerSecond, 0).padStart(7)} deliveries/s, ${r.delivered}/${r.expected} delivered, ` +
              `round trip p50 ${fmt(l.p50, 1)} / p99 ${fmt(l.p99, 1)} ms, CPU µs/delivery server ${fmt((r.serverCpuMs * 1000) / r.delivered, 1)} client ${fmt((r.clientCpuMs * 1000) / r.delivered, 1)}${r.error ? ` — ${r.error}` : ''}`,
          );
        }
      }
      const exact = addFigure('fan-out: delivered / expected', 'higher', 3);
      const rate = addFigure(`fan-out: deliveries/s (median of ${o.trials})`, 'higher', 0);
      const serverCpu = addFigure('CPU per delivery: server (µs)', 'lower', 1);
      const clientCpu = addFigure('CPU per delivery: clients (µs)', 'lower', 1);
      for (const [name, rs] of trials) {
        exact.cells[name] = deliveryCell(rs);
        const failed = rs.find((r) => r.error);
        rate.cells[name] = failed ? failure(failed)! : { value: median(rs.map((r) => r.deliveriesPerSecond)) };
        const delivered = rs.reduce((n, r) => n + r.delivered, 0);
        serverCpu.cells[name] = { value: (rs.reduce((n, r) => n + r.serverCpuMs, 0) * 1000) / delivered };
        clientCpu.cells[name] = { value: (rs.reduce((n, r) => n + r.clientCpuMs, 0) * 1000) / delivered };
      }
    }
    if (phases.includes('latency')) {
      const count = Math.round(o.rate * o.seconds);
      console.log(`\nfixed rate: ${o.rate} changes/s for ${o.seconds} s (${count} changes) to ${o.readers} readers`);
      const exact = addFigure('fixed rate: delivered / expected', 'higher', 3);
      const reached = addFigure('fixed rate: changes/s the writer reached', 'higher', 0);
      const p50 = addFigure(`${o.rate}/s commit → reader p50 (ms)`, 'lower', 2);
      const p99 = addFigure(`${o.rate}/s commit → reader p99 (ms)`, 'lower', 2);
      const max = addFigure(`${o.rate}/s commit → reader max (ms)`, 'lower', 1);
      for (const s of systems) {
        // Half a second at the same rate first, untimed, on a room of its own: the clients and
        // the server child have run this path before the timed stream (they have not when the
        // fan-out phase was left out), so no system's p99 is its JIT warming up.
        await streamChanges(deployments.get(s.name)!, 'latency-warm-up', { readers: o.readers, count: Math.max(1, Math.round(o.rate / 2)), perSecond: o.rate, timeoutMs: o.streamTimeout * 1000 });
        const r = await streamChanges(deployments.get(s.name)!, 'latency', { readers: o.readers, count, perSecond: o.rate, timeoutMs: o.streamTimeout * 1000 });
        const l = summarize(r.latencies);
        console.log(
          `  ${s.name.padEnd(9)} p50 ${fmt(l.p50, 2)} / p99 ${fmt(l.p99, 2)} / max ${fmt(l.max, 1)} ms, ${r.delivered}/${r.expected} delivered, writer reached ${fmt(r.writesPerSecond, 0)} changes/s, ` +
            `CPU µs/delivery server ${fmt((r.serverCpuMs * 1000) / r.delivered, 1)} client ${fmt((r.clientCpuMs * 1000) / r.delivered, 1)}${r.error ? ` — ${r.error}` : ''}`,
        );
        exact.cells[s.name] = deliveryCell([r]);
        reached.cells[s.name] = { value: r.writesPerSecond };
        const failed = failure(r);
        p50.cells[s.name] = failed ?? { value: l.p50 };
        p99.cells[s.name] = failed ?? { value: l.p99 };
        max.cells[s.name] = failed ?? { value: l.max };
      }
    }
  } finally {
    for (const d of deployments.values()) await d.stop();
  }
}

async function idlePhases(systems: PeerSystem[], o: Options, addFigure: AddFigure): Promise<void> {
  console.log(`\nidle clients: ${o.clients} clients (at most ${o.concurrency} opening at once), each on its own room, then all on one room; a fresh server each time`);
  const figs = {
    own: { exact: addFigure('idle, own rooms: synced / expected', 'higher', 3), kb: addFigure('idle, own rooms: server KiB per client', 'lower', 1), heap: addFigure('idle, own rooms: server JS heap KiB per client', 'lower', 1), connect: addFigure(`connect + first sync, ${o.clients} clients, own rooms (s)`, 'lower', 2) },
    one: { exact: addFigure('idle, one room: synced / expected', 'higher', 3), kb: addFigure('idle, one room: server KiB per client', 'lower', 1), heap: addFigure('idle, one room: server JS heap KiB per client', 'lower', 1), connect: addFigure(`connect + first sync, ${o.clients} clients, one room (s)`, 'lower', 2) },
  };
  for (const s of systems) {
    for (const shared of [false, true]) {
      const f = shared ? figs.one : figs.own;
      const deployment = await s.deploy();
      let r: IdleResult;
      try {
        r = await idleClients(deployment, o.clients, shared, { concurrency: o.concurrency, idleMs: o.idleMs, timeoutMs: o.connectTimeout * 1000 });
      } finally {
        await deployment.stop();
      }
      console.log(
        `  ${s.name.padEnd(9)} ${shared ? 'one room ' : 'own rooms'}: ${r.synced}/${r.expected} synced in ${fmt(r.connectSeconds, 2)} s; server RSS ${fmt(r.rssBeforeKb / 1024, 1)} → ${fmt(r.rssAfterKb / 1024, 1)} MiB = ${fmt(r.kbPerClient, 1)} KiB per client (JS heap + external ${fmt(r.heapKbPerClient, 1)}); CPU while connecting: server ${fmt(r.serverCpuMs / 1000, 2)} s, clients ${fmt(r.clientCpuMs / 1000, 2)} s${r.error ? ` — ${r.error}` : ''}`,
      );
      f.exact.cells[s.name] = { value: r.synced / r.expected };
      f.kb.cells[s.name] = r.error ? { failed: r.error } : { value: r.kbPerClient };
      f.heap.cells[s.name] = r.error ? { failed: r.error } : { value: r.heapKbPerClient };
      f.connect.cells[s.name] = r.error ? { failed: r.error } : { value: r.connectSeconds };
    }
  }
}

async function offlinePhase(systems: PeerSystem[], o: Options, addFigure: AddFigure): Promise<void> {
  console.log(
    `\noffline merge: B makes ${o.offlineChanges} changes offline over ${o.offlineObjects} objects while A makes ${o.offlineChanges} to the same objects online; B reconnects (time limit ${o.offlineTimeout} s); a bystander in its own process makes round trips on another room`,
  );
  const exact = addFigure('offline merge: replicas equal', 'higher', 3);
  const converge = addFigure(`offline merge, ${o.offlineChanges} vs ${o.offlineChanges} changes: converge (s)`, 'lower', 2);
  const idleP99 = addFigure('bystander round trip p99, idle (ms)', 'lower', 2);
  const duringP99 = addFigure('bystander round trip p99, during merge (ms)', 'lower', 2);
  const duringMax = addFigure('bystander round trip max, during merge (ms)', 'lower', 1);
  for (const s of systems) {
    if (s.name === 'raw ws') {
      for (const f of [exact, converge, idleP99, duringP99, duringMax]) f.cells[s.name] = { value: NaN };
      continue;
    }
    const deployment = await s.deploy();
    let r: OfflineResult;
    try {
      const tributary = s.name === 'tributary' ? (deployment as TributaryDeployment) : undefined;
      r = await offlineMerge(
        { system: s.name, port: deployment.server.port, objects: o.offlineObjects, changes: o.offlineChanges, identities: tributary?.identities.slice(0, 2), clientDir: tributary?.clientDir },
        { system: s.name, port: deployment.server.port, identity: tributary?.identities[2], clientDir: tributary?.clientDir },
        { idleMs: o.idleMs, timeoutMs: o.offlineTimeout * 1000, serverCpuMs: () => deployment.server.cpuMs() },
      );
    } finally {
      await deployment.stop();
    }
    console.log(
      `  ${s.name.padEnd(9)} offline writes ${fmt(r.offlineWriteMs / 1000, 2)} s, A's writes acknowledged ${fmt(r.serverWriteMs / 1000, 2)} s; converged in ${fmt(r.convergeMs / 1000, 2)} s, equal: ${r.equal}; ` +
        `CPU during the merge: server ${fmt(r.serverCpuMs / 1000, 2)} s, clients ${fmt(r.clientCpuMs / 1000, 2)} s; bystander idle p50/p99/max ${fmt(r.idle.p50, 1)}/${fmt(r.idle.p99, 1)}/${fmt(r.idle.max, 1)} ms (${r.idle.count}), ` +
        `during ${fmt(r.during.p50, 1)}/${fmt(r.during.p99, 1)}/${fmt(r.during.max, 1)} ms (${r.during.count})${r.error ? ` — ${r.error}` : ''}`,
    );
    exact.cells[s.name] = r.error ? { failed: 'did not converge' } : { value: r.equal ? 1 : 0 };
    converge.cells[s.name] = r.error ? { failed: r.error.replace(/^offline merge: /, '') } : { value: r.convergeMs / 1000 };
    const note = `n=${r.during.count}${r.error ? ', cut at the time limit' : ''}`;
    idleP99.cells[s.name] = { value: r.idle.p99 };
    duringP99.cells[s.name] = { value: r.during.p99, note };
    duringMax.cells[s.name] = { value: r.during.max, note };
  }
}

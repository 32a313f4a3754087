import { Instruction, MemoryState, apply, canonicalState } from '../../src/changeset';
import { DownloadIntegration, HistoryEntry, MemoryHistory, PendingChangeset, UploadIntegration } from '../../src/merge';
import { HybridLogicalClock } from '../../src/model';
import { Prng, describeChangeset, randomChangeset, randomState, seedFrom } from '../helpers/generators';

interface LocalChangeset {
  clientVersion: number;
  baseServerVersion: number;
  originTimestamp: number;
  instructions: Instruction[];
}

type ToServer = { kind: 'upload'; changesets: LocalChangeset[] };
type ToClient = { kind: 'download'; entries: { entry: HistoryEntry; lastIntegratedClientVersion: number }[]; ack: number };

class SimClient {
  state: MemoryState;
  readonly clock: HybridLogicalClock;
  /** Local changesets the server has not acknowledged, originals (for re-upload). */
  unacknowledged: LocalChangeset[] = [];
  /** Local changesets not yet integrated, rebased past every download (for transforming downloads). */
  pending: PendingChangeset[] = [];
  lastClientVersion = 0;
  downloadServerVersion = 0;
  downloadClientVersion = 0;
  ackClientVersion = 0;
  connected = false;
  toServer: ToServer[] = [];
  toClient: ToClient[] = [];

  constructor(
    readonly ident: number,
    initial: MemoryState,
    now: () => number,
  ) {
    this.state = initial.clone();
    this.clock = new HybridLogicalClock(now);
  }
}

class SimServer {
  readonly history = new MemoryHistory();
  /** Streamed-up-to server version per connected client. */
  readonly sessions = new Map<number, number>();
  /** lastIntegratedClientVersion of each client at each server version. */
  private readonly integratedAt = new Map<number, number[]>();
  skippedDuplicates = 0;
  emptied = 0;

  constructor(readonly state: MemoryState) {}

  integrate(ident: number, changesets: LocalChangeset[]): void {
    // One UPLOAD message is one integration, as on the server (indexed, reciprocals written once).
    const merge = new UploadIntegration(ident);
    merge.use(this.history, { getSchema: (t) => this.state.getSchema(t) });
    if (changesets.length > 0) merge.load(changesets[0]!.baseServerVersion);
    for (const c of changesets) {
      const before = this.history.lastIntegratedClientVersion(ident);
      const result = merge.integrate({ clientVersion: c.clientVersion, lastIntegratedServerVersion: c.baseServerVersion, originTimestamp: c.originTimestamp, instructions: c.instructions });
      if (result.version === undefined) {
        expect(c.clientVersion).toBeLessThanOrEqual(before);
        this.skippedDuplicates++;
        continue;
      }
      if (result.instructions.length === 0 && c.instructions.length > 0) this.emptied++;
      const next = this.state.clone();
      apply(next, result.instructions);
      (this as { state: MemoryState }).state = next;
      this.recordIntegrated(result.version);
    }
    merge.flush();
  }

  private recordIntegrated(version: number): void {
    for (const [ident, list] of this.integratedAt) list[version] = this.history.lastIntegratedClientVersion(ident);
  }

  integratedClientVersion(ident: number, version: number): number {
    let list = this.integratedAt.get(ident);
    if (!list) {
      list = [];
      this.integratedAt.set(ident, list);
      let k = 0;
      for (const e of this.history.entriesAfter(0)) {
        if (e.originFileIdent === ident) k = Math.max(k, e.clientVersion);
        list[e.version] = k;
      }
    }
    return list[version] ?? 0;
  }

  /** Messages carrying every entry after what each session has been sent. */
  stream(clients: Map<number, SimClient>): void {
    for (const [ident, sentUpTo] of this.sessions) {
      const latest = this.history.latestVersion();
      if (latest <= sentUpTo) continue;
      const entries = [];
      for (const entry of this.history.entriesAfter(sentUpTo)) {
        entries.push({ entry, lastIntegratedClientVersion: this.integratedClientVersion(ident, entry.version) });
      }
      this.sessions.set(ident, latest);
      clients.get(ident)!.toClient.push({ kind: 'download', entries, ack: this.history.lastIntegratedClientVersion(ident) });
    }
  }
}

interface SimOptions {
  clients: number;
  steps: number;
  /** More deletes and clears (more removal conflicts, smaller final states). */
  destructive?: boolean;
}

const CALM = { AddType: 0.5, AddProperties: 1, Clear: 0.1, Delete: 2, Create: 12, ListInsert: 16 };
const DESTRUCTIVE = { AddType: 0.5, AddProperties: 1, Clear: 0.5, Delete: 6 };

function runSimulation(seed: number, options: SimOptions): { objects: number; listEntries: number; entries: number; skipped: number; emptied: number; disconnects: number } {
  const rng = new Prng(seed);
  let time = 1_000;
  const initial = randomState(rng, { rounds: 1 });
  const server = new SimServer(initial.clone());
  const clients = new Map<number, SimClient>();
  for (let i = 1; i <= options.clients; i++) {
    const skew = rng.int(-50, 50);
    clients.set(i, new SimClient(i, initial, () => time + skew));
  }
  const all = [...clients.values()];
  let disconnects = 0;
  const log: string[] = [];

  const connect = (c: SimClient) => {
    c.connected = true;
    server.sessions.set(c.ident, c.downloadServerVersion);
    // Re-upload, in order, everything after the acknowledged cursor; the server skips duplicates.
    if (c.unacknowledged.length > 0) c.toServer.push({ kind: 'upload', changesets: [...c.unacknowledged] });
    server.stream(clients);
  };
  const disconnect = (c: SimClient) => {
    c.connected = false;
    c.toServer = [];
    c.toClient = [];
    server.sessions.delete(c.ident);
    disconnects++;
  };
  const localEdit = (c: SimClient) => {
    const { instructions, after } = randomChangeset(rng, c.state, { size: rng.int(1, 4), weights: options.destructive ? DESTRUCTIVE : CALM });
    if (instructions.length === 0) return;
    c.state = after;
    const local: LocalChangeset = {
      clientVersion: ++c.lastClientVersion,
      baseServerVersion: c.downloadServerVersion,
      originTimestamp: c.clock.tick(),
      instructions,
    };
    log.push(`client ${c.ident} v${local.clientVersion} (base ${local.baseServerVersion}, ts ${local.originTimestamp}):\n${describeChangeset(instructions)}`);
    c.unacknowledged.push(local);
    c.pending.push({ clientVersion: local.clientVersion, originTimestamp: local.originTimestamp, instructions });
    if (c.connected) c.toServer.push({ kind: 'upload', changesets: [local] });
  };
  const deliverUpload = (c: SimClient) => {
    const m = c.toServer.shift()!;
    server.integrate(c.ident, m.changesets);
    server.stream(clients);
  };
  const deliverDownload = (c: SimClient) => {
    const m = c.toClient.shift()!;
    const state = c.state.clone();
    // One DOWNLOAD message is one integration, as in the replica (indexed, pending rebased in place).
    const merge = new DownloadIntegration(c.ident, c.pending, state);
    for (const { entry, lastIntegratedClientVersion: k } of m.entries) {
      expect(entry.version).toBeGreaterThan(c.downloadServerVersion);
      const ins = merge.integrate({ serverVersion: entry.version, lastIntegratedClientVersion: k, originTimestamp: entry.originTimestamp, originFileIdent: entry.originFileIdent, instructions: entry.instructions });
      if (entry.originFileIdent !== c.ident) {
        try {
          apply(state, ins);
        } catch (e) {
          throw new Error(`client ${c.ident} cannot apply server version ${entry.version}: ${(e as Error).message}\n${describeChangeset(ins)}`);
        }
        c.clock.observe(entry.originTimestamp);
      }
      c.downloadServerVersion = entry.version;
      c.downloadClientVersion = k;
    }
    const pending = merge.pending;
    // One local transaction: state, rebased pending changesets and cursors together.
    c.state = state;
    c.pending = pending;
    if (m.ack > c.ackClientVersion) c.ackClientVersion = m.ack;
    c.unacknowledged = c.unacknowledged.filter((u) => u.clientVersion > c.ackClientVersion);
  };

  try {
    for (const c of all) if (rng.bool(0.7)) connect(c);
    for (let step = 0; step < options.steps; step++) {
      time += rng.int(0, 3);
      const r = rng.next();
      const c = rng.pick(all);
      if (r < 0.3) localEdit(c);
      else if (r < 0.6) {
        const ready = all.filter((x) => x.toServer.length > 0);
        if (ready.length > 0) deliverUpload(rng.pick(ready));
      } else if (r < 0.92) {
        const ready = all.filter((x) => x.toClient.length > 0);
        if (ready.length > 0) deliverDownload(rng.pick(ready));
      } else if (c.connected) {
        if (r < 0.97) disconnect(c);
      } else connect(c);
    }
    // Heal: everyone reconnects and every message is delivered, in random order.
    for (const c of all) if (!c.connected) connect(c);
    for (;;) {
      const uploads = all.filter((x) => x.toServer.length > 0);
      const downloads = all.filter((x) => x.toClient.length > 0);
      if (uploads.length === 0 && downloads.length === 0) break;
      if (downloads.length === 0 || (uploads.length > 0 && rng.bool(0.5))) deliverUpload(rng.pick(uploads));
      else deliverDownload(rng.pick(downloads));
    }
  } catch (e) {
    throw new Error(`simulation seed=${seed} (replay with SIM_SEED=${seed}): ${(e as Error).stack}\nlast local changesets:\n${log.slice(-8).join('\n')}`);
  }

  const expected = JSON.stringify(canonicalState(server.state));
  // The server's state is also what replaying its history from the initial state gives.
  const replay = initial.clone();
  for (const e of server.history.entriesAfter(0)) apply(replay, e.instructions);
  expect(JSON.stringify(canonicalState(replay))).toBe(expected);
  for (const c of all) {
    expect(c.pending).toEqual([]);
    expect(c.unacknowledged).toEqual([]);
    expect(server.history.lastIntegratedClientVersion(c.ident)).toBe(c.lastClientVersion);
    const actual = JSON.stringify(canonicalState(c.state));
    if (actual !== expected) {
      throw new Error(`simulation seed=${seed} (replay with SIM_SEED=${seed}): client ${c.ident} diverged from the server\nclient: ${actual}\nserver: ${expected}`);
    }
  }
  const objects = server.state.schemas().reduce((n, s) => n + [...server.state.objects(s.name)].length, 0);
  const listEntries = server.state.schemas().reduce((n, s) => n + [...server.state.objects(s.name)].reduce((m, r) => m + Object.values(r.lists).reduce((k, l) => k + l.length, 0), 0), 0);
  return { objects, listEntries, entries: server.history.latestVersion(), skipped: server.skippedDuplicates, emptied: server.emptied, disconnects };
}

const base = seedFrom('SIM_SEED');
const SEEDS = process.env.SIM_SEED ? 1 : Number(process.env.SIM_SEEDS ?? 8);

describe('whole-system simulation: many clients, random edits, delivery order and disconnects', () => {
  for (let i = 0; i < SEEDS; i++) {
    const seed = (base + i * 0x9e3779b9) >>> 0;
    test(`replicas converge (seed ${seed})`, () => {
      const stats = runSimulation(seed, { clients: 6, steps: 1500, destructive: i % 2 === 1 });
      // eslint-disable-next-line no-console
      if (process.env.SIM_VERBOSE) console.log(stats);
      expect(stats.entries).toBeGreaterThan(50);
      expect(stats.disconnects).toBeGreaterThan(0);
    });
  }

  test('re-uploads after disconnects are skipped, not integrated twice', () => {
    let skipped = 0;
    for (let i = 0; i < 3; i++) skipped += runSimulation((base ^ (0x5bd1e995 * (i + 1))) >>> 0, { clients: 5, steps: 600 }).skipped;
    expect(skipped).toBeGreaterThan(0);
  });
});

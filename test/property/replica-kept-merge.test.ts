import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apply, canonicalState, MemoryState, type Instruction } from '../../src/changeset';
import { snapshotInstructions } from '../../src/server/snapshot';
import { Replica, type DownloadBatch } from '../../src/store';
import { Prng, randomChangeset, randomState, seedFrom } from '../helpers/generators';

/**
 * A replica keeps its download integration (the decoded, indexed, rebased pending changesets)
 * from one download transaction to the next. Two replicas of one client get the same local writes
 * and the same DOWNLOADs; one integrates them as an application would, the other is closed and
 * opened again before every DOWNLOAD (so it always loads the pending changesets from the file).
 * After every step both must hold the same objects: a kept integration that missed a local write,
 * survived a failed download or lost a rebased copy makes them differ. DOWNLOADs without
 * changesets (acknowledgements) come between them too.
 */
const seed = seedFrom('KEPT_MERGE_SEED');
const CASES = Number(process.env.KEPT_MERGE_CASES ?? 80);
const NOW = 1_000_000;
const NO_SCHEMA = { AddType: 0, AddProperties: 0 };

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-kept-merge-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function open(file: string): Replica {
  return Replica.open({ path: path.join(dir, file), now: () => NOW });
}

/** The replica's objects as a MemoryState, to generate valid local writes against. */
function mirror(r: Replica): MemoryState {
  const m = new MemoryState();
  apply(m, snapshotInstructions(r));
  return m;
}

test(`a replica that keeps its download integration between DOWNLOADs ends like one that reloads it every time (seed ${seed})`, () => {
  // eslint-disable-next-line no-console
  console.log(`replica-kept-merge.test: seed=${seed} (replay with KEPT_MERGE_SEED=${seed})`);
  const rng = new Prng(seed);
  const seen = { downloads: 0, merged: 0, localBetween: 0, failed: 0, empty: 0 };
  for (let c = 0; c < CASES; c++) {
    const start = randomState(rng, { rounds: 1 });
    const files = [`kept-${c}.db`, `fresh-${c}.db`];
    let kept = open(files[0]!);
    let fresh = open(files[1]!);
    const failure = (what: string) => `${what}\nseed=${seed} case=${c} (replay with KEPT_MERGE_SEED=${seed})`;
    try {
      for (const r of [kept, fresh]) {
        r.setIdent(1, 1);
        r.applySnapshot({ serverVersion: 1, serverVersionSalt: 1, lastIntegratedClientVersion: 0, instructions: snapshotInstructions(start) });
      }
      // The server's state: what others write, without this client's unuploaded changes.
      const server = start.clone();
      let serverVersion = 1;
      let timestamp = NOW * 2 ** 16;
      let lastLocal = false;
      const steps = rng.int(6, 14);
      for (let s = 0; s < steps; s++) {
        if (rng.bool(0.35)) {
          const { instructions } = randomChangeset(rng, mirror(kept), { size: rng.int(1, 4), weights: NO_SCHEMA });
          if (instructions.length === 0) continue;
          for (const r of [kept, fresh]) r.write((w) => w.apply(instructions));
          lastLocal = true;
          continue;
        }
        if (rng.bool(0.3)) {
          // A DOWNLOAD without changesets (as an acknowledgement comes): it commits, and the
          // integration kept before it must still be good after it.
          const empty: DownloadBatch = { serverVersion, lastIntegratedClientVersion: 0, latestServerVersion: serverVersion, latestServerVersionSalt: 1, uploadClientVersion: 0, uploadServerVersion: 0, changesets: [] };
          fresh.close();
          fresh = open(files[1]!);
          for (const r of [kept, fresh]) r.integrateAll([empty]);
          seen.empty++;
        }
        const changesets = [];
        for (let k = rng.int(1, 3); k > 0; k--) {
          const { instructions } = randomChangeset(rng, server, { size: rng.int(1, 4), weights: NO_SCHEMA, mutate: true });
          changesets.push({ serverVersion: ++serverVersion, lastIntegratedClientVersion: 0, originTimestamp: (timestamp += rng.int(1, 3)), originFileIdent: 2, instructions: instructions as Instruction[] });
        }
        const batch: DownloadBatch = { serverVersion, lastIntegratedClientVersion: 0, latestServerVersion: serverVersion, latestServerVersionSalt: 1, uploadClientVersion: 0, uploadServerVersion: 0, changesets };
        // Sometimes a DOWNLOAD fails after its first changeset was integrated (the next one is out
        // of order): it must change nothing, the kept integration included.
        const broken = changesets.length > 1 && rng.bool(0.3);
        const sent: DownloadBatch = broken ? { ...batch, changesets: [changesets[0]!, { ...changesets[1]!, serverVersion: changesets[0]!.serverVersion }] } : batch;
        fresh.close();
        fresh = open(files[1]!);
        const outcomes = [kept, fresh].map((r) => {
          try {
            r.integrateAll([sent]);
            return 'ok';
          } catch (e) {
            return (e as { code?: string }).code ?? String(e);
          }
        });
        if (outcomes[0] !== outcomes[1]) throw new Error(failure(`the replicas disagree on the DOWNLOAD: ${outcomes.join(' / ')}`));
        if (broken) {
          seen.failed++;
          // The server sends it again, whole.
          fresh.close();
          fresh = open(files[1]!);
          for (const r of [kept, fresh]) r.integrateAll([batch]);
        }
        seen.downloads++;
        if (kept.historySize > 0) seen.merged++;
        if (lastLocal && kept.historySize > 0) seen.localBetween++;
        lastLocal = false;
        const a = JSON.stringify(canonicalState(kept));
        const b = JSON.stringify(canonicalState(fresh));
        if (a !== b) throw new Error(failure(`after step ${s} the replicas differ:\nkept:     ${a}\nreloaded: ${b}`));
      }
    } finally {
      kept.close();
      fresh.close();
    }
  }
  // The interesting paths were taken: downloads merged past pending changes, local writes between
  // downloads, failed downloads.
  expect(seen.merged).toBeGreaterThan(CASES);
  expect(seen.localBetween).toBeGreaterThan(CASES / 4);
  expect(seen.failed).toBeGreaterThan(0);
  expect(seen.empty).toBeGreaterThan(CASES / 2);
});

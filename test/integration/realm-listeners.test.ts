import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm, { User } from '../../src/index';
import { Server, silentLogger } from '../../src/server';
import { Prng, testSeed } from '../helpers/prng';

/*
 * Generated writes on one client; collection and object listeners on the writer (local commits)
 * and on a second client (downloaded commits) are checked against a model that diffs JSON
 * snapshots of each collection taken before and after every commit, independently of the
 * implementation: valid indices, old − deletions = new − insertions, a minimal change (the kept
 * elements form a longest common subsequence), and every kept element whose snapshot changed
 * reported as modified. On the writer, whose generated commits never rewrite a value with
 * itself, modifications must be exact; a downloaded commit can coalesce several commits (set,
 * then set back), so there only over-reporting of touched elements is allowed.
 */

const Item = { name: 'Item', primaryKey: 'id', properties: { id: 'int', v: 'int', tags: 'string[]', next: 'Item' } };
const Box = { name: 'Box', primaryKey: 'id', properties: { id: 'int', items: 'Item[]' } };

interface Entry {
  key: string;
  json: string;
}
type Snapshot = Entry[];

function shallow(o: any): string {
  if (o.objectSchema().name === 'Box') return JSON.stringify(o.items.map((i: any) => i._objectId()));
  return JSON.stringify({ v: o.v, tags: [...o.tags], next: o.next ? o.next._objectId() : null });
}
function snapshotOf(c: any): Snapshot {
  return c.map((o: any) => ({ key: o._objectId(), json: shallow(o) }));
}
function lcsLength(a: string[], b: string[]): number {
  const t: number[][] = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) t[i][j] = a[i] === b[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
  return t[0][0];
}

interface Changes {
  insertions: number[];
  deletions: number[];
  modifications: number[];
  oldModifications: number[];
  newModifications: number[];
}

/** Checks one reported change set (or its absence) against the snapshots around a commit. */
function checkCollection(before: Snapshot, after: Snapshot, reported: Changes | undefined, exact: boolean, where: string): void {
  const c = reported ?? { insertions: [], deletions: [], modifications: [], oldModifications: [], newModifications: [] };
  const ascending = (xs: number[], n: number) => xs.every((x, i) => Number.isInteger(x) && x >= 0 && x < n && (i === 0 || xs[i - 1] < x));
  expect({ where, ok: ascending(c.deletions, before.length) && ascending(c.insertions, after.length) && ascending(c.oldModifications, before.length) }).toEqual({ where, ok: true });
  const del = new Set(c.deletions);
  const ins = new Set(c.insertions);
  const keptOld = before.filter((_, i) => !del.has(i));
  const keptNew = after.filter((_, j) => !ins.has(j));
  expect({ where, kept: keptNew.map((e) => e.key) }).toEqual({ where, kept: keptOld.map((e) => e.key) });
  expect({ where, minimal: keptOld.length }).toEqual({ where, minimal: lcsLength(before.map((e) => e.key), after.map((e) => e.key)) });
  expect(c.modifications).toEqual(c.oldModifications);
  expect(c.newModifications.length).toBe(c.oldModifications.length);
  // Kept elements, paired in order; each old index maps to its new one.
  const oldIdx = before.map((_, i) => i).filter((i) => !del.has(i));
  const newIdx = after.map((_, j) => j).filter((j) => !ins.has(j));
  const toNew = new Map(oldIdx.map((i, k) => [i, newIdx[k]]));
  for (let k = 0; k < c.oldModifications.length; k++) {
    expect({ where, pair: toNew.get(c.oldModifications[k]) }).toEqual({ where, pair: c.newModifications[k] });
  }
  const changed = oldIdx.filter((i) => before[i].json !== after[toNew.get(i)!].json);
  if (exact) expect({ where, mods: c.oldModifications }).toEqual({ where, mods: changed });
  else expect({ where, missing: changed.filter((i) => !c.oldModifications.includes(i)) }).toEqual({ where, missing: [] });
  if (exact && !reported) expect({ where, changed }).toEqual({ where, changed: [] });
}

interface Watcher {
  commits: number;
  problems: number;
  verify(): void;
}

/** Registers the collections, objects and the per-commit model on one realm. */
async function watch(realm: Realm, exact: boolean, label: string): Promise<Watcher> {
  const box = realm.objectForPrimaryKey<any>('Box', 0)!;
  const collections: Record<string, any> = {
    all: realm.objects('Item'),
    sorted: realm.objects('Item').sorted([['v', false], ['id', true]]),
    filtered: realm.objects('Item').filtered('v > 50 OR tags.@count >= 2'),
    list: box.items,
  };
  const objects = [0, 1, 2, 3, 4].map((id) => realm.objectForPrimaryKey<any>('Item', id)!);
  let snaps: Record<string, Snapshot> = {};
  let objSnaps: (string | null)[] = [];
  const take = () => {
    snaps = Object.fromEntries(Object.entries(collections).map(([k, c]) => [k, snapshotOf(c)]));
    objSnaps = objects.map((o) => (o.isValid() ? JSON.stringify({ v: o.v, tags: [...o.tags], next: o.next ? o.next._objectId() : null }) : null));
  };
  take();
  const w = { commits: 0, problems: 0, verify: () => {} };
  let reported: Record<string, Changes> = {};
  let objReported: Record<number, { deleted: boolean; changedProperties: string[] }> = {};
  let before = snaps;
  let objBefore = objSnaps;
  const checks: (() => void)[] = [];
  const settle = () => {
    // Runs at the start of the next commit's delivery (and at the end): everything for the previous commit has arrived.
    const [b, a, r, ob, oa, or] = [before, snaps, reported, objBefore, objSnaps, objReported];
    const n = w.commits;
    checks.push(() => {
      for (const k of Object.keys(collections)) checkCollection(b[k], a[k], r[k], exact, `${label} commit ${n} ${k}`);
      objects.forEach((_, i) => {
        const got = or[i];
        const where = `${label} commit ${n} object ${i}`;
        if (ob[i] === null) return expect({ where, got }).toEqual({ where, got: undefined });
        if (oa[i] === null) return expect({ where, got }).toEqual({ where, got: { deleted: true, changedProperties: [] } });
        const x = JSON.parse(ob[i]!);
        const y = JSON.parse(oa[i]!);
        const diffProps = ['v', 'tags', 'next'].filter((p) => JSON.stringify(x[p]) !== JSON.stringify(y[p]));
        if (exact) expect({ where, props: got ? [...got.changedProperties].sort() : [] }).toEqual({ where, props: diffProps.sort() });
        else expect({ where, missing: diffProps.filter((p) => !got?.changedProperties.includes(p)) }).toEqual({ where, missing: [] });
      });
    });
  };
  realm.addListener('change', () => {
    if (w.commits > 0) settle();
    before = snaps;
    objBefore = objSnaps;
    take();
    reported = {};
    objReported = {};
    w.commits++;
  });
  const initial: string[] = [];
  for (const [k, c] of Object.entries(collections)) {
    c.addListener((_: unknown, changes: Changes) => {
      if (w.commits === 0) return initial.push(k);
      expect(reported[k]).toBeUndefined(); // one call per commit
      reported[k] = { ...changes };
    });
  }
  objects.forEach((o, i) =>
    o.addListener((_: unknown, ch: { deleted: boolean; changedProperties: string[] }) => {
      if (w.commits === 0) return;
      objReported[i] = ch;
    }),
  );
  await new Promise((r) => setImmediate(r));
  expect(initial.sort()).toEqual(['all', 'filtered', 'list', 'sorted']);
  w.verify = () => {
    if (w.commits > 0) settle();
    for (const c of checks) c();
  };
  return w;
}

/** One generated commit: up to three operations, each on a different object. */
function randomWrite(realm: Realm, rng: Prng, nextId: { n: number }): void {
  realm.write(() => {
    const items = realm.objects<any>('Item');
    const box = realm.objectForPrimaryKey<any>('Box', 0)!;
    const used = new Set<string>();
    const pickFree = () => {
      const free = items.filter((i: any) => !used.has(i._objectId()));
      if (free.length === 0) return undefined;
      const o = rng.pick(free);
      used.add(o._objectId());
      return o;
    };
    let boxUsed = false;
    const ops = rng.int(1, 3);
    for (let k = 0; k < ops; k++) {
      const op = rng.int(0, 9);
      if (op <= 1 || items.length < 3) {
        const id = nextId.n++;
        used.add(String(id));
        const next = items.length && rng.bool() ? rng.pick(items.slice()) : null;
        // A link target is not deleted later in the same commit: the link would be written and then
        // nulled, a modification with no net change, which realm-js reports and the exact model would not.
        if (next) used.add(next._objectId());
        realm.create('Item', { id, v: rng.int(0, 100), tags: rng.bool() ? ['a'] : [], next });
      } else if (op === 2) {
        const o = pickFree();
        if (o && !used.has('deleted')) {
          used.add('deleted'); // a deletion touches referrers: one per commit keeps the writer's model exact
          realm.delete(o);
        }
      } else if (op <= 4) {
        const o = pickFree();
        if (o) {
          let v = rng.int(0, 100);
          if (v === o.v) v = (v + 1) % 101;
          o.v = v;
        }
      } else if (op === 5) {
        const o = pickFree();
        if (o) {
          if (o.tags.length > 0 && rng.bool()) o.tags.pop();
          else o.tags.push(rng.pick(['a', 'b', 'c']));
        }
      } else if (op === 6) {
        const o = pickFree();
        if (o) {
          const target = rng.bool(0.3) ? null : rng.pick(items.slice());
          if (target) used.add(target._objectId()); // not deleted later in this commit (see above)
          if ((target ? target._objectId() : null) !== (o.next ? o.next._objectId() : null)) o.next = target;
        }
      } else if (!boxUsed) {
        boxUsed = true;
        if (box.items.length > 0 && rng.bool(0.4)) box.items.splice(rng.int(0, box.items.length - 1), 1);
        else {
          const added = rng.pick(items.slice());
          used.add(added._objectId());
          box.items.splice(rng.int(0, box.items.length), 0, added);
        }
      }
    }
  });
}

let server: Server;
let dataPath: string;
let clientDir: string;
const realms: Realm[] = [];

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-ls-srv-'));
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-ls-cli-'));
  server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
});
afterEach(async () => {
  for (const r of realms.splice(0)) r.close();
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(clientDir, { recursive: true, force: true });
});

test('listeners under generated writes match a snapshot-diffing model, locally and after downloads', async () => {
  const seed = testSeed('realm-listeners');
  const rng = new Prng(seed);
  const user = await User.register(server.url, 'lis', 'pw-lis');
  const url = `realm://127.0.0.1:${server.port}/~/items`;
  const open = async (file: string) => {
    const r = await Realm.open({ schema: [Item, Box], sync: { user, url }, path: path.join(clientDir, file) });
    realms.push(r);
    return r;
  };
  const writer = await open('a.db');
  writer.write(() => {
    realm0(writer);
  });
  await writer.syncSession!.uploadAllLocalChanges(10_000);
  const reader = await open('b.db');
  const w = await watch(writer, true, 'writer');
  const r = await watch(reader, false, 'reader');
  const nextId = { n: 5 };
  let commits = 0;
  for (let i = 0; i < 60; i++) {
    const version = writer._replica.lastClientVersion;
    randomWrite(writer, rng, nextId);
    if (writer._replica.lastClientVersion !== version) commits++;
    if (rng.bool(0.3)) await reader.syncSession!.downloadAllServerChanges(10_000);
  }
  await writer.syncSession!.uploadAllLocalChanges(10_000);
  await reader.syncSession!.downloadAllServerChanges(10_000);
  try {
    w.verify();
    r.verify();
  } catch (e) {
    throw new Error(`seed=${seed}: ${(e as Error).message}`);
  }
  expect(w.commits).toBe(commits);
  expect(r.commits).toBeGreaterThan(0);
  expect(snapshotOf(reader.objects('Item'))).toEqual(snapshotOf(writer.objects('Item')));
  expect(snapshotOf(reader.objectForPrimaryKey<any>('Box', 0).items)).toEqual(snapshotOf(writer.objectForPrimaryKey<any>('Box', 0).items));
});

function realm0(realm: Realm): void {
  const items = [0, 1, 2, 3, 4].map((id) => realm.create<any>('Item', { id, v: id * 20, tags: [] }));
  realm.create('Box', { id: 0, items: [items[0], items[1], items[0]] });
}

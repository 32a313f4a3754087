import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalState, decodeChangeset, MemoryState, apply, type Instruction } from '../../src/changeset';
import { transform } from '../../src/merge';
import { HLC_COUNTER_BITS } from '../../src/model';
import { Replica, defaultReplicaPath, parseRealmUrl, parseServerUrl } from '../../src/store';
import { Prng, testSeed } from '../helpers/prng';

const schema: Instruction[] = [
  {
    op: 'AddType',
    type: 'Item',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'int', optional: false },
      { name: 'name', type: 'string', optional: false },
      { name: 'n', type: 'int', optional: false },
      { name: 'tags', type: 'list', objectType: 'string', optional: false },
    ],
  },
];
const create = (id: number, name: string): Instruction => ({ op: 'Create', type: 'Item', id, values: { name } });

let dir: string;
const opened: Replica[] = [];
function openReplica(file = 'r.db', now?: () => number): Replica {
  const r = Replica.open({ path: path.join(dir, file), now });
  opened.push(r);
  return r;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-store-'));
});
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Replica', () => {
  test('state, history, ident and cursors survive a reopen', () => {
    const a = openReplica();
    a.bind({ serverUrl: 'ws://h:1/sync', realmPath: '/~/x', userIdentity: 'u1' });
    a.setIdent(7, 1234);
    const v1 = a.write((w) => {
      w.apply(schema);
      w.apply([create(1, 'one'), create(2, 'two')]);
      return w.commit();
    });
    expect(v1).toBe(1);
    a.close();
    const b = openReplica();
    expect(b.fileIdent).toBe(7);
    expect(b.fileSalt).toBe(1234);
    expect(b.binding).toEqual({ serverUrl: 'ws://h:1/sync', realmPath: '/~/x', userIdentity: 'u1' });
    expect(b.getObject('Item', 2)!.values.name).toBe('two');
    const [cs] = b.changesetsAfter(0);
    expect(cs.clientVersion).toBe(1);
    expect(decodeChangeset(cs.data)).toEqual([...schema, create(1, 'one'), create(2, 'two')]);
    expect(() => b.bind({ serverUrl: 'ws://h:1/sync', realmPath: '/~/x', userIdentity: 'u2' })).toThrow(expect.objectContaining({ code: 'USER_MISMATCH' }));
  });

  test('a failing write leaves neither data nor history; a failing apply inside a write is atomic', () => {
    const r = openReplica();
    r.write((w) => w.apply(schema));
    expect(() =>
      r.write((w) => {
        w.apply([create(1, 'one')]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(r.getObject('Item', 1)).toBeUndefined();
    expect(r.lastClientVersion).toBe(1);
    r.write((w) => {
      w.apply([create(1, 'one')]);
      // the second instruction fails (list size): the whole batch is undone, the write goes on
      expect(() => w.apply([{ op: 'Set', type: 'Item', id: 1, values: { name: 'x' } }, { op: 'ListErase', type: 'Item', id: 1, property: 'tags', index: 0, prior: 1 }])).toThrow(
        expect.objectContaining({ code: 'BAD_CHANGESET' }),
      );
      expect(r.getObject('Item', 1)!.values.name).toBe('one');
    });
    expect(r.getObject('Item', 1)!.values.name).toBe('one');
    expect(decodeChangeset(r.changesetsAfter(1)[0].data)).toEqual([create(1, 'one')]);
  });

  test('an empty write makes no changeset', () => {
    const r = openReplica();
    expect(r.write((w) => w.commit())).toBeUndefined();
    expect(r.historySize).toBe(0);
  });

  test('objects past the record cache are read back from the file, before and after they are evicted', () => {
    const r = Replica.open({ path: path.join(dir, 'small-cache.db'), cacheSize: 16 });
    opened.push(r);
    r.write((w) => w.apply(schema));
    for (let i = 0; i < 100; i += 10) r.write((w) => w.apply(Array.from({ length: 10 }, (_, k) => create(i + k, `n${i + k}`))));
    r.write((w) => w.apply([{ op: 'Set', type: 'Item', id: 0, values: { name: 'zero' } }]));
    for (let i = 0; i < 100; i++) expect(r.getObject('Item', i)?.values.name).toBe(i === 0 ? 'zero' : `n${i}`);
    expect(r.objects('Item')).toHaveLength(100);
    expect(r.getObject('Item', 100)).toBeUndefined();
  });

  test('objects come in local creation order; re-creating moves to the end', () => {
    const r = openReplica();
    r.write((w) => w.apply([...schema, create(3, 'c'), create(1, 'a'), create(2, 'b')]));
    r.write((w) => w.apply([{ op: 'Delete', type: 'Item', id: 1 }, create(1, 'a2')]));
    expect(r.objects('Item').map((o) => o.id)).toEqual([3, 2, 1]);
    expect(r.count('Item')).toBe(3);
    r.close();
    expect(openReplica().objects('Item').map((o) => o.id)).toEqual([3, 2, 1]);
  });

  test('a create of an existing object updates it in place, whether the object is cached or only in the file', () => {
    let r = openReplica();
    r.write((w) => w.apply([...schema, create(1, 'a'), create(2, 'b')]));
    r.write((w) => w.apply([{ op: 'Create', type: 'Item', id: 1, values: { n: 5 } }]));
    expect(r.getObject('Item', 1)!.values).toEqual({ name: 'a', n: 5 });
    r.close();
    // Reopened: nothing is cached, the existing row is found through the insert's conflict.
    r = openReplica();
    const seen: string[] = [];
    r.addExtension({ observer: { created: (t, id) => seen.push(`created ${t} ${id}`), modified: (t, id, p) => seen.push(`modified ${t} ${id} ${p}`) } });
    r.write((w) => w.apply([{ op: 'Create', type: 'Item', id: 2, values: { name: 'b2' } }, create(3, 'c')]));
    expect(seen).toEqual(['modified Item 2 name', 'created Item 3']);
    expect(r.objects('Item').map((o) => [o.id, o.values.name])).toEqual([[1, 'a'], [2, 'b2'], [3, 'c']]);
    expect(r.count('Item')).toBe(3);
    // A create that fails validation writes nothing, existing or not.
    expect(() => r.write((w) => w.apply([{ op: 'Create', type: 'Item', id: 4, values: { n: 'x' as never } }]))).toThrow();
    expect(() => r.write((w) => w.apply([{ op: 'Create', type: 'Item', id: 1, values: { n: 'x' as never } }]))).toThrow();
    expect(r.getObject('Item', 4)).toBeUndefined();
    expect(r.getObject('Item', 1)!.values.n).toBe(5);
  });

  test('changesetsAfter answers the same from memory as from the file, across writes, trims, rollbacks and reopens (generated)', () => {
    const rng = new Prng(testSeed('changesetsAfter'));
    let r = openReplica('recent.db');
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    const model = new Map<number, Instruction[]>([[1, schema]]);
    let sv = 0;
    let acked = 0;
    let nextId = 1;
    for (let step = 0; step < 400; step++) {
      const dice = rng.next();
      if (dice < 0.5) {
        const ins = Array.from({ length: rng.int(1, 3) }, () => create(nextId++, 'x'.repeat(rng.int(0, 300))));
        const cv = r.write((w) => {
          w.apply(ins);
          return w.commit();
        })!;
        model.set(cv, ins);
      } else if (dice < 0.6) {
        expect(() => r.write((w) => {
          w.apply([create(nextId, 'never')]);
          throw new Error('cancelled');
        })).toThrow('cancelled');
      } else if (dice < 0.75) {
        const upTo = rng.int(acked, r.lastClientVersion);
        sv++;
        r.integrate({ serverVersion: sv, lastIntegratedClientVersion: upTo, latestServerVersion: sv, latestServerVersionSalt: 1, uploadClientVersion: upTo, uploadServerVersion: sv, changesets: [] });
        acked = upTo;
        for (const cv of [...model.keys()]) if (cv <= upTo) model.delete(cv);
      } else if (dice < 0.78) {
        r.close();
        r = openReplica('recent.db');
      } else {
        const after = rng.int(acked, r.lastClientVersion);
        const maxBytes = rng.bool(0.3) ? Infinity : rng.int(1, 1500);
        const got = r.changesetsAfter(after, maxBytes);
        const expected: number[] = [];
        let bytes = 0;
        for (const cv of [...model.keys()].filter((v) => v > after).sort((a, b) => a - b)) {
          const size = r.changesetsAfter(cv - 1, 0)[0]!.data.length;
          if (expected.length > 0 && bytes + size > maxBytes) break;
          bytes += size;
          expected.push(cv);
        }
        expect(got.map((c) => c.clientVersion)).toEqual(expected);
        for (const c of got) expect(decodeChangeset(c.data)).toEqual(model.get(c.clientVersion));
      }
    }
  });

  test('a failed apply inside a write keeps the creation sequence of the applies before it (written once, at commit)', () => {
    let r = openReplica('seq.db');
    r.write((w) => w.apply(schema));
    r.write((w) => {
      w.apply([create(1, 'a')]);
      w.apply([create(2, 'b')]);
      // Fails after the sequence moved on in memory: the savepoint's rollback must restore it.
      expect(() => w.apply([create(3, 'c'), { op: 'Create', type: 'Item', id: 4, values: { n: 'x' as never } }])).toThrow();
      w.apply([create(5, 'e')]);
    });
    expect(r.objects('Item').map((o) => o.id)).toEqual([1, 2, 5]);
    r.close();
    r = openReplica('seq.db');
    // A sequence number handed out twice would collide in the (type, seq) key here.
    r.write((w) => w.apply([create(6, 'f'), create(7, 'g')]));
    expect(r.objects('Item').map((o) => o.id)).toEqual([1, 2, 5, 6, 7]);
  });

  test('the HLC is persisted: it never goes back across restarts, and observes downloads', () => {
    let now = 1_000_000;
    const a = openReplica('c.db', () => now);
    a.write((w) => w.apply(schema));
    const t1 = a.changesetsAfter(0)[0].originTimestamp;
    expect(t1).toBe(1_000_000 * HLC_COUNTER_BITS);
    const future = 2_000_000 * HLC_COUNTER_BITS + 5;
    a.integrate({
      serverVersion: 1,
      lastIntegratedClientVersion: 0,
      latestServerVersion: 1,
      latestServerVersionSalt: 9,
      uploadClientVersion: 0,
      uploadServerVersion: 0,
      changesets: [],
    });
    a.close();
    now = 500_000; // the wall clock went back
    const b = openReplica('c.db', () => now);
    b.write((w) => w.apply([create(1, 'x')]));
    const t2 = b.changesetsAfter(1)[0].originTimestamp;
    expect(t2).toBeGreaterThan(t1);
    // a downloaded timestamp from the future pushes the clock past it
    b.integrate({
      serverVersion: 2,
      lastIntegratedClientVersion: 0,
      latestServerVersion: 2,
      latestServerVersionSalt: 9,
      uploadClientVersion: 0,
      uploadServerVersion: 0,
      changesets: [{ serverVersion: 2, lastIntegratedClientVersion: 0, originTimestamp: future, originFileIdent: 3, instructions: [] }],
    });
    b.close();
    const c = openReplica('c.db', () => now);
    expect(c.clockTime).toBeGreaterThanOrEqual(future);
    c.write((w) => w.apply([create(9, 'late')]));
    expect(c.changesetsAfter(0).at(-1)!.originTimestamp).toBeGreaterThan(future);
  });

  test('a download is applied with its cursors and acknowledgement in one transaction; acknowledged history is trimmed', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    r.write((w) => w.apply([create(1, 'mine')]));
    expect(r.historySize).toBe(2);
    // the server integrated both of ours as versions 1 and 2, then a peer's changeset at 3
    r.integrate({
      serverVersion: 3,
      lastIntegratedClientVersion: 2,
      latestServerVersion: 3,
      latestServerVersionSalt: 77,
      uploadClientVersion: 2,
      uploadServerVersion: 0,
      changesets: [{ serverVersion: 3, lastIntegratedClientVersion: 2, originTimestamp: 1, originFileIdent: 6, instructions: [create(2, 'theirs')] }],
    });
    expect(r.getObject('Item', 2)!.values.name).toBe('theirs');
    expect(r.progress).toEqual({
      download: { serverVersion: 3, lastIntegratedClientVersion: 2 },
      latestServerVersion: 3,
      latestServerVersionSalt: 77,
      acknowledged: { clientVersion: 2, lastIntegratedServerVersion: 0 },
    });
    expect(r.historySize).toBe(0);
    expect(r.lastClientVersion).toBe(2);

    // a changeset that cannot be applied changes nothing: neither data nor cursors
    expect(() =>
      r.integrate({
        serverVersion: 5,
        lastIntegratedClientVersion: 2,
        latestServerVersion: 5,
        latestServerVersionSalt: 78,
        uploadClientVersion: 2,
        uploadServerVersion: 0,
        changesets: [
          { serverVersion: 4, lastIntegratedClientVersion: 2, originTimestamp: 2, originFileIdent: 6, instructions: [create(3, 'ok')] },
          { serverVersion: 5, lastIntegratedClientVersion: 2, originTimestamp: 3, originFileIdent: 6, instructions: [{ op: 'Set', type: 'Item', id: 99, values: { name: 'x' } }] },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'BAD_CHANGESET' }));
    expect(r.getObject('Item', 3)).toBeUndefined();
    expect(r.progress.download.serverVersion).toBe(3);

    // cursors never go backwards
    expect(() =>
      r.integrate({ serverVersion: 2, lastIntegratedClientVersion: 2, latestServerVersion: 3, latestServerVersionSalt: 1, uploadClientVersion: 2, uploadServerVersion: 0, changesets: [] }),
    ).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
    expect(() =>
      r.integrate({ serverVersion: 3, lastIntegratedClientVersion: 2, latestServerVersion: 3, latestServerVersionSalt: 1, uploadClientVersion: 9, uploadServerVersion: 0, changesets: [] }),
    ).toThrow(expect.objectContaining({ code: 'BAD_CLIENT_VERSION' }));
  });

  test('several DOWNLOADs integrate in one transaction, each checked against the cursors of the one before', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    const commits: string[] = [];
    r.addExtension({ committed: (e) => commits.push(e.origin) });
    const download = (v: number, extra: Partial<Parameters<Replica['integrate']>[0]> = {}) => ({
      serverVersion: v,
      lastIntegratedClientVersion: 1,
      latestServerVersion: v,
      latestServerVersionSalt: 70 + v,
      uploadClientVersion: 1,
      uploadServerVersion: 0,
      changesets: [{ serverVersion: v, lastIntegratedClientVersion: 1, originTimestamp: v, originFileIdent: 6, instructions: [create(v, `v${v}`)] }],
      ...extra,
    });
    r.integrateAll([download(2), download(3), download(4)]);
    expect(commits).toEqual(['download']);
    expect([2, 3, 4].map((id) => r.getObject('Item', id)?.values.name)).toEqual(['v2', 'v3', 'v4']);
    expect(r.progress.download).toEqual({ serverVersion: 4, lastIntegratedClientVersion: 1 });
    expect(r.progress.latestServerVersionSalt).toBe(74);
    // The second one moves the cursor back relative to the first: nothing of either is kept.
    expect(() => r.integrateAll([download(6), download(5)])).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
    expect(r.getObject('Item', 6)).toBeUndefined();
    expect(r.progress.download.serverVersion).toBe(4);
    expect(commits).toEqual(['download']);
  });

  test('the cursors of coalesced DOWNLOADs are in the file after the commit, and a rolled-back trim is redone', () => {
    const r = openReplica('trim.db');
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    r.write((w) => w.apply([create(1, 'mine')]));
    const ack = (v: number, upload: number, changesets: Parameters<Replica['integrate']>[0]['changesets'] = []) => ({
      serverVersion: v,
      lastIntegratedClientVersion: upload,
      latestServerVersion: v,
      latestServerVersionSalt: 90 + v,
      uploadClientVersion: upload,
      uploadServerVersion: 0,
      changesets,
    });
    // Both acknowledged (trim due) but the second DOWNLOAD moves back: nothing is kept, the trim included.
    expect(() => r.integrateAll([ack(3, 2), ack(2, 2)])).toThrow(expect.objectContaining({ code: 'BAD_SERVER_VERSION' }));
    expect(r.historySize).toBe(2);
    expect(r.progress.acknowledged.clientVersion).toBe(0);
    r.integrateAll([ack(3, 1), ack(4, 2, [{ serverVersion: 4, lastIntegratedClientVersion: 2, originTimestamp: 1, originFileIdent: 6, instructions: [create(2, 'theirs')] }])]);
    expect(r.historySize).toBe(0);
    r.close();
    const again = openReplica('trim.db');
    expect(again.progress).toEqual({
      download: { serverVersion: 4, lastIntegratedClientVersion: 2 },
      latestServerVersion: 4,
      latestServerVersionSalt: 94,
      acknowledged: { clientVersion: 2, lastIntegratedServerVersion: 0 },
    });
    expect(again.getObject('Item', 2)!.values.name).toBe('theirs');
    expect(again.historySize).toBe(0);
  });

  test('history acknowledged but not yet integrated per the download cursor is kept', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    r.write((w) => w.apply(schema));
    r.integrate({ serverVersion: 0, lastIntegratedClientVersion: 0, latestServerVersion: 0, latestServerVersionSalt: 0, uploadClientVersion: 1, uploadServerVersion: 0, changesets: [] });
    expect(r.progress.acknowledged.clientVersion).toBe(1);
    expect(r.historySize).toBe(1);
  });

  test('a download concurrent with pending local changes is transformed and the pending copies rebased', () => {
    const r = openReplica();
    r.setIdent(5, 1);
    // base: the server state at version 1 (schema + item 1)
    r.applySnapshot({ serverVersion: 1, serverVersionSalt: 3, lastIntegratedClientVersion: 0, instructions: [...schema, create(1, 'base')] });
    r.write((w) => w.apply([{ op: 'Set', type: 'Item', id: 1, values: { name: 'mine' } }, { op: 'ListInsert', type: 'Item', id: 1, property: 'tags', index: 0, value: 'm', prior: 0 }]));
    const theirs: Instruction[] = [{ op: 'ListInsert', type: 'Item', id: 1, property: 'tags', index: 0, value: 't', prior: 0 }, { op: 'AddInteger', type: 'Item', id: 1, property: 'n', delta: 2 }];
    r.integrate({
      serverVersion: 2,
      lastIntegratedClientVersion: 0,
      latestServerVersion: 2,
      latestServerVersionSalt: 4,
      uploadClientVersion: 0,
      uploadServerVersion: 0,
      changesets: [{ serverVersion: 2, lastIntegratedClientVersion: 0, originTimestamp: 1, originFileIdent: 6, instructions: theirs }],
    });
    const item = r.getObject('Item', 1)!;
    expect(item.values.n).toBe(2);
    expect(item.values.name).toBe('mine');
    expect(item.lists.tags.map((e) => e.value).sort()).toEqual(['m', 't']);
    // The original is what gets uploaded; the server, transforming it past theirs, reaches the same state.
    const [local] = r.changesetsAfter(0);
    expect(local.lastIntegratedServerVersion).toBe(1);
    const server = new MemoryState();
    apply(server, [...schema, create(1, 'base')]);
    apply(server, theirs);
    const [localPrime] = transform(
      { instructions: decodeChangeset(local.data), timestamp: local.originTimestamp, fileIdent: 5 },
      { instructions: theirs, timestamp: 1, fileIdent: 6 },
    );
    apply(server, localPrime);
    expect(canonicalState(r)).toEqual(canonicalState(server));
  });

  test('a snapshot replaces the content and re-applies unacknowledged local changes as new changesets', () => {
    const r = openReplica();
    r.write((w) => w.apply(schema));
    r.write((w) => w.apply([create(1, 'offline'), { op: 'ListInsert', type: 'Item', id: 1, property: 'tags', index: 0, value: 'x', prior: 0 }]));
    r.setIdent(9, 2);
    const result = r.applySnapshot({
      serverVersion: 4,
      serverVersionSalt: 11,
      lastIntegratedClientVersion: 0,
      instructions: [...schema, create(2, 'server'), { op: 'ListInsert', type: 'Item', id: 2, property: 'tags', index: 0, value: 's', prior: 0 }],
    });
    expect(result.recovered).toBe(2);
    expect(r.objects('Item').map((o) => o.values.name)).toEqual(['server', 'offline']);
    const pending = r.changesetsAfter(0);
    expect(pending.map((c) => c.clientVersion)).toEqual([3, 4]);
    expect(pending.every((c) => c.lastIntegratedServerVersion === 4)).toBe(true);
    expect(r.progress.download).toEqual({ serverVersion: 4, lastIntegratedClientVersion: 0 });
  });
});

describe('locations', () => {
  test('server and realm URLs', () => {
    expect(parseServerUrl('realm://localhost:9080')).toEqual({ httpBase: 'http://localhost:9080', syncUrl: 'ws://localhost:9080/sync', hostKey: 'localhost_9080' });
    expect(parseServerUrl('realms://example.com').syncUrl).toBe('wss://example.com/sync');
    expect(parseServerUrl('https://example.com:443/x').httpBase).toBe('https://example.com');
    const loc = parseRealmUrl('realm://127.0.0.1:9080/~/private');
    expect(loc.path).toBe('/~/private');
    expect(defaultReplicaPath(loc, 'abc', '/data')).toBe('/data/127.0.0.1_9080/abc/abc/private.db');
    expect(() => parseRealmUrl('realm://h:1/a/../b')).toThrow();
    expect(() => parseServerUrl('ftp://h')).toThrow(/scheme/);
  });
});

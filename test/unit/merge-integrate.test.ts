import { Instruction, MemoryState, apply } from '../../src/changeset';
import { MemoryHistory, UploadIntegration, integrateDownload, integrateUpload } from '../../src/merge';

const SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'Person',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'int', optional: false },
      { name: 'n', type: 'int', optional: false },
      { name: 'best', type: 'object', objectType: 'Person', optional: true },
    ],
  },
];

function server(): { history: MemoryHistory; state: MemoryState } {
  const state = new MemoryState();
  apply(state, [...SCHEMA, { op: 'Create', type: 'Person', id: 1, values: {} }, { op: 'Create', type: 'Person', id: 2, values: {} }]);
  return { history: new MemoryHistory(), state };
}

const set = (n: number): Instruction[] => [{ op: 'Set', type: 'Person', id: 1, values: { n } }];

/** Entry `version` as client `fileIdent` sees it, rebuilt by a fresh integration (stored copies plus the replayed journal). */
function seenBy(history: MemoryHistory, fileIdent: number, version: number): Instruction[] | undefined {
  const merge = new UploadIntegration(fileIdent);
  merge.use(history);
  merge.load(0);
  return merge.seen(version);
}

describe('integrateUpload', () => {
  test('appends, records the client version and skips re-uploads', () => {
    const { history, state } = server();
    const up = { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 10, instructions: set(1) };
    expect(integrateUpload(history, 7, up, state)).toEqual({ version: 1, instructions: set(1) });
    expect(history.lastIntegratedClientVersion(7)).toBe(1);
    expect(integrateUpload(history, 7, up, state)).toEqual({ instructions: [] });
    expect(history.latestVersion()).toBe(1);
  });

  test('transforms past concurrent entries of other clients, not past its own', () => {
    const { history } = server();
    integrateUpload(history, 1, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 20, instructions: set(5) });
    integrateUpload(history, 2, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 30, instructions: [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 1 }] });
    // Client 2's AddInteger survived client 1's earlier Set; client 2 sees that Set with the delta folded in.
    expect(history.entry(2)!.instructions).toEqual([{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 1 }]);
    expect(seenBy(history, 2, 1)).toEqual(set(6));
    // The copy is not written: the changeset that changed it is journaled, as uploaded.
    expect(history.getReciprocal(2, 1)).toBeUndefined();
    expect(history.journaled(2, 0, 10).map((j) => [j.clientVersion, j.version, j.instructions])).toEqual([[1, 2, [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 1 }]]]);
    // Client 2's next changeset, still based on version 0, merges against that reciprocal copy (an
    // integration built afresh replays the journal) and skips its own entry 2.
    const r = integrateUpload(history, 2, { clientVersion: 2, lastIntegratedServerVersion: 0, originTimestamp: 31, instructions: set(9) });
    expect(r).toEqual({ version: 3, instructions: set(9) });
    expect(seenBy(history, 2, 1)).toEqual([]);
  });

  test('a copy emptied by the merge is seen as [], and an entry no upload met is journaled by nothing', () => {
    const { history } = server();
    integrateUpload(history, 1, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 20, instructions: set(5) });
    integrateUpload(history, 1, { clientVersion: 2, lastIntegratedServerVersion: 1, originTimestamp: 21, instructions: set(6) });
    expect(seenBy(history, 2, 1)).toEqual(set(5));
    expect(history.journalCount(1)).toBe(0);
    expect(history.journalCount(2)).toBe(0);
    integrateUpload(history, 2, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 30, instructions: set(8) });
    expect(seenBy(history, 2, 1)).toEqual([]);
    expect(seenBy(history, 2, 2)).toEqual([]);
    expect(history.entry(3)!.instructions).toEqual(set(8));
    expect(history.journalCount(2)).toBe(1);
  });

  test('a changeset the merge empties is still appended, and links to deleted objects use the server schema', () => {
    const { history, state } = server();
    const del: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    integrateUpload(history, 1, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 20, instructions: del }, state);
    apply(state, del);
    const r = integrateUpload(history, 2, {
      clientVersion: 1,
      lastIntegratedServerVersion: 0,
      originTimestamp: 10,
      instructions: [
        { op: 'Set', type: 'Person', id: 2, values: { n: 1 } },
        { op: 'Set', type: 'Person', id: 1, values: { best: 2 } },
      ],
    }, state);
    expect(r).toEqual({ version: 2, instructions: [{ op: 'Set', type: 'Person', id: 1, values: { best: null } }] });
    const empty = integrateUpload(history, 2, { clientVersion: 2, lastIntegratedServerVersion: 0, originTimestamp: 11, instructions: [{ op: 'Set', type: 'Person', id: 2, values: { n: 3 } }] }, state);
    expect(empty).toEqual({ version: 3, instructions: [] });
    expect(history.lastIntegratedClientVersion(2)).toBe(2);
  });

  test('uses the history access as the schema when it is also a state store', () => {
    const { history, state } = server();
    const access = Object.assign(Object.create(history) as MemoryHistory, { getSchema: (t: string) => state.getSchema(t) });
    integrateUpload(access, 1, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 20, instructions: [{ op: 'Delete', type: 'Person', id: 2 }] });
    const r = integrateUpload(access, 2, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 30, instructions: [{ op: 'Set', type: 'Person', id: 1, values: { best: 2 } }] });
    expect(r.instructions).toEqual([{ op: 'Set', type: 'Person', id: 1, values: { best: null } }]);
  });

  test('the journal is emptied once uploads are based past every entry whose copy it changed, and stored copies at or below the base are trimmed', () => {
    const { history } = server();
    integrateUpload(history, 1, { clientVersion: 1, lastIntegratedServerVersion: 0, originTimestamp: 20, instructions: set(5) });
    integrateUpload(history, 1, { clientVersion: 2, lastIntegratedServerVersion: 1, originTimestamp: 21, instructions: set(6) });
    // A copy stored by a server from before the journal (schema 2).
    history.setReciprocal(2, 1, []);
    integrateUpload(history, 2, { clientVersion: 1, lastIntegratedServerVersion: 1, originTimestamp: 30, instructions: set(7) });
    expect(history.journalCount(2)).toBe(1); // it changed entry 2's copy
    expect(history.reciprocalCount(2)).toBe(0); // version 1 is at the base
    expect(seenBy(history, 2, 2)).toEqual([]);
    // Based on version 2: no copy above the base was changed; the own entry 3 does not count.
    integrateUpload(history, 2, { clientVersion: 2, lastIntegratedServerVersion: 2, originTimestamp: 31, instructions: set(8) });
    expect(history.journalCount(2)).toBe(0);
  });

  test('two clients conflicting without pause keep the journal short (each base passes the entries it changed)', () => {
    const { history } = server();
    const merges = new Map([1, 2].map((ident) => [ident, new UploadIntegration(ident)]));
    let longest = 0;
    for (let round = 0; round < 200; round++) {
      for (const ident of [1, 2]) {
        // Each client has downloaded everything but the other's latest entry.
        const base = Math.max(0, history.latestVersion() - 1);
        const merge = merges.get(ident)!;
        merge.use(history);
        merge.load(base);
        merge.integrate({ clientVersion: round + 1, lastIntegratedServerVersion: base, originTimestamp: 2 * round + ident, instructions: set(round) });
        merge.flush();
        longest = Math.max(longest, history.journalCount(ident));
      }
    }
    // They did conflict (rows were journaled), and the journal stayed within four rows per changed
    // copy: one entry above the base is always changed, so it is folded in at four rows.
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThanOrEqual(4);
    // A fresh integration (stored copies plus the journal) sees what the live one sees above its base.
    for (const ident of [1, 2]) {
      const live = merges.get(ident)!;
      live.use(history);
      live.load(0);
      for (let v = history.latestVersion() - 1; v <= history.latestVersion(); v++) expect([ident, v, seenBy(history, ident, v)]).toEqual([ident, v, live.seen(v)]);
    }
  });

  test('a journal of foldRatio rows per changed copy is folded into stored copies, which a fresh integration reads as the copies', () => {
    const { history } = server();
    for (let v = 1; v <= 5; v++) history.append({ originFileIdent: 3, clientVersion: v, originTimestamp: 10 + v, instructions: [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: v }] });
    // Five changed copies at a ratio of 0.6: folded at three rows.
    const merge = new UploadIntegration(7, 256, 0.6);
    merge.use(history);
    merge.load(0);
    for (let c = 1; c <= 2; c++) merge.integrate({ clientVersion: c, lastIntegratedServerVersion: 0, originTimestamp: 1, instructions: set(100 + c) });
    merge.flush();
    expect([history.journalCount(7), history.reciprocalCount(7)]).toEqual([2, 0]);
    merge.integrate({ clientVersion: 3, lastIntegratedServerVersion: 0, originTimestamp: 1, instructions: set(103) });
    merge.flush();
    expect([history.journalCount(7), history.reciprocalCount(7)]).toEqual([0, 5]);
    for (let v = 1; v <= 5; v++) expect([v, seenBy(history, 7, v)]).toEqual([v, merge.seen(v)]);
    // And the journal starts again from the stored copies.
    merge.integrate({ clientVersion: 4, lastIntegratedServerVersion: 0, originTimestamp: 1, instructions: set(104) });
    merge.flush();
    expect(history.journalCount(7)).toBe(1);
    for (let v = 1; v <= 5; v++) expect([v, seenBy(history, 7, v)]).toEqual([v, merge.seen(v)]);
  });

  test('a journal replayed over copies stored before it gives the copies the lost integration held', () => {
    const { history, state } = server();
    for (let v = 1; v <= 6; v++) history.append({ originFileIdent: 3, clientVersion: v, originTimestamp: 10 + v, instructions: [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: v }] });
    // Stored by an older server: entry 2 as client 7 saw it after an earlier merge.
    history.setReciprocal(7, 2, [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 20 }]);
    const live = new UploadIntegration(7);
    live.use(history, state);
    live.load(0);
    for (let c = 1; c <= 3; c++) live.integrate({ clientVersion: c, lastIntegratedServerVersion: 0, originTimestamp: 50 + c, instructions: set(100 + c) });
    live.flush();
    for (let v = 1; v <= 6; v++) expect([v, seenBy(history, 7, v)]).toEqual([v, live.seen(v)]);
    expect(live.seen(2)).toEqual([]);
  });
});

describe('integrateDownload', () => {
  const incoming = (k: number, instructions: Instruction[]) => ({ serverVersion: 5, lastIntegratedClientVersion: k, originTimestamp: 50, originFileIdent: 3, instructions });

  test('transforms past pending changesets after lastIntegratedClientVersion and rebases them', () => {
    const pending = [
      { clientVersion: 1, originTimestamp: 40, instructions: set(1) },
      { clientVersion: 2, originTimestamp: 60, instructions: set(2) },
      { clientVersion: 3, originTimestamp: 61, instructions: [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 4 }] as Instruction[] },
    ];
    const r = integrateDownload(9, pending, incoming(1, set(7)));
    // The download (ts 50) loses to pending v2 (ts 60); v1 is already inside it.
    expect(r.apply).toEqual([]);
    expect(r.pending).toEqual([pending[1], pending[2]]);
  });

  test('an earlier pending write loses to the download and stays as an empty changeset', () => {
    const pending = [{ clientVersion: 4, originTimestamp: 40, instructions: set(1) }];
    const r = integrateDownload(9, pending, incoming(3, set(7)));
    expect(r.apply).toEqual(set(7));
    expect(r.pending).toEqual([{ clientVersion: 4, originTimestamp: 40, instructions: [] }]);
  });

  test('links to objects a pending changeset deleted become null with the replica as schema', () => {
    const { state } = server();
    const pending = [{ clientVersion: 1, originTimestamp: 40, instructions: [{ op: 'Delete', type: 'Person', id: 2 }] as Instruction[] }];
    const r = integrateDownload(9, pending, incoming(0, [{ op: 'Set', type: 'Person', id: 1, values: { best: 2 } }]), state);
    expect(r.apply).toEqual([{ op: 'Set', type: 'Person', id: 1, values: { best: null } }]);
  });
});

describe('UploadIntegration.load with a deadline', () => {
  test('stops at the first entry past the deadline, not at the end of a storage chunk', () => {
    const { history } = server();
    for (let v = 1; v <= 100; v++) history.append({ originFileIdent: 3, clientVersion: v, originTimestamp: v, instructions: set(v) });
    // Entries are read in chunks of 256; each loaded entry asks for its reciprocal copy once.
    let reads = 0;
    const getReciprocal = history.getReciprocal.bind(history);
    history.getReciprocal = (fileIdent, version) => {
      reads++;
      return getReciprocal(fileIdent, version);
    };
    const merge = new UploadIntegration(7, 256);
    merge.use(history);
    let budget = 5;
    expect(merge.load(0, () => --budget > 0)).toBe(false);
    expect(reads).toBe(5);
    // Later calls go on from there and read each entry once.
    while (!merge.load(0, () => true));
    expect(reads).toBe(100);
  });
});

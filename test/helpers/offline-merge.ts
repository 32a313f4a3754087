import { apply, MemoryState } from '../../src/changeset';
import { decodeChangeset, encodeChangeset } from '../../src/changeset/codec';
import type { Instruction } from '../../src/changeset/instructions';
import { MemoryHistory, UploadIntegration } from '../../src/merge';
import type { RawSyncClient } from './server-process';

/**
 * Pieces of the server tests that merge a long offline upload against a long history over the
 * raw protocol: the `Item` type, a writer's and an offline client's changesets on the same
 * objects, sending them, and the reference result (the same changesets merged in one go, in memory).
 */

export const ITEM_SCHEMA: Instruction = {
  op: 'AddType',
  type: 'Item',
  primaryKey: 'id',
  properties: [
    { name: 'id', type: 'int', optional: false },
    { name: 'label', type: 'string', optional: false },
    { name: 'n', type: 'int', optional: false },
  ],
};

export interface Changeset {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  instructions: Instruction[];
}

/** Session 1's UPLOAD of `changesets`, with the upload cursor at the last of them. */
export function upload(c: RawSyncClient, changesets: Changeset[], progressServerVersion: number): void {
  c.send({
    type: 'UPLOAD',
    session: 1,
    progressClientVersion: changesets[changesets.length - 1]!.clientVersion,
    progressServerVersion,
    changesets: changesets.map((x) => ({ clientVersion: x.clientVersion, lastIntegratedServerVersion: x.lastIntegratedServerVersion, originTimestamp: x.originTimestamp, data: encodeChangeset(x.instructions) })),
  });
}

/**
 * The writer's changesets: client version 1 adds the type and `objects` items (server version 1),
 * then `writes` changes (a label and an increment of 1 each), based on version 1, at timestamps
 * 10, 12, 14 ….
 */
export function writerChangesets(objects: number, writes: number): { setup: Changeset; writes: Changeset[] } {
  return {
    setup: {
      clientVersion: 1,
      lastIntegratedServerVersion: 0,
      originTimestamp: 1,
      instructions: [ITEM_SCHEMA, ...Array.from({ length: objects }, (_, i): Instruction => ({ op: 'Create', type: 'Item', id: i, values: { label: 'start', n: 0 } }))],
    },
    writes: Array.from({ length: writes }, (_, k) => ({
      clientVersion: k + 2,
      lastIntegratedServerVersion: 1,
      originTimestamp: 10 + 2 * k,
      instructions: [{ op: 'Set', type: 'Item', id: (k * 7) % objects, values: { label: `w${k}` } }, { op: 'AddInteger', type: 'Item', id: (k * 7) % objects, property: 'n', delta: 1 }],
    })),
  };
}

/**
 * An offline client's `count` changes to the same objects, all based on version 1 (a label and an
 * increment of 10 each); timestamps interleave with the writer's `writes`, so both sides win some.
 */
export function offlineChangesets(objects: number, count: number, writes: number): Changeset[] {
  return Array.from({ length: count }, (_, k) => ({
    clientVersion: k + 1,
    lastIntegratedServerVersion: 1,
    originTimestamp: 11 + 2 * (k % writes),
    instructions: [{ op: 'Set', type: 'Item', id: (k * 3) % objects, values: { label: `o${k}` } }, { op: 'AddInteger', type: 'Item', id: (k * 3) % objects, property: 'n', delta: 10 }],
  }));
}

/** Each client's changesets merged in one go, client after client, in memory: the history and state a server must reach. */
export function mergedInOneGo(clients: [fileIdent: number, changesets: Changeset[]][]): { history: MemoryHistory; state: MemoryState } {
  const history = new MemoryHistory();
  const state = new MemoryState();
  for (const [ident, list] of clients) {
    const merge = new UploadIntegration(ident);
    merge.use(history, state);
    merge.load(0);
    for (const c of list) {
      const r = merge.integrate(c);
      if (r.version !== undefined) apply(state, r.instructions);
    }
    merge.flush();
  }
  return { history, state };
}

/** The state a STATE message's snapshot holds. */
export function snapshotOf(data: Uint8Array): MemoryState {
  const state = new MemoryState();
  apply(state, decodeChangeset(data));
  return state;
}

/** Sum of the `n` counters of every Item in a state. */
export function itemTotal(state: MemoryState): number {
  return [...state.objects('Item')].reduce((s, r) => s + (r.values.n as number), 0);
}

import type { Document } from 'mongodb';
import { ChangeStreamReader } from '../mongo-server/change-stream/stream-cursor';
import { parseChangeStreamSpec } from '../mongo-server/change-stream/spec';
import { ClusterClock, toTimestamp } from '../mongo-server/cluster-clock';
import { decodeToken, encodeToken, highWaterMark, justBefore, position } from '../mongo-server/resume-token';
import { CollectionStore } from '../mongo-server/storage/collection-store';
import { StorageEngine } from '../mongo-server/storage/engine';

describe('cluster clock', () => {
  test('strictly increasing: the increment within a second, reset when the second moves', () => {
    let now = 10_000;
    const clock = new ClusterClock(() => now);
    const a = clock.tick();
    const b = clock.tick();
    now = 12_500;
    const c = clock.tick();
    expect([a >> 32n, a & 0xffffffffn, b & 0xffffffffn, c >> 32n, c & 0xffffffffn]).toEqual([10n, 2n, 3n, 12n, 1n]);
    now = 5_000; // the wall clock going back never moves cluster time back
    expect(clock.tick() > c).toBe(true);
  });
});

describe('resume tokens', () => {
  const positions = [position(5n << 32n, 0, 0), position(5n << 32n, 0, 1), position(5n << 32n, 1, 0), highWaterMark(5n << 32n), position((5n << 32n) + 1n, 0, 0), position(6n << 32n, 3, 0)];

  test('round-trip, and compare as strings in stream order', () => {
    for (const p of positions) expect(decodeToken(encodeToken(p))).toBe(p);
    const tokens = positions.map((p) => encodeToken(p)._data as string);
    expect([...tokens].sort()).toEqual(tokens);
    expect(tokens[0]!.startsWith('82')).toBe(true);
  });

  test('startAtOperationTime T starts just before the first event of T', () => {
    expect(justBefore(5n << 32n) < positions[0]!).toBe(true);
    expect(justBefore(5n << 32n)).toBe(highWaterMark((5n << 32n) - 1n));
  });

  test('foreign tokens are InvalidResumeToken', () => {
    expect(() => decodeToken({ _data: '8263A1' })).toThrow(expect.objectContaining({ code: 260 }));
    expect(() => decodeToken('x')).toThrow(expect.objectContaining({ code: 260 }));
  });
});

describe('oplog window and change stream reader', () => {
  function engineWith(oplogSize: number, inserts: number): StorageEngine {
    const engine = new StorageEngine({ oplogSize });
    for (let i = 0; i < inserts; i++) engine.commit([{ kind: 'insert', db: 'd', coll: 'c', key: `n${i}`, after: { _id: i } }]);
    return engine;
  }
  const reader = (engine: StorageEngine, stage: Document) =>
    new ChangeStreamReader(engine, parseChangeStreamSpec(stage, 'd', 'c'), [], () => null);

  test('keeps the newest entries; a reader behind the trimmed ones fails with ChangeStreamHistoryLost', () => {
    const engine = engineWith(3, 1);
    const behind = reader(engine, { startAtOperationTime: toTimestamp(engine.clock.current) });
    for (let i = 0; i < 5; i++) engine.commit([{ kind: 'insert', db: 'd', coll: 'c', key: `k${i}`, after: { _id: i } }]);
    expect(engine.oplog.size).toBe(3);
    expect(() => behind.read(10, 'getMore')).toThrow(expect.objectContaining({ code: 286, labels: ['NonResumableChangeStreamError'] }));
    const oldestKept = engine.oplog.at(engine.oplog.seek(-1n))!.time;
    const recent = reader(engine, { startAtOperationTime: toTimestamp(oldestKept) });
    expect(recent.read(10, 'aggregate').events.map((e) => e.documentKey._id)).toEqual([2, 3, 4]);
  });

  test('batches: cut by batchSize the token is the last event; at the end it is a high-water mark', () => {
    const engine = engineWith(100, 0);
    const r = reader(engine, {});
    for (let i = 0; i < 5; i++) engine.commit([{ kind: 'insert', db: 'd', coll: 'c', key: `k${i}`, after: { _id: i } }]);
    engine.commit([{ kind: 'insert', db: 'd', coll: 'other', key: 'x', after: { _id: 'x' } }]);
    const first = r.read(2, 'getMore');
    expect(first.events.map((e) => e.documentKey._id)).toEqual([0, 1]);
    expect(first.postBatchResumeToken).toEqual(first.events[1]!._id);
    const rest = r.read(100, 'getMore');
    expect(rest.events.map((e) => e.documentKey._id)).toEqual([2, 3, 4]);
    expect(decodeToken(rest.postBatchResumeToken)).toBe(highWaterMark(engine.clock.current));
    const empty = r.read(100, 'getMore');
    expect(empty.events).toEqual([]);
    expect(empty.postBatchResumeToken).toEqual(rest.postBatchResumeToken);
  });

  test('a transaction commits all its changes at one time, indexed in order', () => {
    const engine = engineWith(100, 0);
    const r = reader(engine, {});
    const lsid = { id: 'session' };
    engine.commit(
      [
        { kind: 'insert', db: 'd', coll: 'c', key: 'a', after: { _id: 'a' } },
        { kind: 'delete', db: 'd', coll: 'c', key: 'a', before: { _id: 'a' } },
      ],
      { lsid, txnNumber: 7 as never },
    );
    const batch = r.read(10, 'getMore');
    expect(batch.events.map((e) => e.operationType)).toEqual(['insert', 'delete']);
    expect(batch.events[0]!.clusterTime).toEqual(batch.events[1]!.clusterTime);
    expect(batch.events.every((e) => e.lsid === lsid && e.txnNumber === 7)).toBe(true);
  });
});

describe('collection versions for snapshots', () => {
  test('while a snapshot is held, writes keep the versions it sees; without one nothing is kept', () => {
    const store = new CollectionStore('d', 'c', {});
    store.write('a', { _id: 'a', v: 1 }, 10n, false);
    store.write('b', { _id: 'b', v: 1 }, 11n, false);
    store.write('a', { _id: 'a', v: 2 }, 12n, true);
    store.write('b', undefined, 13n, true);
    store.write('c', { _id: 'c', v: 1 }, 14n, true);
    expect([...store.scan(11n)].map(([, d]) => d)).toEqual([{ _id: 'a', v: 1 }, { _id: 'b', v: 1 }]);
    expect([...store.scan(12n)].map(([, d]) => d)).toEqual([{ _id: 'a', v: 2 }, { _id: 'b', v: 1 }]);
    expect([...store.scan()].map(([, d]) => d)).toEqual([{ _id: 'a', v: 2 }, { _id: 'c', v: 1 }]);
    expect(store.lastWriteTime('b')).toBe(13n);
    store.prune(12n);
    expect(store.get('a', 11n)).toBeUndefined();
    expect(store.get('b', 12n)).toEqual({ _id: 'b', v: 1 });
    store.prune(undefined);
    expect(store.get('b', 12n)).toBeUndefined();
  });
});

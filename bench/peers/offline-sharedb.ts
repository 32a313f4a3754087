import type { Connection, Doc } from 'sharedb/lib/client';
import { WebSocket } from 'ws';
import { canonicalJson } from './canonical';
import type { OfflineScenario } from './offline';
import { sleep } from './pool';
import { call, COLLECTION, connectShareDb } from './sharedb';

/**
 * ShareDB: the objects are fields of one JSON0 document. B goes offline by closing its
 * connection; its ops queue in the client (composed into one pending op, ShareDB's default) and
 * go out when the connection is bound to a new socket. A submits its changes one after another
 * (a ShareDB client has one op in flight per document; waiting for each acknowledgement makes
 * them `changes` separate server versions instead of one composed op).
 */
export function shareDbOffline(port: number): OfflineScenario {
  let connA: Connection | undefined;
  let connB: Connection | undefined;
  let a: Doc | undefined;
  let b: Doc | undefined;
  return {
    async prepare(objects, changes) {
      connA = connectShareDb(port);
      a = connA.get(COLLECTION, 'offline');
      await call((cb) => a!.subscribe(cb));
      const initial: Record<string, { label: string; n: number }> = {};
      for (let i = 0; i < objects; i++) initial[`o${i}`] = { label: 'start', n: 0 };
      await call((cb) => a!.create(initial, cb));
      connB = connectShareDb(port);
      b = connB.get(COLLECTION, 'offline');
      await call((cb) => b!.subscribe(cb));
      connB.close();
      let t = performance.now();
      for (let i = 0; i < changes; i++) {
        const key = `o${i % objects}`;
        b.submitOp([{ p: [key, 'label'], od: b.data[key].label, oi: `b${i}` }]);
      }
      const offlineWriteMs = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < changes; i++) {
        const key = `o${(i * 7) % objects}`;
        await call((cb) => a!.submitOp([{ p: [key, 'n'], od: a!.data[key].n, oi: i }], cb));
      }
      return { offlineWriteMs, serverWriteMs: performance.now() - t };
    },
    async reconnect() {
      connB!.bindToSocket(new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false }));
      while (b!.hasWritePending() || a!.hasWritePending() || a!.version !== b!.version) await sleep(5);
    },
    equal: () => canonicalJson(a!.data) === canonicalJson(b!.data),
    async close() {
      connA?.close();
      connB?.close();
    },
  };
}

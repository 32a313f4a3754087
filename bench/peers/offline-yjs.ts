import * as Y from 'yjs';
import { canonicalJson } from './canonical';
import type { OfflineScenario } from './offline';
import { sleep } from './pool';
import { connectYjs, type YjsConnection } from './yjs';

/**
 * Yjs: the objects are Y.Maps in a Y.Map. B goes offline with `provider.disconnect()` and edits
 * its document; `provider.connect()` syncs it again (state vectors, then the missing updates
 * both ways). Converged when both documents have the same state vector.
 */
export function yjsOffline(port: number): OfflineScenario {
  let a: YjsConnection | undefined;
  let b: YjsConnection | undefined;
  const objectsOf = (c: YjsConnection) => c.doc.getMap<Y.Map<unknown>>('objects');
  const sameStateVector = () => Buffer.from(Y.encodeStateVector(a!.doc)).equals(Buffer.from(Y.encodeStateVector(b!.doc)));
  return {
    async prepare(objects, changes) {
      a = connectYjs(port, 'offline');
      await a.synced;
      const ca = a;
      const oa = objectsOf(ca);
      let echoes = ca.updatesReceived();
      ca.doc.transact(() => {
        for (let i = 0; i < objects; i++) {
          const m = new Y.Map<unknown>();
          m.set('label', 'start');
          m.set('n', 0);
          oa.set(String(i), m);
        }
      });
      while (ca.updatesReceived() < echoes + 1) await sleep(5);
      b = connectYjs(port, 'offline');
      await b.synced;
      if (objectsOf(b).size !== objects) throw new Error(`yjs: B synced ${objectsOf(b).size} of ${objects} objects`);
      b.provider.disconnect();
      const ob = objectsOf(b);
      let t = performance.now();
      for (let i = 0; i < changes; i++) ob.get(String(i % objects))!.set('label', `b${i}`);
      const offlineWriteMs = performance.now() - t;
      t = performance.now();
      echoes = ca.updatesReceived();
      for (let i = 0; i < changes; i++) oa.get(String((i * 7) % objects))!.set('n', i);
      while (ca.updatesReceived() < echoes + changes) await sleep(5);
      return { offlineWriteMs, serverWriteMs: performance.now() - t };
    },
    async reconnect() {
      b!.provider.connect();
      while (!(b!.provider.synced && sameStateVector())) await sleep(5);
    },
    equal: () => canonicalJson(objectsOf(a!).toJSON()) === canonicalJson(objectsOf(b!).toJSON()),
    async close() {
      for (const c of [a, b]) {
        c?.provider.destroy();
        c?.doc.destroy();
      }
    },
  };
}

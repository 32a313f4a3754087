import { canonicalState } from '../../src/changeset';
import { Realm } from '../../src/realm';
import type { OfflineScenario } from './offline';
import type { TributaryClientContext } from './tributary';

const SCHEMA = [{ name: 'Obj', primaryKey: 'id', properties: { id: 'int', label: 'string', n: 'int' } }];
const LONG = 600_000;

/**
 * Tributary: A (user 0) and B (user 1, granted write) on a realm under A's path. B pauses its
 * session (the realm-js way to go offline) and resumes it; each change is one write transaction.
 */
export function tributaryOffline(context: TributaryClientContext): OfflineScenario {
  let a: Realm | undefined;
  let b: Realm | undefined;
  return {
    async prepare(objects, changes) {
      const url = context.realmUrl('offline', true);
      a = await Realm.open({ schema: SCHEMA as any, sync: { user: context.user(0), url }, path: context.replicaPath('offline-a') });
      const ra = a;
      ra.write(() => {
        for (let i = 0; i < objects; i++) ra.create('Obj', { id: i, label: 'start', n: 0 });
      });
      await ra.syncSession!.uploadAllLocalChanges(LONG);
      b = await Realm.open({ schema: SCHEMA as any, sync: { user: context.user(1), url }, path: context.replicaPath('offline-b') });
      const rb = b;
      await rb.syncSession!.downloadAllServerChanges(LONG);
      rb.syncSession!.pause();
      let t = performance.now();
      for (let i = 0; i < changes; i++) rb.write(() => (rb.objectForPrimaryKey<any>('Obj', i % objects).label = `b${i}`));
      const offlineWriteMs = performance.now() - t;
      t = performance.now();
      for (let i = 0; i < changes; i++) ra.write(() => (ra.objectForPrimaryKey<any>('Obj', (i * 7) % objects).n = i));
      await ra.syncSession!.uploadAllLocalChanges(LONG);
      return { offlineWriteMs, serverWriteMs: performance.now() - t };
    },
    async reconnect() {
      b!.syncSession!.resume();
      await b!.syncSession!.uploadAllLocalChanges(LONG);
      await b!.syncSession!.downloadAllServerChanges(LONG);
      await a!.syncSession!.downloadAllServerChanges(LONG);
    },
    equal: () => JSON.stringify(canonicalState(a!._replica)) === JSON.stringify(canonicalState(b!._replica)),
    async close() {
      a?.close();
      b?.close();
    },
  };
}

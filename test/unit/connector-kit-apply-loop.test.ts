import type { Adapter, AdapterTransaction } from '../../src/adapter';
import { ApplyLoop, type ApplyTarget } from '../../connectors/kit/apply-loop';
import { errorClassifier } from '../../connectors/kit/errors';
import { silentLogger } from '../../src/shared/logger';

/** The Adapter's stream for one realm: numbered transactions, advanced by the loop. */
class FakeAdapter {
  private processed = 0;
  readonly advanced: number[] = [];
  constructor(private readonly txs: AdapterTransaction[]) {}
  get paths() {
    return ['/r'];
  }
  pendingCount() {
    return this.txs.filter((t) => t.transaction! > this.processed).length;
  }
  pending(_path: string, limit = -1) {
    const left = this.txs.filter((t) => t.transaction! > this.processed);
    return limit < 0 ? left : left.slice(0, limit);
  }
  advance(_path: string, through: number) {
    this.processed = through;
    this.advanced.push(through);
  }
}

const tx = (n: number, name: string): AdapterTransaction => Object.assign([{ type: 'SET', object_type: 'T', identity: n, values: { name } }] as never[], { transaction: n });
const names = (txs: AdapterTransaction[]) => txs.map((t) => (t[0] as unknown as { values: { name: string } }).values.name);
const code = (c: string) => Object.assign(new Error(c), { code: c });
const classifier = errorClassifier({
  codeOf: (e) => (typeof (e as { code?: unknown }).code === 'string' && /^X/.test((e as { code: string }).code) ? (e as { code: string }).code : null),
  transient: (c) => c === 'XBUSY',
  applyKind: (c) => (c === 'XBAD' ? 'refused' : c === 'XRACE' ? 'race' : c === 'XPRIV' ? 'configuration' : null),
});

/** A target that applies batches into `db` (through = stored position) and fails by the names it is given. */
function target(fail: (names: string[]) => Error | null) {
  const db = { position: 0, applied: [] as string[], rejected: [] as string[], batches: [] as string[][] };
  const t: ApplyTarget = {
    lastTable: 't',
    prepare: async () => undefined,
    async applyBatch(_path, txs) {
      const fresh = txs.filter((x) => x.transaction! > db.position);
      const e = fail(names(fresh));
      if (e) throw e;
      db.batches.push(names(fresh));
      db.applied.push(...names(fresh));
      db.position = txs[txs.length - 1]!.transaction!;
      return { applied: fresh.length, skipped: txs.length - fresh.length };
    },
    async reject(_path, x) {
      db.rejected.push(...names([x]));
      db.position = x.transaction!;
    },
    dropConnection: () => undefined,
    close: async () => undefined,
  };
  return { db, t };
}

async function run(txs: AdapterTransaction[], fail: (names: string[]) => Error | null, batch = 3) {
  const adapter = new FakeAdapter(txs);
  const { db, t } = target(fail);
  const stopped: Error[] = [];
  const loop = new ApplyLoop(adapter as unknown as Adapter, t, { batch, classify: classifier.classifyApply, driverCode: classifier.driverCode, database: 'TestDB', label: 'test connector', log: silentLogger, onStopped: (e) => stopped.push(e) });
  await loop.start();
  const deadline = Date.now() + 10_000;
  while (!(loop.idle && (adapter.pendingCount() === 0 || stopped.length > 0)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await loop.stop();
  return { db, adapter, status: loop.status, stopped };
}

const five = () => ['a', 'b', 'c', 'd', 'e'].map((n, i) => tx(i + 1, n));

test('batches of at most `batch` transactions, the Adapter advanced after each commit', async () => {
  const r = await run(five(), () => null);
  expect(r.db.batches).toEqual([['a', 'b', 'c'], ['d', 'e']]);
  expect(r.adapter.advanced).toEqual([3, 5]);
  expect(r.status).toMatchObject({ applied: 5, batches: 2, alreadyApplied: 0, rejected: 0 });
});

test('a refused transaction is isolated: the others of its batch are applied, it alone is rejected, and the realm goes on', async () => {
  const r = await run(five(), (n) => (n.includes('b') ? code('XBAD') : null));
  expect(r.db.applied).toEqual(['a', 'c', 'd', 'e']);
  expect(r.db.rejected).toEqual(['b']);
  expect(r.adapter.advanced).toEqual([3, 5]);
});

test('a race runs the batch again at once; a transient failure waits and retries; nothing is lost or doubled', async () => {
  let races = 1;
  let busy = 1;
  const r = await run(five(), (n) => (n.includes('a') && races-- > 0 ? code('XRACE') : n.includes('d') && busy-- > 0 ? code('XBUSY') : null));
  expect(r.db.applied).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(r.status).toMatchObject({ races: 1, retrying: 0, applied: 5, rejected: 0 });
  expect(r.status.lastError).toBe('XBUSY [XBUSY]');
});

test('a configuration failure stops the loop with CONNECTOR_APPLY_CONFIGURATION and keeps the transactions', async () => {
  const r = await run(five(), (n) => (n.includes('d') ? code('XPRIV') : null));
  expect(r.db.applied).toEqual(['a', 'b', 'c']);
  expect(r.adapter.advanced).toEqual([3]);
  expect(r.stopped.map((e) => [(e as { code?: string }).code, e.message])).toEqual([['CONNECTOR_APPLY_CONFIGURATION', expect.stringMatching(/^TestDB cannot take the realm transactions of \/r \(writing table t\): XPRIV \[XPRIV\]/)]]);
});

import type { Adapter } from '../../../src/adapter';
import type { Realm } from '../../../src/realm';
import { Prng, testSeed } from '../../helpers/prng';
import type { DbOp, DriverDatabase, Row } from '../driver';
import { objectRows, pick, sleep, type Harness } from '../harness';

/**
 * Convergence under concurrent writers on both sides, for each conflict policy: random writers on
 * the same rows until both sides settle equal; and the deterministic race — both sides change the
 * same rows while the connector is stopped — resolved to the policy's winner, the loser side updated.
 */

const COLUMNS = ['label', 'qty', 'price', 'flag', 'at'];
const TEXT = ['x', "it's", 'ü字', 'a\nb', ''];

function value(rng: Prng, column: string): Row[string] {
  switch (column) {
    case 'label':
      return rng.pick(TEXT) + rng.int(0, 99999);
    case 'qty':
      return rng.bool(0.15) ? null : rng.int(-1e6, 1e6);
    case 'price':
      return rng.bool(0.15) ? null : rng.int(-1e6, 1e6) / 16;
    case 'flag':
      return rng.bool(0.15) ? null : rng.bool();
    default:
      return rng.bool(0.15) ? null : new Date(Date.UTC(2023, 0, 1) + rng.int(0, 1e10));
  }
}

export function convergenceTests(h: () => Harness, policy: 'database-wins' | 'realm-wins'): void {
  const tag = policy === 'database-wins' ? 'dbwins' : 'realmwins';
  const realmPath = `/cf/converge/${tag}`;
  let db: DriverDatabase;
  const config = () => h().config(db, { name: `cf_${tag}`, realm: realmPath, conflict: policy, tables: { item: { type: 'Item' }, churn: { type: 'Churn' } } });
  const sides = async (client: Realm) => {
    await client.syncSession!.downloadAllServerChanges(60_000);
    return {
      db: { item: pick(await db.rows('item'), COLUMNS), churn: pick(await db.rows('churn'), ['label']) },
      realm: { item: objectRows(client, 'Item', COLUMNS), churn: objectRows(client, 'Churn', ['label']) },
    };
  };

  beforeAll(async () => {
    db = await h().database(tag);
    await db.createTable({ name: 'item', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'label', type: 'string', nullable: false }, { name: 'qty', type: 'int' }, { name: 'price', type: 'double' }, { name: 'flag', type: 'bool' }, { name: 'at', type: 'date' }] });
    await db.createTable({ name: 'churn', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'label', type: 'string', nullable: false }] });
    await db.transaction(Array.from({ length: 12 }, (_, i) => ({ op: 'insert' as const, table: 'item', row: { id: i + 1, label: `item ${i + 1}`, qty: i, price: i * 1.5, flag: i % 2 === 0, at: null } })));
  });

  test(`${policy}: random writers on both sides of the same rows; after quiescence every row equals its object, and every client agrees`, async () => {
    const seed = testSeed(`${h().driver.type} conformance convergence ${policy}`);
    const connector = await h().start(config());
    const clients = [await h().client(realmPath), await h().client(realmPath)];
    const sessions = [await db.session(), await db.session()];
    const realmWriter = async (r: Realm, rng: Prng) => {
      for (let n = 0; n < 60; n++) {
        r.write(() => {
          for (let k = rng.bool(0.3) ? rng.int(2, 4) : 1; k > 0; k--) {
            if (rng.bool(0.7)) {
              const obj = r.objectForPrimaryKey<Record<string, unknown>>('Item', rng.int(1, 12))!;
              for (const c of COLUMNS.filter(() => rng.bool(0.4))) obj[c] = c === 'at' && obj[c] !== null && rng.bool(0.5) ? null : value(rng, c);
            } else {
              const id = rng.int(1, 8);
              const obj = r.objectForPrimaryKey('Churn', id);
              if (obj && rng.bool(0.35)) r.delete(obj);
              else r.create('Churn', { id, label: value(rng, 'label') }, 'modified');
            }
          }
        });
        await sleep(rng.int(5, 50));
      }
    };
    const dbWriter = async (s: (typeof sessions)[number], rng: Prng) => {
      for (let n = 0; n < 60; n++) {
        const ops: DbOp[] = [];
        for (let k = rng.bool(0.3) ? rng.int(2, 4) : 1; k > 0; k--) {
          if (rng.bool(0.7)) {
            const cols = COLUMNS.filter(() => rng.bool(0.4));
            if (cols.length === 0) cols.push(rng.pick(COLUMNS));
            ops.push({ op: 'update', table: 'item', key: { id: rng.int(1, 12) }, set: Object.fromEntries(cols.map((c) => [c, value(rng, c)])) });
          } else {
            const id = rng.int(1, 8);
            ops.push(rng.bool(0.35) ? { op: 'delete', table: 'churn', key: { id } } : { op: 'upsert', table: 'churn', row: { id, label: value(rng, 'label') } });
          }
        }
        try {
          await s.transaction(ops);
        } catch (e) {
          if (!h().driver.isTransientWriteError(e)) throw e;
        }
        await sleep(rng.int(5, 50));
      }
    };
    await Promise.all([realmWriter(clients[0]!, new Prng(seed)), realmWriter(clients[1]!, new Prng(seed + 1)), dbWriter(sessions[0]!, new Prng(seed + 2)), dbWriter(sessions[1]!, new Prng(seed + 3))]);
    for (const c of clients) await c.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(180_000);
    const verify = await h().client(realmPath);
    const s = await sides(verify);
    expect(s.realm).toEqual(s.db);
    expect(s.db.item.length).toBe(12);
    for (const c of clients) expect((await sides(c)).realm).toEqual(s.realm);
    expect(connector.status().apply).toMatchObject({ retrying: 0, rejected: 0, failed: 0 });
    await connector.stop();
  }, 300_000);

  /**
   * Apply has committed a realm write to the database but not yet told the Adapter (its `advance`
   * is held, as a loaded process can be between the two), and a database write to the same row
   * commits right after and is read by capture in that window. It is the later write: under
   * either policy it goes into the realm, and both sides end with it. (Under realm-wins the
   * pending realm transaction used to protect the row from it until the advance: the realm kept
   * its value and the database the other.)
   */
  test(`${policy}: a database write right after apply committed a realm write, read by capture before apply's advance, is the later write on both sides`, async () => {
    const connector = await h().start(config());
    const client = await h().client(realmPath);
    await connector.quiesce(120_000);
    const adapter = (connector as unknown as { adapter: Adapter }).adapter;
    const advance = adapter.advance.bind(adapter);
    let held = false;
    const waiting: (() => void)[] = [];
    let committed!: () => void;
    const applyCommitted = new Promise<void>((r) => (committed = r));
    // Held: the call is queued and made on release (apply's loop meanwhile finds the transaction
    // still pending and skips it as applied, by the position committed with it). Its first call
    // is the event that apply has committed the realm write to the database.
    adapter.advance = (path: string, through?: number) => {
      if (!held) return advance(path, through);
      waiting.push(() => advance(path, through));
      committed();
    };
    try {
      held = true;
      client.write(() => {
        client.objectForPrimaryKey<Record<string, unknown>>('Item', 7)!.label = 'realm wrote first';
      });
      await client.syncSession!.uploadAllLocalChanges(60_000);
      await applyCommitted;
      expect((await db.rows('item')).find((r) => r.id === 7)?.label).toBe('realm wrote first');
      await db.transaction([{ op: 'update', table: 'item', key: { id: 7 }, set: { label: 'database wrote later' } }]);
      await connector.caughtUp(60_000);
    } finally {
      held = false;
      for (const call of waiting.splice(0)) call();
      adapter.advance = advance;
    }
    await connector.quiesce(120_000);
    const s = await sides(await h().client(realmPath));
    expect(s.realm).toEqual(s.db);
    expect(s.db.item.find((r) => r.id === 7)?.label).toBe('database wrote later');
    await connector.stop();
  }, 240_000);

  /**
   * Apply has read the rows of a batch (its snapshot, or its locks) and waits at its barrier; a
   * database write to one of them commits meanwhile (or, where apply holds row locks, waits for
   * its commit) and capture reads it. The realm transaction sets the row's value to what the
   * database already holds, so apply's write changes nothing: MongoDB then takes no lock and
   * raises no write conflict, and the database write stands. Both sides must still end equal.
   * (Under realm-wins MongoDB capture withheld the database write, for the realm transaction
   * still pending, and nothing ever wrote it: the realm kept its value and the database the other.)
   */
  test(`${policy}: a database write while apply waits at its barrier, to a row apply then writes unchanged, ends the same on both sides`, async () => {
    const connector = (await h().start(config())) as Awaited<ReturnType<Harness['start']>> & { barrier(...args: unknown[]): Promise<void> };
    const client = await h().client(realmPath);
    await connector.quiesce(120_000);
    const before = (await db.rows('item')).find((r) => r.id === 9)!.label as string;
    const barrier = connector.barrier.bind(connector);
    let held = false;
    let reached!: () => void;
    const atBarrier = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // Held once, at the first barrier after the realm write: apply has read its rows by then.
    connector.barrier = async (...args: unknown[]) => {
      if (held) {
        held = false;
        reached();
        await released;
      }
      return barrier(...args);
    };
    let dbWrite: Promise<void> | undefined;
    try {
      held = true;
      client.write(() => {
        client.objectForPrimaryKey<Record<string, unknown>>('Item', 9)!.label = before;
      });
      await client.syncSession!.uploadAllLocalChanges(60_000);
      await atBarrier;
      dbWrite = db.transaction([{ op: 'update', table: 'item', key: { id: 9 }, set: { label: 'database during apply' } }]);
      if (!h().driver.applyLocksRowsAtBarrier) {
        await dbWrite;
        await connector.caughtUp(60_000);
      }
    } finally {
      release();
      connector.barrier = barrier;
    }
    await dbWrite;
    await connector.quiesce(120_000);
    const s = await sides(await h().client(realmPath));
    expect(s.realm).toEqual(s.db);
    expect(['database during apply', before]).toContain(s.db.item.find((r) => r.id === 9)?.label);
    await connector.stop();
  }, 240_000);

  /**
   * With the connector stopped, both sides change the same rows: 1–3 all columns (different
   * values), 4 the realm deletes while the database updates, 5 the realm updates while the database
   * deletes, 6 the realm writes `label` and the database `qty`.
   */
  test(`${policy}: a race while the connector is stopped resolves to the ${policy === 'database-wins' ? "database's" : "realm's"} values on both sides`, async () => {
    const connector = await h().start(config());
    const client = await h().client(realmPath);
    await connector.quiesce(120_000);
    await connector.stop();
    const realmValues = (id: number) => ({ label: `realm ${id}`, qty: 1000 + id, flag: true });
    const dbValues = (id: number) => ({ label: `db ${id}`, qty: 2000 + id, flag: false });
    await client.syncSession!.downloadAllServerChanges(60_000);
    client.write(() => {
      for (const id of [1, 2, 3, 5]) Object.assign(client.objectForPrimaryKey<Record<string, unknown>>('Item', id)!, realmValues(id));
      client.delete(client.objectForPrimaryKey('Item', 4));
      client.objectForPrimaryKey<Record<string, unknown>>('Item', 6)!.label = 'realm 6';
    });
    await client.syncSession!.uploadAllLocalChanges(60_000);
    await db.transaction([
      ...[1, 2, 3, 4].map((id) => ({ op: 'update' as const, table: 'item', key: { id }, set: dbValues(id) })),
      { op: 'delete', table: 'item', key: { id: 5 } },
      { op: 'update', table: 'item', key: { id: 6 }, set: { qty: 3006 } },
    ]);
    const restarted = await h().start(config());
    await restarted.quiesce(120_000);
    const verify = await h().client(realmPath);
    const s = await sides(verify);
    expect(s.realm).toEqual(s.db);
    const row = (id: number) => {
      const r = s.db.item.find((x) => x.id === id);
      return r ? { label: r.label, qty: r.qty, flag: r.flag } : 'deleted';
    };
    const winner = policy === 'database-wins' ? dbValues : realmValues;
    expect([1, 2, 3].map(row)).toEqual([1, 2, 3].map(winner));
    expect({ 4: row(4), 5: row(5) }).toEqual(policy === 'database-wins' ? { 4: dbValues(4), 5: 'deleted' } : { 4: 'deleted', 5: realmValues(5) });
    // Disjoint columns: the database's qty stands under either policy; under realm-wins so does the
    // realm's label (under database-wins a database that writes whole rows brings its label too).
    expect(row(6)).toMatchObject(policy === 'realm-wins' ? { label: 'realm 6', qty: 3006 } : { qty: 3006 });
    await restarted.stop();
  }, 240_000);
}

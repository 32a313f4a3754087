import type { Realm } from '../../../src/realm';
import { Prng, testSeed } from '../../helpers/prng';
import type { ConnectorProcess } from '../../helpers/connector-process';
import type { DbOp, DriverDatabase, DriverSession, Row } from '../driver';
import { objectRows, pick, sleep, within, type Harness } from '../harness';

/**
 * Exactly once across SIGKILL loops, both directions: the connector runs in a child process that
 * is killed at random instants (loading, starting, streaming, applying), then at the crash points
 * of connectors/kit/crash-points.ts (right after an apply commit, right after a capture
 * acknowledgement), while realm clients and database sessions write. Afterwards every table equals what its writers wrote — nothing lost,
 * nothing repeated — and counters incremented on both sides equal the number of increments.
 *
 * `realm_note` is written only by a realm client, `db_note` only by a database session (both in
 * one fixed realm), `zone_note` only by the database and placed by a template (rows move between
 * zones and are deleted, also while the connector is down, in rows the live writer does not touch), `counter` row 1 is incremented on both
 * sides, 2 only in the realm, 3 only in the database.
 */

const ROOT = '/cf/crash';
const zonePath = (z: unknown) => `${ROOT}/zone/${String(z)}`;
const KILLS = 10;
const NOTE = ['body', 'score'];

export function crashTests(h: () => Harness): void {
  let db: DriverDatabase;
  const logs: string[] = [];

  beforeAll(async () => {
    db = await h().database('crash');
    const note = (name: string) => ({ name, key: ['id'], columns: [{ name: 'id', type: 'int' as const }, { name: 'body', type: 'string' as const }, { name: 'score', type: 'int' as const }] });
    await db.createTable(note('realm_note'));
    await db.createTable(note('db_note'));
    await db.createTable({ name: 'zone_note', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'zone', type: 'int', nullable: false }, { name: 'body', type: 'string' }] });
    await db.createTable({ name: 'counter', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'n', type: 'int', nullable: false }], counters: ['n'] });
    await db.transaction([
      ...[1, 2, 3].map((id) => ({ op: 'insert' as const, table: 'counter', row: { id, n: 0 } })),
      ...[1, 2, 3, 4].map((id) => ({ op: 'insert' as const, table: 'db_note', row: { id, body: `seed ${id}`, score: id } })),
      ...[1, 2, 3, 4, 5, 6].map((id) => ({ op: 'insert' as const, table: 'zone_note', row: { id, zone: 1 + (id % 3), body: `zone note ${id}` } })),
    ]);
  });

  test(`${KILLS} SIGKILLs at random instants while both sides write: every write arrives exactly once, both ways`, async () => {
    const seed = testSeed(`${h().driver.type} conformance crash loop`);
    const rng = new Prng(seed);
    const config = h().config(db, {
      name: 'cf_crash',
      realm: ROOT,
      tables: { realm_note: { type: 'RealmNote' }, db_note: { type: 'DbNote' }, zone_note: { type: 'ZoneNote', realm: `${ROOT}/zone/{zone}` }, counter: { type: 'Counter', counters: ['n'] } },
    });
    const realmModel = new Map<number, Row>();
    const dbModel = new Map<number, Row>([1, 2, 3, 4].map((id) => [id, { id, body: `seed ${id}`, score: id }]));
    const zoneModel = new Map<number, Row>([1, 2, 3, 4, 5, 6].map((id) => [id, { id, zone: 1 + (id % 3), body: `zone note ${id}` }]));
    const increments = { realm: [0, 0, 0, 0], db: [0, 0, 0, 0] };
    let stopping = false;

    let proc: ConnectorProcess = h().spawn(config, logs);
    await proc.ready;
    const client: Realm = await h().client(ROOT);
    const session: DriverSession = await db.session();

    const realmWriter = async (r: Prng) => {
      while (!stopping) {
        const incs: number[] = [];
        const notes = new Map<number, Row | null>();
        client.write(() => {
          for (let k = r.int(1, 3); k > 0; k--) {
            if (r.bool(0.5)) {
              const id = r.int(1, 12);
              const obj = client.objectForPrimaryKey('RealmNote', id);
              if (obj && r.bool(0.25)) {
                client.delete(obj);
                notes.set(id, null);
              } else {
                const v = { id, body: `realm ${r.int(0, 9999)} it's`, score: r.bool(0.2) ? null : r.int(-500, 500) };
                client.create('RealmNote', v, 'modified');
                notes.set(id, v);
              }
            } else {
              const id = r.pick([1, 2]);
              client.increment(client.objectForPrimaryKey('Counter', id), 'n', 1);
              incs.push(id);
            }
          }
        });
        for (const [id, v] of notes) v ? realmModel.set(id, v) : realmModel.delete(id);
        for (const id of incs) increments.realm[id]!++;
        await sleep(r.int(10, 60));
      }
    };
    const dbWriter = async (r: Prng) => {
      while (!stopping) {
        const ops: DbOp[] = [];
        const notes = new Map<number, Row | null>();
        const zones = new Map<number, Row | null>();
        const incs: number[] = [];
        for (let k = r.int(1, 3); k > 0; k--) {
          const roll = r.next();
          if (roll < 0.35) {
            const id = r.int(1, 12);
            const present = notes.has(id) ? notes.get(id) !== null : dbModel.has(id);
            if (present && r.bool(0.25)) {
              ops.push({ op: 'delete', table: 'db_note', key: { id } });
              notes.set(id, null);
            } else {
              const v = { id, body: `db ${r.int(0, 9999)}`, score: r.bool(0.2) ? null : r.int(-500, 500) };
              ops.push({ op: 'upsert', table: 'db_note', row: v });
              notes.set(id, v);
            }
          } else if (roll < 0.6) {
            const id = r.int(1, 10);
            const present = zones.has(id) ? zones.get(id) !== null : zoneModel.has(id);
            if (present && r.bool(0.3)) {
              ops.push({ op: 'delete', table: 'zone_note', key: { id } });
              zones.set(id, null);
            } else {
              const v = { id, zone: r.int(1, 3), body: `zone ${r.int(0, 999)}` };
              ops.push({ op: 'upsert', table: 'zone_note', row: v });
              zones.set(id, v);
            }
          } else {
            const id = r.pick([1, 3]);
            ops.push({ op: 'increment', table: 'counter', key: { id }, column: 'n', by: 1 });
            incs.push(id);
          }
        }
        try {
          await session.transaction(ops);
        } catch (e) {
          if (!h().driver.isTransientWriteError(e)) throw e;
          continue; // the database aborted it (a conflict with the connector's apply): nothing of it happened
        }
        for (const [id, v] of notes) v ? dbModel.set(id, v) : dbModel.delete(id);
        for (const [id, v] of zones) v ? zoneModel.set(id, v) : zoneModel.delete(id);
        for (const id of incs) increments.db[id]!++;
        await sleep(r.int(10, 60));
      }
    };
    const writers = [realmWriter(new Prng(seed + 1)), dbWriter(new Prng(seed + 2))];
    const failed = Promise.race(writers.map((w) => w.then(() => new Promise<never>(() => undefined))));
    failed.catch(() => undefined);
    const step = (p: Promise<unknown>) => Promise.race([p, failed]);
    let ready = 0;
    let crashPoints = 0;
    try {
      await step(sleep(rng.int(200, 1000)));
      for (let life = 1; life <= KILLS; life++) {
        await proc.kill();
        const ended = await proc.exited;
        expect({ life, signal: ended.signal, log: ended.signal === 'SIGKILL' ? '' : logs.slice(-30).join('\n') }).toEqual({ life, signal: 'SIGKILL', log: '' });
        if (proc.started) ready++;
        if (life === KILLS) break;
        // While it is down (ids 100+, which the writers never touch): a zone note created, the previous
        // one deleted or moved, so the next life replays them.
        const down: DbOp[] = [{ op: 'insert', table: 'zone_note', row: { id: 100 + life, zone: rng.int(1, 3), body: `down ${life}` } }];
        const previous = zoneModel.get(100 + life - 1);
        if (previous) down.push(rng.bool() ? { op: 'delete', table: 'zone_note', key: { id: previous.id } } : { op: 'update', table: 'zone_note', key: { id: previous.id }, set: { zone: 1 + ((previous.zone as number) % 3) } });
        await step(db.transaction(down));
        for (const o of down) {
          if (o.op === 'insert') zoneModel.set(o.row.id as number, o.row);
          else if (o.op === 'delete') zoneModel.delete(o.key.id as number);
          else if (o.op === 'update') zoneModel.set(o.key.id as number, { ...zoneModel.get(o.key.id as number)!, ...o.set });
        }
        proc = h().spawn(config, logs);
        if (life % 4 === 0) await step(sleep(rng.int(50, 2000))); // killed anywhere, starting up included
        else {
          await step(proc.ready);
          await step(sleep(rng.int(100, 1200)));
        }
      }
      // Then kills exactly where a position must save the day: after the database committed an
      // apply batch (before the Adapter advanced), and after the server acknowledged capture's
      // realm writes (before the database heard of it).
      for (const point of ['apply-committed', 'capture-acknowledged', 'apply-committed', 'capture-acknowledged']) {
        proc = h().spawn(config, logs, { TRIBUTARY_CRASH_AT: `${point}:${rng.int(1, 3)}` });
        const ended = (await step(within(proc.exited, 90_000, `the crash point ${point}`))) as { signal: NodeJS.Signals | null };
        expect({ point, signal: ended.signal }).toEqual({ point, signal: 'SIGKILL' });
        crashPoints++;
      }
    } finally {
      stopping = true;
      await Promise.allSettled(writers);
    }
    await Promise.all(writers);
    await client.syncSession!.uploadAllLocalChanges(60_000);
    expect(ready).toBeGreaterThanOrEqual(KILLS / 2);
    expect(crashPoints).toBe(4);

    proc = h().spawn(config, logs);
    await proc.ready;
    const status = await proc.quiesce(180_000);
    expect(status.state).toBe('streaming');
    expect(status.apply).toMatchObject({ retrying: 0, rejected: 0, failed: 0 });
    const verify = await h().client(ROOT);
    const sorted = (m: Map<number, Row>) => [...m.values()].sort((a, b) => (a.id as number) - (b.id as number));
    const found = {
      realmNoteDb: pick(await db.rows('realm_note'), NOTE),
      realmNoteRealm: objectRows(verify, 'RealmNote', NOTE),
      dbNoteDb: pick(await db.rows('db_note'), NOTE),
      dbNoteRealm: objectRows(verify, 'DbNote', NOTE),
    };
    const want = { realmNoteDb: sorted(realmModel), realmNoteRealm: sorted(realmModel), dbNoteDb: sorted(dbModel), dbNoteRealm: sorted(dbModel) };
    if (JSON.stringify(found) !== JSON.stringify(want)) console.log(`crash loop (seed ${seed}) connector log tail:\n${logs.slice(-60).join('\n')}`); // eslint-disable-line no-console
    expect(found).toEqual(want);
    for (const z of [1, 2, 3]) {
      const r = await h().client(zonePath(z));
      expect({ zone: z, objects: objectRows(r, 'ZoneNote', ['zone', 'body']) }).toEqual({ zone: z, objects: sorted(zoneModel).filter((n) => n.zone === z) });
    }
    const counters = pick(await db.rows('counter'), ['n']).map((r) => r.n);
    const objects = objectRows(verify, 'Counter', ['n']).map((r) => r.n);
    const expected = [1, 2, 3].map((id) => increments.realm[id]! + increments.db[id]!);
    expect({ db: counters, realm: objects }).toEqual({ db: expected, realm: expected });
  }, 420_000);
}

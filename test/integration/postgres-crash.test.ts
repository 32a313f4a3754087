import * as path from 'node:path';
import { Client } from 'pg';
import { validateConfig } from '../../connectors/postgres/config';
import { resolveMapping } from '../../connectors/postgres/mapping';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { compareTablesWithRealms, formatComparison } from '../helpers/pg-compare';
import { newPlacedTally, placedRealmWriter, placedSqlWriter, PLACED_SCHEMA, PLACED_TABLES, whileDown, ZONES, zonePath } from '../helpers/pg-crash-placed';
import { ConnectorProcess, differences, realmObjects, tableRows, type Comparable } from '../helpers/pg-connector-process';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';
import { Prng, testSeed } from '../helpers/prng';

const SCHEMA = `
  CREATE TABLE db_note (id int PRIMARY KEY, body text NOT NULL, score int, at timestamptz);
  CREATE TABLE realm_note (id int PRIMARY KEY, body text NOT NULL, score int, at timestamptz);
  CREATE TABLE shared (id int PRIMARY KEY, a text, b int, c float8);
  CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
  ALTER TABLE counter REPLICA IDENTITY FULL; -- n is a counter column: updates carry the old row
  INSERT INTO db_note SELECT g, 'seed ' || g, g, NULL FROM generate_series(1, 10) g;
  INSERT INTO shared SELECT g, 'a' || g, g, g / 4.0 FROM generate_series(1, 20) g;
  INSERT INTO counter VALUES (1, 0), (2, 0), (3, 0);
`;
const REALM_PATH = '/crash/data';
const NOTE = ['body', 'score', 'at'];
const SHARED = ['a', 'b', 'c'];
/** Counter 1 is incremented from both sides, 2 only in the realm, 3 only in SQL. */
const BOTH = 1;
const REALM_ONLY = 2;
const DB_ONLY = 3;
const KILLS = 20;
const TRANSIENT = new Set(['40P01', '40001', '55P03']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
const text = (rng: Prng) => rng.pick(['plain', "it's", 'ü ñ 字', 'a\nb', '']) + rng.int(0, 9999);
const date = (rng: Prng) => new Date(Date.UTC(2024, 0, 1) + rng.int(0, 1e9));
const noteValues = (rng: Prng): Comparable => ({ body: text(rng), score: rng.bool(0.2) ? null : rng.int(-1000, 1000), at: rng.bool(0.2) ? null : date(rng) });
const sharedValue = (rng: Prng, column: string) => (column === 'a' ? text(rng) : column === 'b' ? rng.int(-1e6, 1e6) : rng.int(-1e6, 1e6) / 8);
const iso = (v: Comparable): Comparable => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x instanceof Date ? x.toISOString() : (x ?? null)]));

interface Tally {
  realm: Record<number, number>;
  db: Record<number, number>;
  realmTransactions: number;
  dbTransactions: number;
  dbRolledBack: number;
}

describePostgres('postgres connector: crash loop (SIGKILL while both sides write)', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  const realms: Realm[] = [];
  const clients: Client[] = [];
  const logs: string[] = [];
  let current: ConnectorProcess | null = null;

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('crash');
    await db.sql.query(SCHEMA + PLACED_SCHEMA);
  });
  afterAll(async () => {
    await current?.kill();
    for (const r of realms) if (!r.isClosed) r.close();
    for (const c of clients) await c.end().catch(() => undefined);
    await fx?.dispose();
    await db?.dispose();
  });

  const config = () => ({
    name: 'crash',
    database: db.url,
    serverUrl: fx.realmUrl,
    adminToken: fx.adminToken,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    realm: REALM_PATH,
    tables: { db_note: { type: 'DbNote' }, realm_note: { type: 'RealmNote' }, shared: { type: 'Shared' }, counter: { type: 'Counter', columns: { n: { counter: true } } }, ...PLACED_TABLES },
  });
  const spawn = () => (current = ConnectorProcess.spawn(config(), path.join(fx.dir, 'connector-config'), logs));
  const openClient = async (name: string, realmPath = REALM_PATH) => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + realmPath }, path: path.join(fx.dir, 'clients', `${name}.db`) });
    realms.push(r);
    return r;
  };

  /** Creates, updates and deletes its own RealmNote ids, writes Shared, increments counters 1 and 2. */
  async function realmWriter(r: Realm, rng: Prng, ids: number[], model: Map<number, Comparable>, tally: Tally, stop: () => boolean): Promise<void> {
    while (!stop()) {
      const ops = rng.bool(0.25) ? rng.int(2, 4) : 1;
      const incs: number[] = [];
      const notes = new Map<number, Comparable | null>();
      r.write(() => {
        for (let k = 0; k < ops; k++) {
          const roll = rng.next();
          if (roll < 0.35) {
            const id = rng.pick(ids);
            const obj = r.objectForPrimaryKey<Record<string, unknown>>('RealmNote', id);
            if (obj && rng.bool(0.25)) {
              r.delete(obj);
              notes.set(id, null);
            } else {
              const v = noteValues(rng);
              r.create('RealmNote', { id, ...v }, 'modified');
              notes.set(id, v);
            }
          } else if (roll < 0.6) {
            const obj = r.objectForPrimaryKey<Record<string, unknown>>('Shared', rng.int(1, 20))!;
            const column = rng.pick(SHARED);
            obj[column] = sharedValue(rng, column);
          } else {
            const id = rng.pick([BOTH, REALM_ONLY]);
            r.increment(r.objectForPrimaryKey('Counter', id), 'n', 1);
            incs.push(id);
          }
        }
      });
      for (const [id, v] of notes) v ? model.set(id, iso(v)) : model.delete(id);
      for (const id of incs) tally.realm[id] = (tally.realm[id] ?? 0) + 1;
      tally.realmTransactions++;
      await sleep(rng.int(15, 70));
    }
  }

  /** Inserts, updates and deletes its own db_note ids, writes shared, increments counters 1 and 3. */
  async function dbWriter(c: Client, rng: Prng, ids: number[], model: Map<number, Comparable>, tally: Tally, stop: () => boolean): Promise<void> {
    while (!stop()) {
      const ops = rng.bool(0.3) ? rng.int(2, 4) : 1;
      const incs: number[] = [];
      const notes = new Map<number, Comparable | null>();
      await c.query('BEGIN');
      try {
        for (let k = 0; k < ops; k++) {
          const roll = rng.next();
          if (roll < 0.35) {
            const id = rng.pick(ids);
            const present = notes.has(id) ? notes.get(id) !== null : model.has(id);
            if (present && rng.bool(0.25)) {
              await c.query('DELETE FROM db_note WHERE id = $1', [id]);
              notes.set(id, null);
            } else {
              const v = noteValues(rng);
              await c.query('INSERT INTO db_note (id, body, score, at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, score = EXCLUDED.score, at = EXCLUDED.at', [id, v.body, v.score, v.at]);
              notes.set(id, v);
            }
          } else if (roll < 0.6) {
            const column = rng.pick(SHARED);
            await c.query(`UPDATE shared SET ${column} = $1 WHERE id = $2`, [sharedValue(rng, column), rng.int(1, 20)]);
          } else {
            const id = rng.pick([BOTH, DB_ONLY]);
            await c.query('UPDATE counter SET n = n + 1 WHERE id = $1', [id]);
            incs.push(id);
          }
        }
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        if (!TRANSIENT.has((e as { code?: string }).code ?? '')) throw e;
        tally.dbRolledBack++; // a deadlock with the connector's apply: nothing of it happened
        continue;
      }
      for (const [id, v] of notes) v ? model.set(id, iso(v)) : model.delete(id);
      for (const id of incs) tally.db[id] = (tally.db[id] ?? 0) + 1;
      tally.dbTransactions++;
      await sleep(rng.int(15, 70));
    }
  }

  const tally: Tally = { realm: {}, db: {}, realmTransactions: 0, dbTransactions: 0, dbRolledBack: 0 };
  const placed = newPlacedTally();
  const verifiedZones = new Map<string, Realm>();
  const realmModel = new Map<number, Comparable>();
  const dbModel = new Map<number, Comparable>();
  let verified: Realm | null = null;
  const verify = (): Realm => {
    if (!verified) throw new Error('the crash loop did not settle (see the first failure)');
    return verified;
  };
  let lives: { life: number; ready: boolean; aliveMs: number }[] = [];

  test(`${KILLS}+ SIGKILLs at random moments while realm clients and SQL sessions write`, async () => {
    const seed = testSeed('postgres crash loop');
    const rng = new Prng(seed);
    for (const row of (await db.sql.query('SELECT id, body, score, at FROM db_note')).rows) dbModel.set(row.id, iso({ body: row.body, score: row.score, at: row.at }));

    const first = spawn();
    await first.ready; // the initial load completes once (a load interrupted by a kill is redone, see the docs)
    const writersRealm = [await openClient('w0'), await openClient('w1'), await openClient('w-zone-1', zonePath(1))];
    const writersDb = [new Client({ connectionString: db.url }), new Client({ connectionString: db.url }), new Client({ connectionString: db.url })];
    for (const c of writersDb) {
      clients.push(c);
      await c.connect();
    }
    let stopping = false;
    const stop = () => stopping;
    const writers = [
      realmWriter(writersRealm[0], new Prng(seed + 1), [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008], realmModel, tally, stop),
      realmWriter(writersRealm[1], new Prng(seed + 2), [2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008], realmModel, tally, stop),
      dbWriter(writersDb[0], new Prng(seed + 3), [1, 2, 3, 4, 5, 101, 102, 103, 104, 105], dbModel, tally, stop),
      dbWriter(writersDb[1], new Prng(seed + 4), [6, 7, 8, 9, 10, 201, 202, 203, 204, 205], dbModel, tally, stop),
      placedSqlWriter(writersDb[2], new Prng(seed + 5), placed, stop),
      placedRealmWriter(writersRealm[2], new Prng(seed + 6), placed, stop),
    ];
    const failed = Promise.race(writers.map((w) => w.then(() => new Promise<never>(() => undefined))));
    failed.catch(() => undefined);
    const step = async (p: Promise<unknown>) => Promise.race([p, failed]);
    try {
      lives = [];
      let proc: ConnectorProcess = first;
      let bornAt = Date.now();
      await step(sleep(rng.int(200, 1500)));
      for (let life = 0; ; life++) {
        await proc.kill();
        const ended = await proc.exited;
        // Never died on its own; if it did, its last log lines say why.
        expect({ life, signal: ended.signal, log: ended.signal === 'SIGKILL' ? '' : `exit ${ended.code}\n${logs.slice(-40).join('\n')}` }).toEqual({ life, signal: 'SIGKILL', log: '' });
        lives.push({ life, ready: proc.started, aliveMs: Date.now() - bornAt });
        if (lives.length >= KILLS) break;
        await step(whileDown(db.sql, rng, life, placed)); // deletes of parents with children, in realms placed by template and by following keys
        await step(sleep(rng.int(0, 300)));
        proc = spawn();
        bornAt = Date.now();
        if (life % 4 === 3) await step(sleep(rng.int(50, 2500))); // anywhere, starting up included
        else {
          await step(within(proc.ready, 90_000, 'a connector life to be ready'));
          await step(sleep(rng.int(0, 1500)));
        }
      }
    } finally {
      stopping = true;
      await Promise.allSettled(writers);
    }
    await Promise.all(writers);
    for (const r of writersRealm) await r.syncSession!.uploadAllLocalChanges(60_000);
    // eslint-disable-next-line no-console
    console.log(`crash loop: ${lives.length} kills (${lives.filter((l) => l.ready).length} after ready), ${tally.realmTransactions} realm and ${tally.dbTransactions} SQL transactions (${tally.dbRolledBack} rolled back by deadlocks), increments realm ${JSON.stringify(tally.realm)} sql ${JSON.stringify(tally.db)}; placed rows ${JSON.stringify(placed)}`);
    expect(lives.length).toBeGreaterThanOrEqual(KILLS);
    expect(lives.filter((l) => l.ready).length).toBeGreaterThanOrEqual((KILLS * 3) / 4);

    const last = spawn();
    await last.ready;
    const status = await last.quiesce(180_000);
    // eslint-disable-next-line no-console
    console.log('crash loop: settled', JSON.stringify(status));
    const v = await openClient('verify');
    await v.syncSession!.downloadAllServerChanges(60_000);
    verified = v;
    expect(status.state).toBe('streaming');
    expect(status.apply).toMatchObject({ retrying: 0, rejected: 0, failed: 0, deadLetters: 0 });
    for (const z of ZONES) {
      const r = await openClient(`verify-zone-${z}`, zonePath(z));
      await r.syncSession!.downloadAllServerChanges(60_000);
      verifiedZones.set(zonePath(z), r);
    }
  }, 420_000);

  test('every mapped table equals the realms exactly, rows placed by template and by following keys included (nothing set aside)', async () => {
    const c = config();
    const mapping = await resolveMapping(db.sql, c as never, validateConfig(c).resolved);
    const open = (p: string) => (p === REALM_PATH ? verify() : verifiedZones.get(p)!);
    const results = await compareTablesWithRealms(db.sql, mapping, open, [REALM_PATH, ...ZONES.map(zonePath)]);
    if (results.some((r) => !r.equal)) console.log(`crash loop comparison:\n${formatComparison(results)}\nconnector log tail:\n${logs.slice(-60).join('\n')}`); // eslint-disable-line no-console
    expect(formatComparison(results)).not.toMatch(/DIFFERENT/);
    expect(results.find((r) => r.table === 'crate')!.rows).toBeGreaterThan(10);
    expect([placed.depotsDeleted, placed.cratesDeleted, placed.downDeleted]).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(placed.downDeleted).toBeGreaterThanOrEqual(KILLS - 2);
  });

  test('every mapped row equals its object: nothing missing, nothing extra', async () => {
    const found = [
      ...differences('db_note', await tableRows(db.sql, 'db_note', NOTE), realmObjects(verify(), 'DbNote', NOTE)),
      ...differences('realm_note', await tableRows(db.sql, 'realm_note', NOTE), realmObjects(verify(), 'RealmNote', NOTE)),
      ...differences('shared', await tableRows(db.sql, 'shared', SHARED), realmObjects(verify(), 'Shared', SHARED)),
      ...differences('counter', await tableRows(db.sql, 'counter', ['n']), realmObjects(verify(), 'Counter', ['n'])),
    ];
    if (found.length) console.log(`crash loop differences:\n${found.join('\n')}\nconnector log tail:\n${logs.slice(-60).join('\n')}`); // eslint-disable-line no-console
    expect(found).toEqual([]);
    expect((await tableRows(db.sql, 'shared', SHARED)).size).toBe(20);
  });

  test('single-owner tables hold exactly what their writers wrote (no write lost or resurrected)', async () => {
    expect(differences('db_note', dbModel, await tableRows(db.sql, 'db_note', NOTE), ['sql writers', 'db'])).toEqual([]);
    expect(differences('db_note', dbModel, realmObjects(verify(), 'DbNote', NOTE), ['sql writers', 'realm'])).toEqual([]);
    expect(differences('realm_note', realmModel, realmObjects(verify(), 'RealmNote', NOTE), ['realm writers', 'realm'])).toEqual([]);
    expect(differences('realm_note', realmModel, await tableRows(db.sql, 'realm_note', NOTE), ['realm writers', 'db'])).toEqual([]);
  });

  test('counters incremented on one side equal the number of increments: nothing lost, nothing doubled', async () => {
    const n = async (id: number) => [(await db.sql.query('SELECT n FROM counter WHERE id = $1', [id])).rows[0].n, verify().objectForPrimaryKey<{ n: number }>('Counter', id)!.n];
    expect({ realmOnly: await n(REALM_ONLY) }).toEqual({ realmOnly: [tally.realm[REALM_ONLY] ?? 0, tally.realm[REALM_ONLY] ?? 0] });
    expect({ sqlOnly: await n(DB_ONLY) }).toEqual({ sqlOnly: [tally.db[DB_ONLY] ?? 0, tally.db[DB_ONLY] ?? 0] });
  });

  test('the counter incremented from both sides equals realm + SQL increments', async () => {
    const expected = (tally.realm[BOTH] ?? 0) + (tally.db[BOTH] ?? 0);
    const row = (await db.sql.query('SELECT n FROM counter WHERE id = $1', [BOTH])).rows[0].n;
    const obj = verify().objectForPrimaryKey<{ n: number }>('Counter', BOTH)!.n;
    expect({ db: row, realm: obj }).toEqual({ db: expected, realm: expected });
  });
});

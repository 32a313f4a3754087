import type { Client } from 'pg';
import { compositeKey } from '../../connectors/postgres';
import type { Realm } from '../../src/realm';
import type { Prng } from './prng';

/**
 * The crash loop's rows placed by template and by following foreign keys
 * (test/integration/postgres-crash.test.ts): depots partitioned into one realm per zone, their
 * crates following the depot, the crates' tags following the crate (a composite key holding the
 * followed foreign key, which is also a link). Three writers with disjoint rows:
 *
 * - SQL (`placedSqlWriter`): depots 2–99 and their crates — inserts, updates, deletes of crates
 *   and of depots with their crates and tags (ON DELETE CASCADE);
 * - a realm client of zone 1 (`placedRealmWriter`): crates 50000+ in depot 1 with their tags;
 * - `whileDown`, run while the connector is killed: depots 200+, each created with crates and
 *   tags in one down window and deleted with them in a later one.
 */

export const PLACED_SCHEMA = `
  CREATE TABLE depot (id int PRIMARY KEY, zone int NOT NULL, name text NOT NULL);
  CREATE TABLE crate (id int PRIMARY KEY, depot_id int NOT NULL REFERENCES depot (id) ON DELETE CASCADE, label text, n int);
  CREATE TABLE crate_tag (crate_id int NOT NULL REFERENCES crate (id) ON DELETE CASCADE, tag text NOT NULL, PRIMARY KEY (crate_id, tag));
  INSERT INTO depot SELECT g, 1 + (g - 1) % 3, 'depot ' || g FROM generate_series(1, 12) g;
  INSERT INTO crate SELECT g, 1 + (g - 1) % 12, 'crate ' || g, g FROM generate_series(1, 48) g;
  INSERT INTO crate_tag SELECT c, t FROM generate_series(1, 48) c, unnest(ARRAY['red', 'blue']) t WHERE (c + length(t)) % 2 = 0;
`;

export const PLACED_TABLES = {
  depot: { type: 'Depot', realm: '/crash/zone/{zone}' },
  crate: { type: 'Crate', realm: { follow: 'depot_id' } },
  crate_tag: { type: 'CrateTag', realm: { follow: 'crate_id' } },
};

export const ZONES = [1, 2, 3];
export const zonePath = (zone: number) => `/crash/zone/${zone}`;
const TAGS = ['red', 'blue', 'green', "it's", 'a|b'];
const TRANSIENT = new Set(['40P01', '40001', '55P03']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the placed writers did (printed by the test). */
export interface PlacedTally {
  sqlTransactions: number;
  depotsDeleted: number;
  cratesDeleted: number;
  realmTransactions: number;
  downWindows: number;
  downDeleted: number;
}

export const newPlacedTally = (): PlacedTally => ({ sqlTransactions: 0, depotsDeleted: 0, cratesDeleted: 0, realmTransactions: 0, downWindows: 0, downDeleted: 0 });

/** Depots 2–12 seeded, 13–99 created here; each with its crates. */
export async function placedSqlWriter(c: Client, rng: Prng, tally: PlacedTally, stop: () => boolean): Promise<void> {
  const depots = new Map<number, number>(); // id → zone
  const crates = new Map<number, number>(); // id → depot
  for (let d = 2; d <= 12; d++) depots.set(d, 1 + ((d - 1) % 3));
  for (let k = 1; k <= 48; k++) if (1 + ((k - 1) % 12) !== 1) crates.set(k, 1 + ((k - 1) % 12));
  let nextCrate = 1000;
  while (!stop()) {
    const d = new Map(depots);
    const k = new Map(crates);
    await c.query('BEGIN');
    try {
      for (let op = rng.int(1, 3); op > 0; op--) {
        const roll = rng.next();
        const depotIds = [...d.keys()];
        const crateIds = [...k.keys()];
        if (roll < 0.15 || depotIds.length < 3) {
          const id = rng.int(13, 99);
          if (d.has(id)) continue;
          const zone = rng.pick([1, 2, 3]);
          await c.query('INSERT INTO depot VALUES ($1, $2, $3)', [id, zone, `depot ${id}`]);
          d.set(id, zone);
          for (let n = rng.int(0, 3); n > 0; n--) {
            const crate = nextCrate++;
            await c.query('INSERT INTO crate VALUES ($1, $2, $3, $4)', [crate, id, `crate ${crate}`, n]);
            k.set(crate, id);
            if (rng.bool()) await c.query('INSERT INTO crate_tag VALUES ($1, $2)', [crate, rng.pick(TAGS)]);
          }
        } else if (roll < 0.35) {
          const crate = nextCrate++;
          const depot = rng.pick(depotIds);
          await c.query('INSERT INTO crate VALUES ($1, $2, $3, $4)', [crate, depot, `crate ${crate}`, rng.int(0, 99)]);
          k.set(crate, depot);
        } else if (roll < 0.55 && crateIds.length > 0) {
          await c.query('UPDATE crate SET label = $1, n = n + 1 WHERE id = $2', [`label ${rng.int(0, 999)}`, rng.pick(crateIds)]);
        } else if (roll < 0.75 && crateIds.length > 0) {
          await c.query('INSERT INTO crate_tag VALUES ($1, $2) ON CONFLICT DO NOTHING', [rng.pick(crateIds), rng.pick(TAGS)]);
          if (rng.bool(0.4)) await c.query('DELETE FROM crate_tag WHERE crate_id = $1 AND tag = $2', [rng.pick(crateIds), rng.pick(TAGS)]);
        } else if (roll < 0.9 && crateIds.length > 0) {
          const crate = rng.pick(crateIds);
          await c.query('DELETE FROM crate WHERE id = $1', [crate]); // its tags by cascade
          k.delete(crate);
          tally.cratesDeleted++;
        } else {
          const depot = rng.pick(depotIds);
          await c.query('DELETE FROM depot WHERE id = $1', [depot]); // its crates and their tags by cascade
          d.delete(depot);
          for (const [crate, of] of k) if (of === depot) k.delete(crate);
          tally.depotsDeleted++;
        }
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      if (!TRANSIENT.has((e as { code?: string }).code ?? '')) throw e;
      continue;
    }
    depots.clear();
    crates.clear();
    for (const [a, b] of d) depots.set(a, b);
    for (const [a, b] of k) crates.set(a, b);
    tally.sqlTransactions++;
    await sleep(rng.int(15, 70));
  }
}

/** Crates 50000+ in depot 1 (zone 1), with tags created in the same transaction; deleted together with their tags. */
export async function placedRealmWriter(r: Realm, rng: Prng, tally: PlacedTally, stop: () => boolean): Promise<void> {
  const own = new Map<number, string[]>();
  let next = 50000;
  while (!stop()) {
    r.write(() => {
      const ids = [...own.keys()];
      const roll = rng.next();
      if (roll < 0.4 || ids.length === 0) {
        const id = next++;
        const crate = r.create('Crate', { id, depot_id: 1, depot: r.objectForPrimaryKey('Depot', 1), label: `realm ${id}`, n: 0 });
        const tags = [...new Set([rng.pick(TAGS), rng.pick(TAGS)])].slice(0, rng.int(0, 2));
        for (const tag of tags) r.create('CrateTag', { key: compositeKey([id, tag]), crate_id: id, tag, crate });
        own.set(id, tags);
      } else if (roll < 0.75) {
        const obj = r.objectForPrimaryKey<Record<string, unknown>>('Crate', rng.pick(ids));
        if (obj) [obj.label, obj.n] = [`edited ${rng.int(0, 999)}`, rng.int(0, 99)];
      } else {
        const id = rng.pick(ids);
        for (const tag of own.get(id)!) {
          const t = r.objectForPrimaryKey('CrateTag', compositeKey([id, tag]));
          if (t) r.delete(t);
        }
        const obj = r.objectForPrimaryKey('Crate', id);
        if (obj) r.delete(obj);
        own.delete(id);
      }
    });
    tally.realmTransactions++;
    await sleep(rng.int(15, 70));
  }
}

/**
 * While the connector is down: deletes one or two depots of an earlier window with their crates
 * and tags (parents with children, rows in FK-placed realms) and a crate of another, then creates
 * a depot with crates and tags for a later window to delete.
 */
export async function whileDown(sql: Client, rng: Prng, window: number, tally: PlacedTally): Promise<void> {
  const alive = (await sql.query('SELECT id FROM depot WHERE id >= 200 ORDER BY id')).rows.map((x) => x.id as number);
  for (const id of alive.slice(0, rng.int(1, 2))) {
    await sql.query('DELETE FROM depot WHERE id = $1', [id]);
    tally.downDeleted++;
  }
  const crate = (await sql.query('SELECT id FROM crate WHERE depot_id >= 200 ORDER BY id LIMIT 1')).rows[0]?.id;
  if (crate !== undefined) await sql.query('DELETE FROM crate WHERE id = $1', [crate]);
  const depot = 200 + window;
  await sql.query('BEGIN');
  await sql.query('INSERT INTO depot VALUES ($1, $2, $3)', [depot, rng.pick(ZONES), `down ${window}`]);
  for (let n = 0; n < 3; n++) {
    const id = 100000 + window * 10 + n;
    await sql.query('INSERT INTO crate VALUES ($1, $2, $3, $4)', [id, depot, `down crate ${id}`, n]);
    await sql.query('INSERT INTO crate_tag VALUES ($1, $2), ($1, $3)', [id, rng.pick(TAGS), 'down']);
  }
  await sql.query('COMMIT');
  tally.downWindows++;
}

import type { DriverDatabase } from '../driver';
import { objectRows, pick, type Harness } from '../harness';

/**
 * Deletes while the connector is stopped, on both sides and in every kind of realm: a row in a
 * fixed realm, a row placed by a template together with the rows that follow it (a cascade), a
 * following row on its own; objects deleted by clients meanwhile. After the next start both sides
 * hold exactly the rest — nothing resurrected, nothing left behind.
 */
export function stoppedTests(h: () => Harness): void {
  const ROOT = '/cf/stopped';
  const zonePath = (z: number) => `${ROOT}/zone/${z}`;
  let db: DriverDatabase;

  beforeAll(async () => {
    db = await h().database('stopped');
    await db.createTable({ name: 'gadget', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'name', type: 'string' }] });
    await db.createTable({ name: 'depot', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'zone', type: 'int', nullable: false }] });
    await db.createTable({ name: 'part', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'depot_id', type: 'int', nullable: false }, { name: 'name', type: 'string' }], references: [{ column: 'depot_id', table: 'depot', onDelete: 'cascade' }] });
    await db.transaction([
      ...[1, 2, 3, 4].map((id) => ({ op: 'insert' as const, table: 'gadget', row: { id, name: `gadget ${id}` } })),
      ...[1, 2, 3, 4].map((id) => ({ op: 'insert' as const, table: 'depot', row: { id, zone: 1 + (id % 2) } })),
      ...Array.from({ length: 12 }, (_, i) => ({ op: 'insert' as const, table: 'part', row: { id: i + 1, depot_id: 1 + (i % 4), name: `part ${i + 1}` } })),
    ]);
  });

  test('rows deleted in the database and objects deleted in realms while the connector was stopped are gone from both sides after it starts', async () => {
    const config = h().config(db, { name: 'cf_stopped', realm: `${ROOT}/fixed`, tables: { gadget: { type: 'Gadget' }, depot: { type: 'Depot', realm: `${ROOT}/zone/{zone}` }, part: { type: 'Part', realm: { follow: 'depot_id' } } } });
    let connector = await h().start(config);
    const fixed = await h().client(`${ROOT}/fixed`);
    const zones = [await h().client(zonePath(1)), await h().client(zonePath(2))];
    await connector.quiesce(120_000);
    await connector.stop();

    await db.transaction([{ op: 'delete', table: 'gadget', key: { id: 1 } }]);
    await db.transaction([{ op: 'delete', table: 'depot', key: { id: 1 } }]); // with parts 1, 5, 9 (cascade)
    await db.transaction([{ op: 'delete', table: 'part', key: { id: 2 } }]);
    fixed.write(() => fixed.delete(fixed.objectForPrimaryKey('Gadget', 2)));
    for (const z of zones) await z.syncSession!.downloadAllServerChanges(60_000);
    const holder = zones.find((z) => z.objectForPrimaryKey('Part', 4))!;
    holder.write(() => holder.delete(holder.objectForPrimaryKey('Part', 4)));
    for (const r of [fixed, ...zones]) await r.syncSession!.uploadAllLocalChanges(60_000);

    connector = await h().start(config);
    await connector.quiesce(120_000);
    for (const r of [fixed, ...zones]) await r.syncSession!.downloadAllServerChanges(60_000);
    const parts = pick(await db.rows('part'), ['depot_id', 'name']);
    const depots = pick(await db.rows('depot'), ['zone']);
    expect({ gadgets: pick(await db.rows('gadget'), ['name']).map((r) => r.id), depots: depots.map((r) => r.id), parts: parts.map((r) => r.id) }).toEqual({ gadgets: [3, 4], depots: [2, 3, 4], parts: [3, 6, 7, 8, 10, 11, 12] });
    expect(objectRows(fixed, 'Gadget', ['name'])).toEqual(pick(await db.rows('gadget'), ['name']));
    const zoneOf = new Map(depots.map((d) => [d.id, d.zone]));
    for (const z of [1, 2]) {
      expect({ zone: z, depots: objectRows(zones[z - 1]!, 'Depot', ['zone']) }).toEqual({ zone: z, depots: depots.filter((d) => d.zone === z) });
      expect({ zone: z, parts: objectRows(zones[z - 1]!, 'Part', ['depot_id', 'name']) }).toEqual({ zone: z, parts: parts.filter((p) => zoneOf.get(p.depot_id) === z) });
    }
    await connector.stop();
  }, 180_000);
}

import type { Connector } from '../../../connectors/contract';
import type { LoadProgress } from '../../../connectors/kit/load-progress';
import { STATE_TYPE } from '../../../connectors/kit/position';
import type { Realm } from '../../../src/realm';
import type { DriverDatabase, Row, TableSpec } from '../driver';
import { objectRows, pick, type Harness } from '../harness';

/**
 * Initial load in every placement mode, live changes both ways, one source transaction as one realm
 * transaction per realm, and no echo — one database and one connector (in this process: the
 * function placement cannot travel to a child process).
 *
 * Placement: `region` in one fixed realm, `shop` by a path template over `zone`, `item` following
 * its `shop_id` reference, `note` by a function of its `owner`.
 */

const ROOT = '/cf/live';
const FIXED = `${ROOT}/fixed`;
const zonePath = (zone: unknown) => `${ROOT}/zone/${String(zone)}`;
const ownerPath = (owner: unknown) => `${ROOT}/owner/${String(owner)}`;

const TABLES: TableSpec[] = [
  { name: 'region', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'name', type: 'string' }] },
  { name: 'shop', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'zone', type: 'int', nullable: false }, { name: 'name', type: 'string' }] },
  {
    name: 'item',
    key: ['id'],
    columns: [{ name: 'id', type: 'int' }, { name: 'shop_id', type: 'int', nullable: false }, { name: 'label', type: 'string' }, { name: 'price', type: 'double' }, { name: 'flag', type: 'bool' }, { name: 'at', type: 'date' }],
    references: [{ column: 'shop_id', table: 'shop' }],
  },
  { name: 'note', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'owner', type: 'string', nullable: false }, { name: 'body', type: 'string' }] },
];
const COLUMNS: Record<string, string[]> = { region: ['name'], shop: ['zone', 'name'], item: ['shop_id', 'label', 'price', 'flag', 'at'], note: ['owner', 'body'] };
const TYPES: Record<string, string> = { region: 'Region', shop: 'Shop', item: 'Item', note: 'Note' };

const labels = ['plain', "it's", 'ü ñ 字', 'a\nb', ''];
const itemRow = (id: number, shop: number): Row => ({ id, shop_id: shop, label: labels[id % labels.length]! + id, price: id % 4 === 0 ? null : id * 1.25, flag: id % 3 === 0 ? null : id % 2 === 0, at: id % 5 === 0 ? null : new Date(Date.UTC(2024, 0, 1) + id * 3_600_500) });

/** Where each row belongs, from the rows of every table (the placement rules of the mapping). */
function expectedRealms(rows: Record<string, Row[]>): Map<string, Record<string, Row[]>> {
  const out = new Map<string, Record<string, Row[]>>();
  const add = (p: string, table: string, row: Row) => {
    let r = out.get(p);
    if (!r) out.set(p, (r = {}));
    (r[table] ??= []).push(row);
  };
  const shopZone = new Map(rows.shop!.map((s) => [s.id, s.zone]));
  for (const r of rows.region!) add(FIXED, 'region', r);
  for (const r of rows.shop!) add(zonePath(r.zone), 'shop', r);
  for (const r of rows.item!) add(zonePath(shopZone.get(r.shop_id)), 'item', r);
  for (const r of rows.note!) add(ownerPath(r.owner), 'note', r);
  return out;
}

export function loadAndLiveTests(h: () => Harness): void {
  let db: DriverDatabase;
  let connector: Connector;
  const progress: LoadProgress[] = [];
  const clients = new Map<string, Realm>();
  const realm = async (p: string) => clients.get(p) ?? clients.set(p, await h().client(p)).get(p)!;
  const dbRows = async () => {
    const out: Record<string, Row[]> = {};
    for (const t of TABLES) out[t.name] = pick(await db.rows(t.name), COLUMNS[t.name]!);
    return out;
  };

  /** Every realm the rows map to holds exactly its rows' objects, and no other of those types. */
  async function expectPlaced(): Promise<void> {
    await connector.quiesce(120_000);
    const expected = expectedRealms(await dbRows());
    const seen: Record<string, Record<string, Row[]>> = {};
    const want: Record<string, Record<string, Row[]>> = {};
    for (const p of new Set([...expected.keys(), ...clients.keys()])) {
      const r = await realm(p);
      await r.syncSession!.downloadAllServerChanges(60_000);
      seen[p] = {};
      want[p] = {};
      for (const t of TABLES) {
        const objects = objectRows(r, TYPES[t.name]!, COLUMNS[t.name]!);
        const rows = expected.get(p)?.[t.name] ?? [];
        if (objects.length > 0 || rows.length > 0) [seen[p]![t.name], want[p]![t.name]] = [objects, rows];
      }
    }
    expect(seen).toEqual(want);
  }

  beforeAll(async () => {
    db = await h().database('live');
    for (const t of TABLES) await db.createTable(t);
    await db.transaction([
      ...[1, 2, 3].map((id) => ({ op: 'insert' as const, table: 'region', row: { id, name: `region ${id}` } })),
      ...[1, 2, 3, 4, 5, 6].map((id) => ({ op: 'insert' as const, table: 'shop', row: { id, zone: 1 + ((id - 1) % 3), name: `shop ${id}` } })),
      ...Array.from({ length: 24 }, (_, i) => ({ op: 'insert' as const, table: 'item', row: itemRow(i + 1, 1 + (i % 6)) })),
      ...Array.from({ length: 8 }, (_, i) => ({ op: 'insert' as const, table: 'note', row: { id: i + 1, owner: i % 2 ? 'ann' : 'bob', body: `note ${i + 1}` } })),
    ]);
  });

  test('initial load: every row in the realm its placement gives it — fixed path, path template, followed reference, function — with load progress', async () => {
    const config = h().config(db, {
      name: 'cf_live',
      tables: { region: { type: 'Region', realm: FIXED }, shop: { type: 'Shop', realm: `${ROOT}/zone/{zone}` }, item: { type: 'Item', realm: { follow: 'shop_id' } }, note: { type: 'Note', realm: (row) => ownerPath(row.owner) } },
    });
    connector = await h().start(config, (p) => progress.push(p));
    expect(connector.status().state).toBe('streaming');
    await expectPlaced();
    expect([...clients.keys()].sort()).toEqual([FIXED, zonePath(1), zonePath(2), zonePath(3), ownerPath('ann'), ownerPath('bob')].sort());
    const done = progress.filter((p) => p.done);
    expect(Object.fromEntries(done.map((p) => [p.table, p.rows]))).toEqual({ region: 3, shop: 6, item: 24, note: 8 });
  });

  test('database → realm: inserts, updates (nulls, dates, text), deletes, and moves between realms by template column, by reference and by function', async () => {
    await db.transaction([
      { op: 'insert', table: 'region', row: { id: 4, name: 'four' } },
      { op: 'insert', table: 'shop', row: { id: 7, zone: 1, name: 'seven' } },
      { op: 'insert', table: 'item', row: itemRow(30, 7) },
    ]);
    await db.transaction([{ op: 'update', table: 'item', key: { id: 1 }, set: { label: 'changed', price: null, flag: true, at: new Date(Date.UTC(2030, 5, 6, 7, 8, 9, 500)) } }]);
    await db.transaction([{ op: 'delete', table: 'item', key: { id: 2 } }, { op: 'delete', table: 'region', key: { id: 2 } }]);
    await db.transaction([{ op: 'update', table: 'item', key: { id: 3 }, set: { shop_id: 1 } }]); // zone 3 → zone 1, following its new shop
    await db.transaction([{ op: 'insert', table: 'shop', row: { id: 8, zone: 2, name: 'eight' } }]);
    await db.transaction([{ op: 'update', table: 'shop', key: { id: 8 }, set: { zone: 3 } }]); // template column: zone 2 → zone 3
    await db.transaction([{ op: 'update', table: 'note', key: { id: 1 }, set: { owner: 'ann' } }]); // function: bob → ann
    await expectPlaced();
    const one = await realm(zonePath(1));
    expect(objectRows(one, 'Item', ['label', 'price', 'flag', 'at']).find((r) => r.id === 1)).toEqual({ id: 1, label: 'changed', price: null, flag: true, at: '2030-06-06T07:08:09.500Z' });
    expect(objectRows(one, 'Item', []).map((r) => r.id)).toContain(3);
  });

  test('realm → database: creates, updates and deletes in realms of each placement reach the tables', async () => {
    const fixed = await realm(FIXED);
    fixed.write(() => {
      fixed.create('Region', { id: 10, name: 'from the realm' });
      fixed.objectForPrimaryKey<Record<string, unknown>>('Region', 1)!.name = "region 1 it's";
      fixed.delete(fixed.objectForPrimaryKey('Region', 3));
    });
    const zone = await realm(zonePath(2));
    zone.write(() => {
      zone.create('Shop', { id: 20, zone: 2, name: 'realm shop' });
      zone.create('Item', { ...itemRow(200, 20), at: new Date(Date.UTC(2025, 1, 2, 3, 4, 5, 6)) });
      zone.objectForPrimaryKey<Record<string, unknown>>('Item', 5)!.label = 'relabelled';
      zone.delete(zone.objectForPrimaryKey('Item', 11));
    });
    const ann = await realm(ownerPath('ann'));
    ann.write(() => ann.create('Note', { id: 50, owner: 'ann', body: 'written in a realm' }));
    for (const r of [fixed, zone, ann]) await r.syncSession!.uploadAllLocalChanges(60_000);
    await expectPlaced();
    const rows = await dbRows();
    expect(rows.region!.find((r) => r.id === 10)).toEqual({ id: 10, name: 'from the realm' });
    expect(rows.region!.map((r) => r.id)).not.toContain(3);
    expect(rows.item!.find((r) => r.id === 200)).toMatchObject({ shop_id: 20, at: '2025-02-02T03:04:05.006Z' });
    expect(rows.item!.map((r) => r.id)).not.toContain(11);
    expect(rows.note!.find((r) => r.id === 50)).toEqual({ id: 50, owner: 'ann', body: 'written in a realm' });
  });

  test('one source transaction becomes one realm transaction per realm it touches, whole', async () => {
    const realms = [await realm(zonePath(1)), await realm(zonePath(2))];
    const seen = realms.map(() => [] as number[]);
    const listeners = realms.map((r, i) => {
      const l = () => seen[i]!.push(objectRows(r, 'Shop', []).filter((s) => (s.id as number) >= 100).length);
      r.addListener('change', l);
      return l;
    });
    const before = connector.status().transactions;
    await db.transaction(Array.from({ length: 40 }, (_, i) => ({ op: 'insert' as const, table: 'shop', row: { id: 100 + i, zone: 1 + (i % 2), name: `bulk ${i}` } })));
    await connector.quiesce(120_000);
    for (const r of realms) await r.syncSession!.downloadAllServerChanges(60_000);
    realms.forEach((r, i) => r.removeListener('change', listeners[i]!));
    expect(seen).toEqual([[20], [20]]); // one notification per realm, every row in it
    expect(connector.status().transactions).toBe(before + 1);
  });

  test('no echo: realm writes applied to the database are not captured back, and database writes captured into realms are not applied back', async () => {
    const observer = await realm(FIXED);
    const position = () => observer.objectForPrimaryKey<{ resumeFrom: string }>(STATE_TYPE, 'cf_live')?.resumeFrom ?? null;
    await connector.quiesce(120_000);
    await observer.syncSession!.downloadAllServerChanges(60_000);
    const s0 = connector.status();
    const at0 = position();
    expect(at0).not.toBeNull();
    const writer = await h().client(FIXED);
    for (let n = 0; n < 5; n++) {
      writer.write(() => (writer.objectForPrimaryKey<Record<string, unknown>>('Region', 1)!.name = `echo ${n}`));
      await writer.syncSession!.uploadAllLocalChanges(60_000);
    }
    await connector.quiesce(120_000);
    await observer.syncSession!.downloadAllServerChanges(60_000);
    const s1 = connector.status();
    expect((await dbRows()).region!.find((r) => r.id === 1)!.name).toBe('echo 4');
    const foreign = (s: typeof s0) => s.transactions - s.skippedOwnTransactions;
    expect({ captured: foreign(s1), position: position() }).toEqual({ captured: foreign(s0), position: at0 });
    expect(s1.skippedOwnTransactions).toBeGreaterThan(s0.skippedOwnTransactions);
    expect(s1.apply!.applied).toBeGreaterThan(s0.apply!.applied);

    for (let n = 0; n < 3; n++) await db.transaction([{ op: 'update', table: 'region', key: { id: 4 }, set: { name: `db ${n}` } }]);
    await connector.quiesce(120_000);
    await observer.syncSession!.downloadAllServerChanges(60_000);
    const s2 = connector.status();
    expect(objectRows(observer, 'Region', ['name']).find((r) => r.id === 4)!.name).toBe('db 2');
    expect(foreign(s2)).toBe(foreign(s1) + 3);
    expect({ applied: s2.apply!.applied, batches: s2.apply!.batches }).toEqual({ applied: s1.apply!.applied, batches: s1.apply!.batches });
  });
}

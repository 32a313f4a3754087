import { keyText } from '../../connectors/postgres/mapping';
import { appliedMessage, OwnWrites } from '../../connectors/postgres/own-writes';
import type { RawRow, ResolvedMapping, ResolvedTable } from '../../connectors/postgres/mapping';

const item = { table: 'item', keyColumns: ['id'], composite: false, byColumn: new Map([['id', { type: { fromText: (t: string) => Number(t) } }]]) } as unknown as ResolvedTable;
const mapping = { tables: new Map([['item', item]]) } as unknown as ResolvedMapping;
const k = (id: number) => keyText(id);
const sideIdentity = (_table: string, row: RawRow) => row.id ?? null;

test('an applied message lists the rows a batch wrote and deleted; capture skips exactly those changes', () => {
  const text = appliedMessage(new Map([['item', new Map<string, 'w' | 'd'>([[k(1), 'w'], [k(2), 'd'], [k(3), 'w']])]]), { item_tag: ['7'] }, '/shop', 42);
  expect(JSON.parse(text!)).toEqual({ v: 2, w: { item: [k(1), k(3)] }, d: { item: [k(2)] }, side: { item_tag: ['7'] }, p: '/shop', t: 42 });
  const own = new OwnWrites(mapping, sideIdentity);
  own.add(Buffer.from(text!));
  // What capture tells the realm-wins protection once it has passed this transaction.
  expect(own.applied).toEqual({ path: '/shop', through: 42 });
  expect([
    own.covers({ op: 'upsert', table: 'item', row: { id: '1' }, oldKey: null }),
    own.covers({ op: 'upsert', table: 'item', row: { id: '3' }, oldKey: null }),
    own.covers({ op: 'delete', table: 'item', key: { id: '2' } }),
    own.covers({ op: 'delete', table: 'item', key: { id: '1' } }), // a cascade deleted a row apply wrote
    own.covers({ op: 'upsert', table: 'item', row: { id: '2' }, oldKey: null }), // a trigger re-inserted a row apply deleted
    own.covers({ op: 'upsert', table: 'item', row: { id: '4' }, oldKey: null }),
    own.covers({ op: 'side-list', table: 'item_tag', kind: 'delete', old: { id: '7' } }),
  ]).toEqual([true, true, true, false, false, false, true]);
  // A batch that wrote no row still says what it applied (it ends their realm-wins protection).
  const none = new OwnWrites(mapping, sideIdentity);
  none.add(appliedMessage(new Map(), {}, '/shop', 43));
  expect(none.applied).toEqual({ path: '/shop', through: 43 });
  expect(none.covers({ op: 'upsert', table: 'item', row: { id: '1' }, oldKey: null })).toBe(false);
});

test('messages of the format before 2 (still in a slot across an upgrade) are read, and a later message of the transaction wins', () => {
  const own = new OwnWrites(mapping, sideIdentity);
  own.add(JSON.stringify({ rows: { item: { [k(1)]: 'w', [k(2)]: 'd' } }, side: {} }));
  own.add(appliedMessage(new Map([['item', new Map<string, 'w' | 'd'>([[k(1), 'd']])]]), {}, '/shop', 1));
  expect([own.covers({ op: 'delete', table: 'item', key: { id: '1' } }), own.covers({ op: 'delete', table: 'item', key: { id: '2' } }), own.covers({ op: 'upsert', table: 'item', row: { id: '1' }, oldKey: null })]).toEqual([true, true, false]);
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeChangeset, type Instruction } from '../../src/changeset';
import { TributaryError } from '../../src/errors';
import { Realm } from '../../src/realm';

const Person = {
  name: 'Person',
  primaryKey: 'id',
  properties: {
    id: 'int',
    name: 'string',
    age: { type: 'int', default: 18 },
    nick: 'string?',
    dog: 'Dog',
    dogs: 'Dog[]',
    tags: 'string[]',
    visits: { type: 'int', default: 0 },
  },
};
const Dog = { name: 'Dog', properties: { name: 'string', owners: { type: 'linkingObjects', objectType: 'Person', property: 'dogs' } } };
const Tag = { name: 'Tag', primaryKey: 'label', properties: { label: 'string', weight: 'double?' } };

let dir: string;
const open: Realm[] = [];
function makeRealm(file = 'r.db'): Realm {
  const r = new Realm({ schema: [Person, Dog, Tag], path: path.join(dir, file) });
  open.push(r);
  return r;
}
/** The instructions of every local changeset committed after `after`. */
function changesets(realm: Realm, after = 0): Instruction[][] {
  return realm._replica.changesetsAfter(after).map((c) => decodeChangeset(c.data));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-realm-'));
});
afterEach(() => {
  for (const r of open.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Realm object API over a local replica', () => {
  test('first open emits AddType for the configured schema, once', () => {
    const realm = makeRealm();
    const [schemaChange] = changesets(realm);
    expect(schemaChange.map((i) => i.op)).toEqual(['AddType', 'AddType', 'AddType']);
    const person = schemaChange.find((i) => i.op === 'AddType' && i.type === 'Person') as Extract<Instruction, { op: 'AddType' }>;
    expect(person.primaryKey).toBe('id');
    expect(person.properties.find((p) => p.name === 'age')!.default).toBeUndefined();
    realm.close();
    open.pop();
    const again = makeRealm();
    expect(changesets(again)).toHaveLength(1);
  });

  test('adding a property later emits AddProperties only', () => {
    makeRealm().close();
    open.pop();
    const realm = new Realm({ schema: [{ ...Tag, properties: { ...Tag.properties, color: 'string?' } }, Person, Dog], path: path.join(dir, 'r.db') });
    open.push(realm);
    const all = changesets(realm);
    expect(all[1]).toEqual([{ op: 'AddProperties', type: 'Tag', properties: [{ name: 'color', type: 'string', optional: true }] }]);
  });

  test('an incompatible schema is a SCHEMA_INVALID error', () => {
    makeRealm().close();
    open.pop();
    expect(() => new Realm({ schema: [{ ...Tag, properties: { ...Tag.properties, weight: 'int' } }], path: path.join(dir, 'r.db') })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID' }),
    );
  });

  test('create, read, defaults listed in the Create instruction', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', tags: ['a', 'b'] }));
    expect(p.name).toBe('Ann');
    expect(p.age).toBe(18);
    expect(p.nick).toBeNull();
    expect(p.dog).toBeNull();
    expect([...p.tags]).toEqual(['a', 'b']);
    expect(Object.keys(p)).toEqual(['id', 'name', 'age', 'nick', 'dog', 'dogs', 'tags', 'visits']);
    const [, cs] = changesets(realm);
    expect(cs[0]).toEqual({ op: 'Create', type: 'Person', id: 1, values: { name: 'Ann', age: 18, visits: 0 }, defaults: ['age', 'visits'] });
    expect(cs.slice(1)).toEqual([
      { op: 'ListInsert', type: 'Person', id: 1, property: 'tags', index: 0, value: 'a', prior: 0 },
      { op: 'ListInsert', type: 'Person', id: 1, property: 'tags', index: 1, value: 'b', prior: 1 },
    ]);
  });

  test('missing required value, wrong types and writes outside a transaction are errors', () => {
    const realm = makeRealm();
    expect(() => realm.write(() => realm.create('Tag', { weight: 1 }))).toThrow(/primary key/);
    realm.write(() => {
      expect(() => realm.create('Person', { id: 2 })).toThrow(/Missing value for property 'Person.name'/);
      expect(() => realm.create('Person', { id: 2, name: 5 })).toThrow(TributaryError);
    });
    expect(() => realm.create('Tag', { label: 'x' })).toThrow(expect.objectContaining({ code: 'NOT_IN_TRANSACTION' }));
    const t = realm.write(() => realm.create<any>('Tag', { label: 'x' }));
    expect(() => {
      t.weight = 2;
    }).toThrow(expect.objectContaining({ code: 'NOT_IN_TRANSACTION' }));
    expect(() => realm.objects('Nope')).toThrow(/not found in schema/);
  });

  test('update modes: never, all, modified', () => {
    const realm = makeRealm();
    realm.write(() => realm.create('Tag', { label: 'x', weight: 1 }));
    expect(() => realm.write(() => realm.create('Tag', { label: 'x', weight: 2 }))).toThrow(/existing primary key/);
    expect(() => realm.write(() => realm.create('Tag', { label: 'x', weight: 2 }, 'never'))).toThrow(/existing primary key/);
    const before = realm._replica.lastClientVersion;
    realm.write(() => realm.create('Tag', { label: 'x', weight: 1 }, 'modified'));
    expect(realm._replica.lastClientVersion).toBe(before); // nothing differed: no changeset
    realm.write(() => realm.create('Tag', { label: 'x', weight: 1 }, true));
    expect(changesets(realm, before)).toEqual([[{ op: 'Set', type: 'Tag', id: 'x', values: { weight: 1 } }]]);
    realm.write(() => realm.create('Tag', { label: 'x', weight: 3 }, 'modified'));
    expect((realm.objectForPrimaryKey<any>('Tag', 'x')!).weight).toBe(3);
    expect(realm.objects('Tag')).toHaveLength(1);
  });

  test('nested plain objects create link targets first; objects without a primary key get minted keys', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', dog: { name: 'Rex' }, dogs: [{ name: 'A' }, { name: 'B' }] }));
    expect(p.dog.name).toBe('Rex');
    expect(p.dogs.map((d: any) => d.name)).toEqual(['A', 'B']);
    expect(realm.objects('Dog').map((d: any) => d.name)).toEqual(['Rex', 'A', 'B']);
    const cs = changesets(realm)[1];
    expect(cs.map((i) => i.op)).toEqual(['Create', 'Create', 'Create', 'ListInsert', 'Create', 'ListInsert']);
    expect((cs[0] as any).id).toMatch(/^_[0-9a-f]{24}$/);
    expect((cs[1] as any).values.dog).toBe((cs[0] as any).id);
    expect(p.dogs[0].owners.map((o: any) => o.name)).toEqual(['Ann']);
  });

  test('delete nulls single links and hides list entries as tombstones; list ops skip them', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', dogs: [{ name: 'A' }, { name: 'B' }, { name: 'C' }] }));
    realm.write(() => {
      p.dog = p.dogs[1];
    });
    const b = p.dogs[1];
    realm.write(() => realm.delete(b));
    expect(b.isValid()).toBe(false);
    expect(p.dog).toBeNull();
    expect(p.dogs.length).toBe(2);
    expect(p.dogs.map((d: any) => d.name)).toEqual(['A', 'C']);
    const after = realm._replica.lastClientVersion;
    realm.write(() => {
      p.dogs.push({ name: 'D' }); // wire: [A, †B, C] → insert at 3, prior 3
      p.dogs[1] = p.dogs[0]; // user index 1 = C = wire index 2
      p.dogs.splice(1, 1); // erase user index 1 = wire index 2, prior 4
      p.dogs.unshift({ name: 'E' }); // insert before A: wire 0, prior 3
    });
    const ops = changesets(realm, after)[0].filter((i) => i.op.startsWith('List'));
    expect(ops).toEqual([
      expect.objectContaining({ op: 'ListInsert', index: 3, prior: 3 }),
      expect.objectContaining({ op: 'ListSet', index: 2, prior: 4 }),
      expect.objectContaining({ op: 'ListErase', index: 2, prior: 4 }),
      expect.objectContaining({ op: 'ListInsert', index: 0, prior: 3 }),
    ]);
    expect(p.dogs.map((d: any) => d.name)).toEqual(['E', 'A', 'D']);
    const wire = realm._record('Person', 1)!.lists.dogs;
    expect(wire.map((e) => !!e.dead)).toEqual([false, false, true, false]);
  });

  test('pop, shift, move and clear', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', tags: ['a', 'b', 'c', 'd'] }));
    const after = realm._replica.lastClientVersion;
    realm.write(() => {
      expect(p.tags.pop()).toBe('d');
      expect(p.tags.shift()).toBe('a');
      p.tags.move(0, 1);
    });
    expect([...p.tags]).toEqual(['c', 'b']);
    realm.write(() => p.tags.clear());
    expect(p.tags.length).toBe(0);
    expect(changesets(realm, after).flat().map((i) => [i.op, (i as any).prior])).toEqual([
      ['ListErase', 4],
      ['ListErase', 3],
      ['ListMove', 2],
      ['ListClear', 2],
    ]);
  });

  test('assigning a list replaces it with ListClear and inserts', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', tags: ['a'] }));
    const after = realm._replica.lastClientVersion;
    realm.write(() => {
      p.tags = ['x', 'y'];
    });
    expect([...p.tags]).toEqual(['x', 'y']);
    expect(changesets(realm, after)[0].map((i) => i.op)).toEqual(['ListClear', 'ListInsert', 'ListInsert']);
  });

  test('increment emits AddInteger', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann' }));
    const after = realm._replica.lastClientVersion;
    realm.write(() => realm.increment(p, 'visits', 5));
    realm.write(() => realm.increment(p, 'visits'));
    expect(p.visits).toBe(6);
    expect(changesets(realm, after).flat()).toEqual([
      { op: 'AddInteger', type: 'Person', id: 1, property: 'visits', delta: 5 },
      { op: 'AddInteger', type: 'Person', id: 1, property: 'visits', delta: 1 },
    ]);
    expect(() => realm.write(() => realm.increment(p, 'name'))).toThrow(/not an int/);
  });

  test('a throwing write commits nothing; objects are in creation order; data survives reopen', () => {
    const realm = makeRealm();
    expect(() =>
      realm.write(() => {
        realm.create('Tag', { label: 'gone' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(realm.objectForPrimaryKey('Tag', 'gone')).toBeUndefined();
    realm.write(() => {
      for (const l of ['c', 'a', 'b']) realm.create('Tag', { label: l });
    });
    realm.write(() => realm.delete(realm.objectForPrimaryKey('Tag', 'a')));
    realm.write(() => realm.create('Tag', { label: 'a' }));
    expect(realm.objects('Tag').map((t: any) => t.label)).toEqual(['c', 'b', 'a']);
    expect(realm.objects('Tag').sorted('label').map((t: any) => t.label)).toEqual(['a', 'b', 'c']);
    const snap = realm.objects('Tag').snapshot();
    const tag = snap[0] as any;
    realm.close();
    open.pop();
    expect(() => snap.length).toThrow(expect.objectContaining({ code: 'REALM_CLOSED' }));
    expect(tag.isValid()).toBe(false);
    expect(() => tag.label).toThrow(expect.objectContaining({ code: 'REALM_CLOSED' }));
    expect(realm.isClosed).toBe(true);
    const again = makeRealm();
    expect(again.objects('Tag').map((t: any) => t.label)).toEqual(['c', 'b', 'a']);
  });

  test('deleteAll clears every type; Results are live', () => {
    const realm = makeRealm();
    const tags = realm.objects('Tag');
    realm.write(() => realm.create('Tag', { label: 'x' }));
    expect(tags.length).toBe(1);
    realm.write(() => realm.deleteAll());
    expect(tags.length).toBe(0);
  });

  test('move maps user indices to wire indices across tombstones', () => {
    const realm = makeRealm();
    const p = realm.write(() => realm.create<any>('Person', { id: 1, name: 'Ann', dogs: [{ name: 'A' }, { name: 'B' }, { name: 'C' }, { name: 'D' }] }));
    realm.write(() => realm.delete(p.dogs[1])); // wire [A, †B, C, D]
    const after = realm._replica.lastClientVersion;
    realm.write(() => p.dogs.move(0, 2)); // A after D: wire from 0 to 3
    expect(p.dogs.map((d: any) => d.name)).toEqual(['C', 'D', 'A']);
    realm.write(() => p.dogs.move(2, 0)); // A back to the front: wire from 3 to 1 (before C)
    expect(p.dogs.map((d: any) => d.name)).toEqual(['A', 'C', 'D']);
    expect(changesets(realm, after).flat()).toEqual([
      expect.objectContaining({ op: 'ListMove', from: 0, to: 3, prior: 4 }),
      expect.objectContaining({ op: 'ListMove', from: 3, to: 1, prior: 4 }),
    ]);
  });

  test('manual transactions, JSON, spread and primary key lookups', () => {
    const realm = makeRealm();
    realm.beginTransaction();
    expect(realm.isInTransaction).toBe(true);
    realm.create('Tag', { label: 'cancelled' });
    realm.cancelTransaction();
    expect(realm.objectForPrimaryKey('Tag', 'cancelled')).toBeUndefined();
    realm.beginTransaction();
    const t = realm.create<any>('Tag', { label: 'kept', weight: 2.5 });
    realm.commitTransaction();
    expect(JSON.parse(JSON.stringify(t))).toEqual({ label: 'kept', weight: 2.5 });
    expect({ ...t }).toEqual({ label: 'kept', weight: 2.5 });
    expect(realm.objectForPrimaryKey<any>('Tag', 'kept')!.weight).toBe(2.5);
    expect(() => realm.objectForPrimaryKey('Tag', 5)).toThrow(TributaryError);
    expect(() => realm.objectForPrimaryKey('Dog', 'x')).toThrow(/does not have a primary key/);
    expect(realm.objects('Tag').sum('weight')).toBe(2.5);
  });

  test('two instances of one file share the replica', () => {
    const a = makeRealm();
    const b = makeRealm();
    a.write(() => a.create('Tag', { label: 'shared' }));
    expect(b.objectForPrimaryKey('Tag', 'shared')).toBeDefined();
    a.close();
    expect(b.objects('Tag').length).toBe(1);
  });
});

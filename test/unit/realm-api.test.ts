import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm from '../../src/index';
import { TributaryError } from '../../src/errors';

class Person extends Realm.Object {
  static schema = {
    name: 'Person',
    primaryKey: 'id',
    properties: {
      id: 'int',
      name: 'string',
      age: { type: 'int', default: 30, indexed: true },
      nick: 'string?',
      dog: 'Dog',
      dogs: { type: 'list', objectType: 'Dog' },
      scores: 'int[]',
      maybe: 'double?[]',
      born: 'date?',
    },
  };
  get label(): string {
    return `${(this as any).name} (${(this as any).age})`;
  }
}
const Dog = {
  name: 'Dog',
  properties: {
    name: 'string',
    weight: { type: 'double', default: 10 },
    best: { type: 'object', objectType: 'Dog' },
    owners: { type: 'linkingObjects', objectType: 'Person', property: 'dogs' },
  },
};

let dir: string;
const open: Realm[] = [];
function makeRealm(file = 'r.db', schema: any[] = [Person, Dog]): Realm {
  const r = new Realm({ schema, path: path.join(dir, file) });
  open.push(r);
  return r;
}
function seed(realm: Realm): any[] {
  return realm.write(() => [
    realm.create<any>('Person', { id: 1, name: 'Ann', age: 41, dogs: [{ name: 'Rex', weight: 20 }, { name: 'Fido', weight: 5 }], scores: [3, 1, 2] }),
    realm.create<any>('Person', { id: 2, name: 'Bob', age: 25, dog: { name: 'Spot', weight: 7.5 } }),
    realm.create<any>('Person', { id: 3, name: 'Cy', nick: 'c' }),
  ]);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-api-'));
});
afterEach(() => {
  for (const r of open.splice(0)) r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('schema forms', () => {
  test('shorthands, object forms, defaults, indexed, linkingObjects, subclasses; realm-js schema view', () => {
    const realm = makeRealm();
    const person = realm.schema.find((s) => s.name === 'Person')!;
    expect(person.primaryKey).toBe('id');
    expect(person.properties.nick).toMatchObject({ type: 'string', optional: true });
    expect(person.properties.dog).toMatchObject({ type: 'object', objectType: 'Dog', optional: true });
    expect(person.properties.dogs).toMatchObject({ type: 'list', objectType: 'Dog' });
    expect(person.properties.scores).toMatchObject({ type: 'list', objectType: 'int', optional: false });
    expect(person.properties.maybe).toMatchObject({ type: 'list', objectType: 'double', optional: true });
    expect(person.properties.age).toMatchObject({ type: 'int', default: 30, indexed: true });
    expect(person.properties.id.indexed).toBe(true);
    const dog = realm.schema.find((s) => s.name === 'Dog')!;
    expect(dog.primaryKey).toBeUndefined();
    expect(dog.properties.owners).toMatchObject({ type: 'linkingObjects', objectType: 'Person', property: 'dogs' });
    // The view is accepted back as a schema.
    const again = new Realm({ schema: realm.schema as any, inMemory: true });
    open.push(again);
    expect(again.schema.map((s) => s.name).sort()).toEqual(['Dog', 'Person']);
  });

  test('a bad schema is SCHEMA_INVALID', () => {
    expect(() => makeRealm('x.db', [{ name: 'A', properties: { b: 'Nope' } }])).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    expect(() => makeRealm('y.db', [{ name: 'A', primaryKey: 'x', properties: { x: 'double' } }])).toThrow(TributaryError);
  });

  test('objects of a subclass are instances of it; others have constructor Realm.Object', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    expect(ann).toBeInstanceOf(Person);
    expect(ann).toBeInstanceOf(Realm.Object);
    expect(ann.label).toBe('Ann (41)');
    const rex = ann.dogs[0];
    expect(rex instanceof Realm.Object).toBe(true);
    expect(rex.constructor === Realm.Object).toBe(true);
    expect(realm.objects(Person)[0]).toBeInstanceOf(Person);
    expect(realm.objectForPrimaryKey(Person, 2)).toBeInstanceOf(Person);
    expect(ann.objectSchema().name).toBe('Person');
    expect(ann.objectSchema().properties.dogs.objectType).toBe('Dog');
  });
});

describe('create and update modes', () => {
  test('defaults, update true / all / modified / never, links given as plain objects, lists replaced', () => {
    const realm = makeRealm();
    const [ann, bob] = seed(realm);
    expect(bob.age).toBe(25);
    expect(realm.objects<any>('Person')[2].age).toBe(30);
    expect(() => realm.write(() => realm.create('Person', { id: 1, name: 'x' }))).toThrow(/existing primary key/);
    realm.write(() => realm.create('Person', { id: 1, name: 'Ann B', scores: [9] }, true));
    expect(ann.name).toBe('Ann B');
    expect(ann.age).toBe(41); // not given: kept
    expect([...ann.scores]).toEqual([9]);
    expect(ann.dogs.length).toBe(2); // not given: kept
    realm.write(() => realm.create('Person', { id: 1, dogs: [] }, 'modified'));
    expect(ann.dogs.length).toBe(0);
    realm.write(() => realm.create('Person', { id: 4, name: 'New' }, 'all'));
    expect(realm.objectForPrimaryKey<any>('Person', 4)!.name).toBe('New');
    // a plain object for a link creates the target (no primary key) …
    realm.write(() => (bob.dog = { name: 'Max' }));
    expect(bob.dog.name).toBe('Max');
    expect(realm.objects('Dog').filter((d: any) => d.name === 'Max')).toHaveLength(1);
    // … and an existing object links as itself
    realm.write(() => (ann.dog = bob.dog));
    expect(ann.dog._objectId()).toBe(bob.dog._objectId());
    realm.write(() => (ann.dog = null));
    expect(ann.dog).toBeNull();
  });

  test('a nested object with a primary key is updated by an updating create', () => {
    const P = { name: 'P', primaryKey: 'id', properties: { id: 'string', friend: 'P', n: 'int?' } };
    const realm = makeRealm('p.db', [P]);
    realm.write(() => realm.create('P', { id: 'a', n: 1 }));
    realm.write(() => realm.create('P', { id: 'b', friend: { id: 'a', n: 2 } }, true));
    expect(realm.objectForPrimaryKey<any>('P', 'a')!.n).toBe(2);
    expect(() => realm.write(() => realm.create('P', { id: 'c', friend: { id: 'a', n: 3 } }))).toThrow(/existing primary key/);
  });

  test('set outside a write is NOT_IN_TRANSACTION; objectForPrimaryKey is undefined when absent', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    let error: unknown;
    try {
      ann.name = 'x';
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('NOT_IN_TRANSACTION');
    expect(() => ann.dogs.push({ name: 'y' })).toThrow(expect.objectContaining({ code: 'NOT_IN_TRANSACTION' }));
    expect(realm.objectForPrimaryKey('Person', 99)).toBeUndefined();
  });
});

describe('delete', () => {
  test('an object, a Results, a List, an array; deleteAll; isValid afterwards', () => {
    const realm = makeRealm();
    const [ann, bob, cy] = seed(realm);
    const rex = ann.dogs[0];
    realm.write(() => realm.delete(rex));
    expect(rex.isValid()).toBe(false);
    expect(ann.dogs.length).toBe(1);
    realm.write(() => realm.delete(ann.dogs)); // the list's objects are deleted
    expect(realm.objects('Dog').map((d: any) => d.name)).toEqual(['Spot']);
    realm.write(() => realm.delete([bob, cy]));
    expect(realm.objects('Person').map((p: any) => p.id)).toEqual([1]);
    realm.write(() => realm.delete(realm.objects('Dog')));
    expect(realm.objects('Dog').length).toBe(0);
    expect(realm.isEmpty()).toBe(false);
    realm.write(() => realm.deleteAll());
    expect(realm.empty).toBe(true);
    expect(ann.isValid()).toBe(false);
  });
});

describe('collections', () => {
  test('index access, out of range, length, iteration, for…in, Object.keys', () => {
    const realm = makeRealm();
    seed(realm);
    const people = realm.objects<any>('Person');
    expect(people.length).toBe(3);
    expect(people[0].name).toBe('Ann');
    expect(people[3]).toBeUndefined();
    expect(people[-1]).toBeUndefined();
    expect(people[1.5 as any]).toBeUndefined();
    expect([...people].map((p) => p.id)).toEqual([1, 2, 3]);
    const keys: string[] = [];
    for (const k in people) keys.push(k);
    expect(keys).toEqual(['0', '1', '2']);
    expect(Object.keys(people)).toEqual(['0', '1', '2']);
    const listKeys: string[] = [];
    for (const k in people[0].dogs) listKeys.push(k);
    expect(listKeys).toEqual(['0', '1']);
    expect(people[0].scores[5]).toBeUndefined();
    expect(people.isEmpty()).toBe(false);
    expect(realm.objects('Dog').filter(() => false)).toEqual([]);
  });

  test('the read-only Array methods', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    const people = realm.objects<any>('Person');
    expect(people.map((p) => p.name)).toEqual(['Ann', 'Bob', 'Cy']);
    expect(people.filter((p) => p.age > 26).map((p) => p.id)).toEqual([1, 3]);
    expect(people.find((p) => p.name === 'Bob')!.id).toBe(2);
    expect(people.findIndex((p) => p.name === 'Cy')).toBe(2);
    expect(people.indexOf(realm.objectForPrimaryKey('Person', 2))).toBe(1);
    expect(people.lastIndexOf(realm.objectForPrimaryKey('Person', 3))).toBe(2);
    expect(people.includes(ann)).toBe(true);
    expect(people.some((p) => p.nick === 'c')).toBe(true);
    expect(people.every((p) => p.age > 30)).toBe(false);
    expect(people.reduce((n, p) => n + p.age, 0)).toBe(96);
    expect(people.map((p) => p.age).reduce((a, b) => a + b)).toBe(96);
    expect(people.slice(1).map((p) => p.id)).toEqual([2, 3]);
    expect(ann.scores.join('-')).toBe('3-1-2');
    expect([...people.keys()]).toEqual([0, 1, 2]);
    expect([...people.entries()].map(([i, p]) => `${i}${p.name}`)).toEqual(['0Ann', '1Bob', '2Cy']);
    expect([...people.values()].length).toBe(3);
    expect(ann.scores.concat([7], ann.scores)).toEqual([3, 1, 2, 7, 3, 1, 2]);
    expect(ann.scores.indexOf(2)).toBe(2);
    expect(ann.scores.includes(4)).toBe(false);
    const seen: number[] = [];
    people.forEach((p, i) => seen.push(i));
    expect(seen).toEqual([0, 1, 2]);
    expect(ann.dogs.type).toBe('object');
    expect(ann.scores.type).toBe('int');
    expect(ann.scores.optional).toBe(false);
    expect(ann.maybe.optional).toBe(true);
    expect(people.type).toBe('object');
  });

  test('List mutators and index set', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    realm.write(() => {
      expect(ann.scores.push(4, 5)).toBe(5);
      expect(ann.scores.pop()).toBe(5);
      expect(ann.scores.shift()).toBe(3);
      expect(ann.scores.unshift(0)).toBe(4);
      expect(ann.scores.splice(1, 2, 8, 9, 10)).toEqual([1, 2]);
      ann.scores[0] = 100;
      ann.scores[ann.scores.length] = 200;
    });
    expect([...ann.scores]).toEqual([100, 8, 9, 10, 4, 200]);
    realm.write(() => ann.dogs.push({ name: 'Pup' }));
    expect(ann.dogs[2].name).toBe('Pup');
  });

  test('sorted by key paths, descending, several keys; filtered when the engine is present', () => {
    const realm = makeRealm();
    seed(realm);
    const dogs = realm.objects<any>('Dog');
    expect(dogs.sorted('weight').map((d) => d.name)).toEqual(['Fido', 'Spot', 'Rex']);
    expect(dogs.sorted('weight', true).map((d) => d.name)).toEqual(['Rex', 'Spot', 'Fido']);
    expect(dogs.sorted([['weight', true]]).map((d) => d.name)).toEqual(['Rex', 'Spot', 'Fido']);
    const people = realm.objects<any>('Person');
    expect(people.sorted(['age', 'name']).map((p) => p.id)).toEqual([2, 3, 1]);
    expect(people.sorted('dog.weight', true).map((p) => p.id)).toEqual([2, 1, 3]);
    expect(() => people.sorted('nope')).toThrow(TributaryError);
    const sortedLive = dogs.sorted('name');
    realm.write(() => realm.create('Dog', { name: 'Ace' }));
    expect(sortedLive[0].name).toBe('Ace');
    const heavy = dogs.filtered('weight > $0', 6);
    expect(heavy.map((d) => d.name)).toEqual(['Rex', 'Spot', 'Ace']);
    expect(heavy.sorted('weight').map((d) => d.name)).toEqual(['Spot', 'Ace', 'Rex']);
    const ann = realm.objectForPrimaryKey<any>('Person', 1);
    expect(people.filtered('dogs.name == $0', 'Rex').map((p) => p.id)).toEqual([1]);
    expect(ann.dogs.filtered('weight < 10').map((d: any) => d.name)).toEqual(['Fido']);
    expect(dogs.filtered('ANY owners == $0', ann).length).toBe(2);
    expect(() => dogs.filtered('weight >')).toThrow();
  });

  test('aggregates on Results and Lists', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    const dogs = realm.objects<any>('Dog');
    expect(dogs.min('weight')).toBe(5);
    expect(dogs.max('weight')).toBe(20);
    expect(dogs.sum('weight')).toBe(32.5);
    expect(dogs.avg('weight')).toBeCloseTo(32.5 / 3);
    expect(realm.objects<any>('Person').filtered('age > 100').sum('age')).toBe(0);
    expect(realm.objects<any>('Person').filtered('age > 100').min('age')).toBeUndefined();
    expect(ann.dogs.max('weight')).toBe(20);
    expect(ann.scores.sum()).toBe(6);
    expect(ann.scores.min()).toBe(1);
    expect(() => realm.objects('Person').sum('name')).toThrow(TributaryError);
  });

  test('snapshot keeps its members and length while the live Results change', () => {
    const realm = makeRealm();
    seed(realm);
    const people = realm.objects<any>('Person');
    const snap = people.snapshot();
    realm.write(() => {
      for (let i = 0; i < snap.length; i++) realm.delete(snap[i]);
    });
    expect(people.length).toBe(0);
    expect(snap.length).toBe(3);
    expect(snap[0]).toBeNull();
    const dogs = realm.objects<any>('Dog');
    const dogSnap = dogs.snapshot();
    realm.write(() => realm.create('Dog', { name: 'Late' }));
    expect(dogs.length).toBe(4);
    expect(dogSnap.length).toBe(3);
    expect(dogSnap.map((d) => d.name)).toEqual(['Rex', 'Fido', 'Spot']);
  });
});

describe('objects', () => {
  test('JSON.stringify nests links and lists and stops at cycles', () => {
    const realm = makeRealm();
    const [ann, bob] = seed(realm);
    realm.write(() => {
      const rex = ann.dogs[0];
      rex.best = ann.dogs[1];
      ann.dogs[1].best = rex;
      ann.born = new Date('2000-01-02T00:00:00Z');
    });
    const json = JSON.parse(JSON.stringify(ann));
    expect(json).toMatchObject({ id: 1, name: 'Ann', age: 41, nick: null, dog: null, scores: [3, 1, 2], born: '2000-01-02T00:00:00.000Z' });
    expect(json.dogs[0].name).toBe('Rex');
    expect(json.dogs[0].best.name).toBe('Fido');
    expect(json.dogs[0].best.best).toEqual({ $ref: expect.stringMatching(/^Dog\//) });
    expect(json.owners).toBeUndefined();
    expect(JSON.parse(JSON.stringify(bob)).dog).toEqual({ name: 'Spot', weight: 7.5, best: null });
    expect(JSON.parse(JSON.stringify(realm.objects('Person'))).map((p: any) => p.name)).toEqual(['Ann', 'Bob', 'Cy']);
  });

  test('linkingObjects as a property and as a method', () => {
    const realm = makeRealm();
    const [ann] = seed(realm);
    const rex = ann.dogs[0];
    expect(rex.owners.map((p: any) => p.name)).toEqual(['Ann']);
    expect(rex.linkingObjects('Person', 'dogs').length).toBe(1);
    expect(realm.objects<any>('Dog')[2].linkingObjects('Person', 'dog')[0].name).toBe('Bob');
    expect(() => rex.linkingObjects('Person', 'name')).toThrow(TributaryError);
  });

  test('realm state: path, isClosed, schemaVersion, close', () => {
    const realm = new Realm({ schema: [Dog, Person], path: path.join(dir, 'state.db'), schemaVersion: 3 });
    expect(realm.path).toBe(path.join(dir, 'state.db'));
    expect(realm.schemaVersion).toBe(3);
    expect(realm.isClosed).toBe(false);
    expect(realm.isInTransaction).toBe(false);
    const dogs = realm.objects('Dog');
    realm.close();
    expect(realm.isClosed).toBe(true);
    expect(dogs.isValid()).toBe(false);
    expect(() => realm.objects('Dog')).toThrow(expect.objectContaining({ code: 'REALM_CLOSED' }));
  });
});

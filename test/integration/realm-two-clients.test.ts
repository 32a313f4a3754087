import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Realm, { User } from '../../src/index';
import { Server, silentLogger } from '../../src/server';

const Owner = { name: 'Owner', primaryKey: 'name', properties: { name: 'string', city: 'string?', pets: 'Pet[]', best: 'Pet' } };
const Pet = {
  name: 'Pet',
  primaryKey: 'id',
  properties: {
    id: 'int',
    name: 'string',
    kind: { type: 'string', default: 'dog' },
    age: 'int',
    weight: 'double?',
    born: 'date',
    tags: 'string[]',
    owners: { type: 'linkingObjects', objectType: 'Owner', property: 'pets' },
  },
};
const schema = [Owner, Pet];

let server: Server;
let dataPath: string;
let clientDir: string;
const realms: Realm[] = [];

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-2c-srv-'));
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-2c-cli-'));
  server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
});
afterEach(async () => {
  for (const r of realms.splice(0)) r.close();
  for (const u of Object.values(User.all)) u.logout();
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
  fs.rmSync(clientDir, { recursive: true, force: true });
});

/** The same expectations, run against the writer and against a fresh replica of the same realm. */
function expectTheWorld(realm: Realm, label: string): void {
  const pets = realm.objects<any>('Pet');
  const owners = realm.objects<any>('Owner');
  expect({ label, pets: pets.length, owners: owners.length }).toEqual({ label, pets: 5, owners: 2 });
  // Unsorted order is creation order on every replica.
  expect(pets.map((p) => p.name)).toEqual(['Rex', 'Tom', 'Bo', 'Kit', 'Zed']);
  expect(pets[9]).toBeUndefined();
  const rex = realm.objectForPrimaryKey<any>('Pet', 1)!;
  expect(rex).toBeInstanceOf(Realm.Object);
  expect(rex.constructor).toBe(Realm.Object);
  expect(rex.kind).toBe('dog');
  expect(rex.weight).toBeNull();
  expect(rex.born).toEqual(new Date('2015-05-05T00:00:00Z'));
  expect([...rex.tags]).toEqual(['good', 'loud']);
  expect(realm.objectForPrimaryKey('Pet', 99)).toBeUndefined();
  const ann = realm.objectForPrimaryKey<any>('Owner', 'ann')!;
  expect(ann.pets.map((p: any) => p.id)).toEqual([1, 3, 1]);
  expect(ann.best.name).toBe('Bo');
  expect(ann.city).toBeNull();
  expect(rex.linkingObjects('Owner', 'pets').map((o: any) => o.name)).toEqual(['ann']);
  expect(pets.filtered('age >= $0 AND kind == "cat"', 3).map((p) => p.name)).toEqual(['Tom', 'Zed']);
  expect(pets.filtered('name BEGINSWITH[c] $0', 'k').map((p) => p.id)).toEqual([4]);
  expect(owners.filtered('pets.name == $0', 'Bo').map((o) => o.name)).toEqual(['ann']);
  expect(owners.filtered('best == $0', realm.objectForPrimaryKey('Pet', 3)).length).toBe(1);
  expect(pets.sorted('age', true).map((p) => p.name)).toEqual(['Zed', 'Tom', 'Rex', 'Bo', 'Kit']);
  expect(pets.sorted([['kind', false], ['name', true]]).map((p) => p.name)).toEqual(['Zed', 'Tom', 'Kit', 'Rex', 'Bo']);
  expect(pets.sum('age')).toBe(28);
  expect(pets.max('age')).toBe(12);
  expect(pets.min('weight')).toBe(2.5);
  expect(pets.avg('age')).toBeCloseTo(5.6);
  const keys: string[] = [];
  for (const k in ann.pets) keys.push(k);
  expect(keys).toEqual(['0', '1', '2']);
  expect(JSON.parse(JSON.stringify(ann))).toEqual({
    name: 'ann',
    city: null,
    pets: [
      { id: 1, name: 'Rex', kind: 'dog', age: 5, weight: null, born: '2015-05-05T00:00:00.000Z', tags: ['good', 'loud'] },
      { id: 3, name: 'Bo', kind: 'dog', age: 2, weight: 4, born: '2015-05-05T00:00:00.000Z', tags: [] },
      { id: 1, name: 'Rex', kind: 'dog', age: 5, weight: null, born: '2015-05-05T00:00:00.000Z', tags: ['good', 'loud'] },
    ],
    best: { id: 3, name: 'Bo', kind: 'dog', age: 2, weight: 4, born: '2015-05-05T00:00:00.000Z', tags: [] },
  });
  const petSchema = realm.schema.find((s) => s.name === 'Pet')!;
  expect(petSchema.primaryKey).toBe('id');
  expect(petSchema.properties.tags).toMatchObject({ type: 'list', objectType: 'string' });
  expect(ann.objectSchema().properties.best).toMatchObject({ type: 'object', objectType: 'Pet' });
}

test('the object API behaves the same on the writer and on freshly synced replicas (with and without a schema)', async () => {
  const user = await User.register(server.url, 'two', 'pw-two');
  const url = `realm://127.0.0.1:${server.port}/~/pets`;
  const writer = await Realm.open({ schema, sync: { user, url }, path: path.join(clientDir, 'w.db') });
  realms.push(writer);
  writer.write(() => {
    const born = new Date('2015-05-05T00:00:00Z');
    const rex = writer.create('Pet', { id: 1, name: 'Rex', age: 5, born, tags: ['good', 'loud'] });
    writer.create('Pet', { id: 2, name: 'Tom', kind: 'cat', age: 9, weight: 6.5, born });
    // Scalars and links are written before lists: `best` creates Bo, the list entry updates it.
    writer.create('Owner', { name: 'ann', pets: [rex, { id: 3, weight: 4 }, rex], best: { id: 3, name: 'Bo', age: 2, weight: 1, born } }, 'modified');
    writer.create('Pet', { id: 4, name: 'Kit', kind: 'cat', age: 0, weight: 2.5, born });
    writer.create('Pet', { id: 5, name: 'Zed', kind: 'cat', age: 12, born });
    writer.create('Owner', { name: 'bob', city: 'Oslo', pets: [] });
  });
  writer.write(() => (writer.objectForPrimaryKey<any>('Owner', 'bob').city = null));
  await writer.syncSession!.uploadAllLocalChanges(10_000);

  const fresh = await Realm.open({ schema, sync: { user, url }, path: path.join(clientDir, 'f.db') });
  realms.push(fresh);
  expectTheWorld(writer, 'writer');
  expectTheWorld(fresh, 'fresh');

  // Without a schema the synced one is used (no local defaults or backlink properties).
  const dynamic = await Realm.open({ sync: { user, url }, path: path.join(clientDir, 'd.db') });
  realms.push(dynamic);
  expect(dynamic.schema.map((s) => s.name).sort()).toEqual(['Owner', 'Pet']);
  expect(dynamic.objects<any>('Pet').filtered('kind == "cat"').length).toBe(3);
  expect(dynamic.objectForPrimaryKey<any>('Owner', 'ann')!.pets[1].name).toBe('Bo');
  expect(dynamic.schema.find((s) => s.name === 'Pet')!.properties.owners).toBeUndefined();

  // Writes on the fresh replica come back to the writer, and listeners there see them.
  const seen: any[] = [];
  const cats = writer.objects<any>('Pet').filtered('kind == "cat"').sorted('age');
  cats.addListener((c, ch) => seen.push({ names: c.map((p: any) => p.name), ...ch }));
  await new Promise((r) => setImmediate(r));
  fresh.write(() => {
    fresh.objectForPrimaryKey<any>('Pet', 4)!.age = 20;
    fresh.delete(fresh.objectForPrimaryKey('Pet', 2));
  });
  await fresh.syncSession!.uploadAllLocalChanges(10_000);
  await writer.syncSession!.downloadAllServerChanges(10_000);
  expect(seen[seen.length - 1]).toMatchObject({ names: ['Zed', 'Kit'], deletions: [0, 1], insertions: [1], modifications: [] });
  expect(writer.objects('Pet').length).toBe(4);
  expect(fresh.objectForPrimaryKey<any>('Owner', 'ann')!.pets.length).toBe(3);
});

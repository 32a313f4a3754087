/**
 * A generated dataset held twice: as replica records in a MemoryState (what the query engine reads)
 * and as plain JavaScript objects with nested objects for links and arrays for lists (what the
 * hand-written oracles read). Both come from the same generated description.
 */
import { ListEntry, MemoryState, ObjectRecord } from '../../src/changeset/state';
import { Decimal128, normalizeSchema, ObjectId, UUID, Value } from '../../src/model';
import { Prng } from '../helpers/prng';

export const SCHEMA = normalizeSchema([
  {
    name: 'Person',
    primaryKey: 'id',
    properties: {
      id: 'int',
      name: 'string',
      nick: 'string?',
      age: 'int',
      score: 'double?',
      active: 'bool',
      born: 'date',
      seen: 'date?',
      blob: 'data?',
      oid: 'objectId?',
      uid: 'uuid?',
      dec: 'decimal128?',
      mix: 'mixed',
      best: 'Dog',
      dogs: 'Dog[]',
      tags: 'string[]',
      nums: 'int[]',
      friends: 'Person[]',
    },
  },
  {
    name: 'Dog',
    primaryKey: 'id',
    properties: {
      id: 'int',
      name: 'string',
      age: 'int',
      weight: 'double?',
      owner: 'Person',
      toys: 'Toy[]',
      owners: { type: 'linkingObjects', objectType: 'Person', property: 'dogs' },
    },
  },
  { name: 'Toy', properties: { label: 'string', price: 'double?' } },
]);

export const NAMES = ['Ann', 'ann', 'ANN', 'Anna', 'Émile', 'emile', 'Zoë', 'zoe', 'Bob', 'bob', 'Åsa', 'Øyvind', '日本語', '😀smile', 'a*b', 'a?c', "O'Brien", 'Straße', 'Rex', 'rexy', 'Fido', "x' OR TRUEPREDICATE", 'Mañana', 'manana', 'Ω', 'Al', 'ab'];
export const DOG_NAMES = ['Rex', 'rexy', 'REX', 'Fido', 'Émile', 'Bob', 'Zoë', 'Ann'];
export const TAGS = ['red', 'Red', 'RED', 'blue', 'green', 'rød', 'Ünï'];
export const OIDS = ['5f0a1b2c3d4e5f6a7b8c9d0e', '000000000000000000000001', 'ffffffffffffffffffffffff', 'abcdefabcdefabcdefabcdef'];
export const UUIDS = ['3b241101-e2bb-4255-8caf-4136c566a962', '00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-4fff-bfff-ffffffffffff'];
export const DECIMALS = ['1.5', '-3', '100', '0', '2.25'];

export interface PlainToy {
  _key: string;
  label: string;
  price: number | null;
}
export interface PlainDog {
  id: number;
  name: string;
  age: number;
  weight: number | null;
  owner: PlainPerson | null;
  toys: PlainToy[];
  owners: PlainPerson[];
}
export interface PlainPerson {
  id: number;
  name: string;
  nick: string | null;
  age: number;
  score: number | null;
  active: boolean;
  born: Date;
  seen: Date | null;
  blob: Uint8Array | null;
  oid: string | null;
  uid: string | null;
  dec: number | null;
  mix: null | number | string | boolean | Date;
  best: PlainDog | null;
  dogs: PlainDog[];
  tags: string[];
  nums: number[];
  friends: PlainPerson[];
}

export interface Dataset {
  store: MemoryState;
  persons: PlainPerson[];
  dogs: PlainDog[];
  toys: PlainToy[];
}

const DAY = 86_400_000;

/** Builds both sides. Unset values, nulls, tombstoned list entries and case/diacritic variants are all present. */
export function generateDataset(seed: number, sizes = { persons: 80, dogs: 50, toys: 30 }): Dataset {
  const rng = new Prng(seed);
  const store = new MemoryState();
  for (const s of SCHEMA) store.putSchema(s);
  const maybe = <T>(p: number, make: () => T): T | null => (rng.bool(p) ? null : make());
  // Lists: live entries (what the oracle sees) with tombstones interleaved (invisible to queries).
  const list = <T extends Value>(live: T[], deadPool: () => T): ListEntry[] => {
    const out: ListEntry[] = [];
    for (const v of live) {
      if (rng.bool(0.2)) out.push({ value: deadPool(), dead: true });
      out.push({ value: v });
    }
    if (rng.bool(0.2)) out.push({ value: deadPool(), dead: true });
    return out;
  };

  const toys: PlainToy[] = [];
  for (let i = 0; i < sizes.toys; i++) {
    const t: PlainToy = { _key: `_toy${i}`, label: rng.pick(['ball', 'Ball', 'bone', 'rope', 'squeaky', '']), price: maybe(0.25, () => rng.int(0, 40) / 2) };
    toys.push(t);
    store.putObject('Toy', { id: t._key, values: { label: t.label, price: t.price }, lists: {} });
  }

  const dogs: PlainDog[] = [];
  const dogRecords: ObjectRecord[] = [];
  for (let i = 0; i < sizes.dogs; i++) {
    const d: PlainDog = { id: i + 1, name: rng.pick(DOG_NAMES), age: rng.int(0, 15), weight: maybe(0.2, () => rng.int(10, 400) / 10), owner: null, toys: [], owners: [] };
    const nToys = rng.int(0, 3);
    for (let k = 0; k < nToys; k++) d.toys.push(rng.pick(toys));
    const values: Record<string, Value> = { name: d.name, age: d.age, weight: d.weight };
    if (rng.bool(0.1)) {
      delete values.age;
      d.age = 0;
    }
    const rec: ObjectRecord = { id: d.id, values, lists: { toys: list(d.toys.map((t) => t._key), () => rng.pick(toys)._key) } };
    dogs.push(d);
    dogRecords.push(rec);
  }

  const persons: PlainPerson[] = [];
  const personRecords: ObjectRecord[] = [];
  for (let i = 0; i < sizes.persons; i++) {
    const p: PlainPerson = {
      id: i + 1,
      name: rng.pick(NAMES),
      nick: maybe(0.3, () => rng.pick(NAMES)),
      age: rng.int(-5, 80),
      score: maybe(0.2, () => rng.int(-5000, 15000) / 100),
      active: rng.bool(),
      born: new Date(Date.UTC(1950, 0, 1) + rng.int(0, 80 * 365) * DAY + rng.int(0, DAY - 1)),
      seen: maybe(0.3, () => new Date(Date.UTC(2020, 0, 1) + rng.int(-1000, 1000) * DAY)),
      blob: maybe(0.3, () => Uint8Array.from({ length: rng.int(0, 3) }, () => rng.int(1, 3))),
      oid: maybe(0.3, () => rng.pick(OIDS)),
      uid: maybe(0.3, () => rng.pick(UUIDS).replace(/-/g, '')),
      dec: null,
      mix: rng.pick<() => PlainPerson['mix']>([() => null, () => rng.int(-3, 10), () => rng.pick(['Ann', 'ann', 'Bob', 'Zoë']), () => rng.bool(), () => new Date(Date.UTC(2000, 0, rng.int(1, 28)))])(),
      best: maybe(0.3, () => rng.pick(dogs)),
      dogs: Array.from({ length: rng.int(0, 4) }, () => rng.pick(dogs)),
      tags: Array.from({ length: rng.int(0, 4) }, () => rng.pick(TAGS)),
      nums: Array.from({ length: rng.int(0, 5) }, () => rng.int(-10, 10)),
      friends: [],
    };
    if (rng.bool(0.1)) p.score = p.age;
    if (rng.bool(0.1)) p.nick = p.name;
    // Fixed links that the conformance cases' object arguments refer to.
    if (i < 2) p.best = dogs[2]!;
    const decText = maybe(0.3, () => rng.pick(DECIMALS));
    p.dec = decText === null ? null : Number(decText);
    const values: Record<string, Value> = {
      name: p.name,
      nick: p.nick,
      age: p.age,
      score: p.score,
      active: p.active,
      born: p.born,
      seen: p.seen,
      blob: p.blob,
      oid: p.oid === null ? null : new ObjectId(p.oid),
      uid: p.uid === null ? null : new UUID(p.uid),
      dec: decText === null ? null : new Decimal128(decText),
      mix: p.mix,
      best: p.best?.id ?? null,
    };
    // Unset properties read as zero values.
    const unset = <K extends keyof PlainPerson>(key: K, zero: PlainPerson[K]) => {
      if (!rng.bool(0.08)) return;
      delete values[key];
      p[key] = zero;
    };
    unset('name', '');
    unset('age', 0);
    unset('active', false);
    unset('born', new Date(0));
    unset('nick', null);
    persons.push(p);
    personRecords.push({
      id: p.id,
      values,
      lists: {
        dogs: list(p.dogs.map((d) => d.id), () => rng.pick(dogs).id),
        tags: list(p.tags, () => rng.pick(TAGS)),
        nums: list(p.nums, () => rng.int(-10, 10)),
        friends: [],
      },
    });
  }
  // Links back: friends among persons, dog owners.
  for (let i = 0; i < persons.length; i++) {
    const p = persons[i]!;
    p.friends = Array.from({ length: rng.int(0, 3) }, () => rng.pick(persons));
    if (rng.bool(0.1)) p.friends.push(p);
    personRecords[i]!.lists.friends = list(p.friends.map((f) => f.id), () => rng.pick(persons).id);
  }
  for (let i = 0; i < dogs.length; i++) {
    const d = dogs[i]!;
    const keepers = persons.filter((p) => p.best === d || p.dogs.includes(d));
    d.owner = i === 4 ? persons[4]! : keepers.length > 0 && rng.bool(0.6) ? rng.pick(keepers) : maybe(0.3, () => rng.pick(persons));
    dogRecords[i]!.values.owner = d.owner?.id ?? null;
    d.owners = persons.filter((p) => p.dogs.includes(d));
  }
  for (const r of dogRecords) store.putObject('Dog', r);
  for (const r of personRecords) store.putObject('Person', r);
  return { store, persons, dogs, toys };
}

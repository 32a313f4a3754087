import { MemoryState, ObjectRecord } from '../src/changeset/state';
import { normalizeSchema } from '../src/model';
import { compileQuery } from '../src/query';
import { flag, fmt } from './stats';

/**
 * Compiled queries over N objects in a MemoryState next to the equivalent hand-written JavaScript
 * filter over plain objects (nested objects for links, arrays for lists), in the same run. The
 * ratio is the price of reading replica records (zero values, key lookups for links, tombstone
 * checks) through closures instead of direct property access.
 */
interface PlainDog {
  age: number;
  weight: number;
}
interface PlainPerson {
  name: string;
  age: number;
  active: boolean;
  score: number | null;
  best: PlainDog | null;
  dogs: PlainDog[];
  tags: string[];
}

const NAMES = ['Ann', 'anna', 'Bob', 'Émile', 'Zoë', 'Carl', 'dave', 'Eve'];

type Hand = (r: ObjectRecord, s: MemoryState) => boolean;
const liveDogs = (r: ObjectRecord, s: MemoryState) => (r.lists.dogs ?? []).filter((e) => !e.dead).map((e) => s.getObject('Dog', e.value as number)!);

/** `records`: the same filter hand-written over replica records, to separate store lookups from engine overhead. */
const CASES: Array<{ query: string; plain: (o: PlainPerson) => boolean; records?: Hand }> = [
  { query: 'age > 40 AND active == true', plain: (o) => o.age > 40 && o.active },
  { query: 'score != null AND score < 10.5', plain: (o) => o.score !== null && o.score < 10.5 },
  { query: "name BEGINSWITH[c] 'an'", plain: (o) => o.name.toLowerCase().startsWith('an') },
  { query: "name IN {'Bob', 'Eve', 'dave'}", plain: (o) => o.name === 'Bob' || o.name === 'Eve' || o.name === 'dave' },
  { query: "tags == 'red'", plain: (o) => o.tags.includes('red') },
  {
    query: 'best.weight > 20',
    plain: (o) => o.best !== null && o.best.weight > 20,
    records: (r, s) => r.values.best != null && (s.getObject('Dog', r.values.best as number)!.values.weight as number) > 20,
  },
  { query: 'ANY dogs.age > 12', plain: (o) => o.dogs.some((d) => d.age > 12), records: (r, s) => liveDogs(r, s).some((d) => (d.values.age as number) > 12) },
  { query: 'dogs.@count >= 2 AND dogs.@avg.age > 7', plain: (o) => o.dogs.length >= 2 && o.dogs.reduce((a, d) => a + d.age, 0) / o.dogs.length > 7 },
  { query: 'SUBQUERY(dogs, $d, $d.age > 5 AND $d.weight < 30).@count > 1', plain: (o) => o.dogs.filter((d) => d.age > 5 && d.weight < 30).length > 1 },
];

export async function main(argv: string[]): Promise<void> {
  const n = flag(argv, 'objects', 100_000);
  const runs = flag(argv, 'runs', 5);
  const { store, plain } = build(n);
  const records: ObjectRecord[] = [...store.objects('Person')];
  console.log(`query: ${n} Person objects, ${[...store.objects('Dog')].length} Dog objects, best of ${runs} runs`);
  console.log(`${'query'.padEnd(62)} ${'compile'.padStart(8)} ${'engine'.padStart(9)} ${'plain JS'.padStart(9)} ${'ratio'.padStart(6)}  matches`);
  for (const c of CASES) {
    const t0 = performance.now();
    const q = compileQuery(store, 'Person', c.query);
    const compileMs = performance.now() - t0;
    let engineHits = 0;
    const engineMs = best(runs, () => {
      engineHits = 0;
      for (let i = 0; i < records.length; i++) if (q.matches(records[i]!, store)) engineHits++;
    });
    let plainHits = 0;
    const plainMs = best(runs, () => {
      plainHits = 0;
      for (let i = 0; i < plain.length; i++) if (c.plain(plain[i]!)) plainHits++;
    });
    if (engineHits !== plainHits) throw new Error(`'${c.query}': engine found ${engineHits}, plain JS ${plainHits}`);
    let extra = '';
    if (c.records) {
      const hand = c.records;
      const handMs = best(runs, () => {
        for (let i = 0; i < records.length; i++) hand(records[i]!, store);
      });
      extra = `  (hand-written over records: ${fmt(handMs, 2)}ms, engine ${fmt(engineMs / handMs, 1)}x that)`;
    }
    console.log(`${c.query.padEnd(62)} ${fmt(compileMs, 3).padStart(6)}ms ${fmt(engineMs, 2).padStart(7)}ms ${fmt(plainMs, 2).padStart(7)}ms ${fmt(engineMs / plainMs, 1).padStart(5)}x  ${engineHits}${extra}`);
  }
  const sortQuery = compileQuery(store, 'Person', 'age > 20 SORT(best.weight DESC, name ASC) LIMIT(100)');
  const matched = records.filter((r) => sortQuery.matches(r, store));
  const sortMs = best(runs, () => sortQuery.post(matched, store));
  const plainSortMs = best(runs, () =>
    plain
      .filter((o) => o.age > 20)
      .sort((a, b) => (b.best?.weight ?? -Infinity) - (a.best?.weight ?? -Infinity) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, 100),
  );
  console.log(`${'SORT(best.weight DESC, name ASC) LIMIT(100) over age > 20'.padEnd(62)} ${''.padStart(8)} ${fmt(sortMs, 2).padStart(7)}ms ${fmt(plainSortMs, 2).padStart(7)}ms ${fmt(sortMs / plainSortMs, 1).padStart(5)}x  ${matched.length} sorted`);
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

/** Deterministic data (a linear congruential sequence), the same on both sides. */
function build(n: number): { store: MemoryState; plain: PlainPerson[] } {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const store = new MemoryState();
  for (const s of normalizeSchema([
    { name: 'Person', primaryKey: 'id', properties: { id: 'int', name: 'string', age: 'int', active: 'bool', score: 'double?', best: 'Dog', dogs: 'Dog[]', tags: 'string[]' } },
    { name: 'Dog', primaryKey: 'id', properties: { id: 'int', age: 'int', weight: 'double' } },
  ])) {
    store.putSchema(s);
  }
  const dogCount = Math.max(1, Math.floor(n / 2));
  const dogs: PlainDog[] = [];
  for (let i = 0; i < dogCount; i++) {
    const d = { age: int(0, 15), weight: int(20, 400) / 10 };
    dogs.push(d);
    store.putObject('Dog', { id: i, values: { ...d }, lists: {} });
  }
  const plain: PlainPerson[] = [];
  for (let i = 0; i < n; i++) {
    const bestId = rand() < 0.3 ? null : int(0, dogCount - 1);
    const dogIds = Array.from({ length: int(0, 4) }, () => int(0, dogCount - 1));
    const p: PlainPerson = {
      name: NAMES[int(0, NAMES.length - 1)]!,
      age: int(0, 90),
      active: rand() < 0.5,
      score: rand() < 0.2 ? null : int(0, 2000) / 100,
      best: bestId === null ? null : dogs[bestId]!,
      dogs: dogIds.map((id) => dogs[id]!),
      tags: Array.from({ length: int(0, 3) }, () => ['red', 'green', 'blue'][int(0, 2)]!),
    };
    plain.push(p);
    store.putObject('Person', {
      id: i,
      values: { name: p.name, age: p.age, active: p.active, score: p.score, best: bestId },
      lists: { dogs: dogIds.map((id) => ({ value: id })), tags: p.tags.map((t) => ({ value: t })) },
    });
  }
  return { store, plain };
}

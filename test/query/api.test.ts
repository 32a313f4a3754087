import { MemoryState, ObjectRecord } from '../../src/changeset/state';
import { TributaryError } from '../../src/errors';
import { normalizeSchema } from '../../src/model';
import { aggregate, compileQuery, LinkArg, parseQuery, runQuery, sortRecords } from '../../src/query';

function makeStore(): MemoryState {
  const s = new MemoryState();
  for (const sc of normalizeSchema([
    { name: 'Person', primaryKey: 'name', properties: { name: 'string', age: 'int?', born: 'date?', pet: 'Pet', pets: 'Pet[]' } },
    { name: 'Pet', properties: { kind: 'string', weight: 'double' } },
  ])) {
    s.putSchema(sc);
  }
  s.putObject('Pet', { id: '_cat', values: { kind: 'cat', weight: 4 }, lists: {} });
  s.putObject('Pet', { id: '_dog', values: { kind: 'dog', weight: 20 }, lists: {} });
  s.putObject('Person', { id: 'ann', values: { age: 30, born: new Date(1000), pet: '_dog' }, lists: { pets: [{ value: '_cat' }, { value: '_dog' }] } });
  s.putObject('Person', { id: 'bob', values: { age: null, pet: '_cat' }, lists: { pets: [{ value: '_dog', dead: true }] } });
  s.putObject('Person', { id: 'cid', values: { age: 30, born: new Date(500) }, lists: {} });
  s.putObject('Person', { id: "x' OR TRUEPREDICATE", values: { age: 1 }, lists: {} });
  return s;
}

const ids = (rs: ObjectRecord[]) => rs.map((r) => r.id);

describe('arguments are values, never query text', () => {
  const s = makeStore();
  const run = (q: string, args: unknown[]) => ids(runQuery(compileQuery(s, 'Person', q, args), s, s.objects('Person')));

  it('matches a string argument that looks like query text literally', () => {
    expect(run('name == $0', ["x' OR TRUEPREDICATE"])).toEqual(["x' OR TRUEPREDICATE"]);
    expect(run('name == $0', ["ann' OR TRUEPREDICATE OR name == '"])).toEqual([]);
    expect(run('name == $0', ['ann" || TRUEPREDICATE'])).toEqual([]);
    expect(run('name BEGINSWITH $0', ['x\' OR'])).toEqual(["x' OR TRUEPREDICATE"]);
    expect(run('name == $0 OR age == $1', ['$1', 999])).toEqual([]);
  });

  it('does not substitute $0 inside string literals', () => {
    expect(run("name == '$0'", ['ann'])).toEqual([]);
    expect(run('name == $0', ['ann'])).toEqual(['ann']);
  });

  it('treats an array argument element as a value too', () => {
    expect(run('name IN $0', [["x' OR TRUEPREDICATE", 'bob']])).toEqual(['bob', "x' OR TRUEPREDICATE"]);
    expect(run('name IN $0', [['TRUEPREDICATE']])).toEqual([]);
  });

  it('binds objects passed as LinkArg by key, with string keys of types without a primary key', () => {
    expect(run('pet == $0', [new LinkArg('Pet', '_cat')])).toEqual(['bob']);
    expect(run('pets == $0', [new LinkArg('Pet', '_dog')])).toEqual(['ann']); // bob's link to the dog is a tombstone
    expect(run('pet IN $0', [[new LinkArg('Pet', '_cat'), new LinkArg('Pet', '_dog')]])).toEqual(['ann', 'bob']);
  });
});

describe('compiled queries', () => {
  it('compiles once and runs against the current data', () => {
    const s = makeStore();
    const q = compileQuery(s, 'Person', 'age >= 30 AND pet.weight > 10');
    expect(ids([...s.objects('Person')].filter((r) => q.matches(r, s)))).toEqual(['ann']);
    s.getObject('Person', 'cid')!.values.pet = '_dog';
    s.getObject('Pet', '_dog')!.values.weight = 3;
    expect(ids([...s.objects('Person')].filter((r) => q.matches(r, s)))).toEqual([]);
    expect(q.hasPostClauses).toBe(false);
    expect(q.type).toBe('Person');
  });

  it('applies post clauses in the order written', () => {
    const s = makeStore();
    const q = compileQuery(s, 'Person', 'TRUEPREDICATE SORT(age DESC, name ASC) LIMIT(2)');
    expect(q.hasPostClauses).toBe(true);
    expect(ids(q.post([...s.objects('Person')], s))).toEqual(['ann', 'cid']);
    const q2 = compileQuery(s, 'Person', 'TRUEPREDICATE DISTINCT(age) SORT(name DESC)');
    expect(ids(q2.post([...s.objects('Person')], s))).toEqual(["x' OR TRUEPREDICATE", 'bob', 'ann']);
  });

  it('treats the primary key as a property', () => {
    const s = makeStore();
    expect(ids(runQuery(compileQuery(s, 'Person', "name BEGINSWITH 'b' OR name == 'cid'"), s, s.objects('Person')))).toEqual(['bob', 'cid']);
  });

  it('parses into an AST with positions', () => {
    const ast = parseQuery('age > 3 SORT(age DESC)');
    expect(ast.predicate).toMatchObject({ kind: 'compare', op: '>', left: { kind: 'keypath', segments: [{ name: 'age', at: false, offset: 0 }] }, right: { kind: 'literal', type: 'number', text: '3' } });
    expect(ast.post).toEqual([{ kind: 'sort', keys: [{ path: expect.objectContaining({ kind: 'keypath' }), descending: true }], offset: 8 }]);
  });
});

describe('LIKE patterns', () => {
  it('treats regular-expression characters literally and only * and ? as wildcards', () => {
    const s = makeStore();
    const run = (pattern: string) => ids(runQuery(compileQuery(s, 'Person', 'name LIKE $0', [pattern]), s, s.objects('Person')));
    expect(run("x' OR *")).toEqual(["x' OR TRUEPREDICATE"]);
    expect(run('a.n')).toEqual([]);
    expect(run('?n?')).toEqual(['ann']);
    expect(run('*(*')).toEqual([]);
    expect(run('[ab]*')).toEqual([]);
    expect(run('*E')).toEqual(["x' OR TRUEPREDICATE"]);
    expect(run('b\\?b')).toEqual([]);
  });
});

describe('sortRecords', () => {
  const s = makeStore();
  const all = [...s.objects('Person')];

  it('sorts stably by several key paths, nulls first, through links', () => {
    expect(ids(sortRecords(s, 'Person', all, [['age', false]]))).toEqual(['bob', "x' OR TRUEPREDICATE", 'ann', 'cid']);
    expect(ids(sortRecords(s, 'Person', all, [['age', true]]))).toEqual(['ann', 'cid', "x' OR TRUEPREDICATE", 'bob']);
    expect(ids(sortRecords(s, 'Person', all, [['pet.weight', true], ['name', true]]))).toEqual(['ann', 'bob', "x' OR TRUEPREDICATE", 'cid']);
    expect(ids(sortRecords(s, 'Person', all, [['pets.@count', false]]))).toEqual(['bob', 'cid', "x' OR TRUEPREDICATE", 'ann']);
    expect(ids(sortRecords(s, 'Person', all, []))).toEqual(ids(all));
  });

  it('rejects key paths through lists and unknown properties', () => {
    expect(() => sortRecords(s, 'Person', all, [['pets.kind', false]])).toThrow('goes through a list');
    expect(() => sortRecords(s, 'Person', all, [['nope', false]])).toThrow("'Person' has no property 'nope'");
    expect(() => sortRecords(s, 'Person', all, [['', false]])).toThrow(TributaryError);
  });
});

describe('aggregate', () => {
  const s = makeStore();
  const all = [...s.objects('Person')];

  it('computes min, max, sum and avg skipping nulls', () => {
    expect(aggregate(s, 'Person', all, 'min', 'age')).toBe(1);
    expect(aggregate(s, 'Person', all, 'max', 'age')).toBe(30);
    expect(aggregate(s, 'Person', all, 'sum', 'age')).toBe(61);
    expect(aggregate(s, 'Person', all, 'avg', 'age')).toBeCloseTo(61 / 3);
    expect(aggregate(s, 'Person', all, 'max', 'pet.weight')).toBe(20);
  });

  it('handles dates and empty collections as realm-js does', () => {
    expect(aggregate(s, 'Person', all, 'min', 'born')).toEqual(new Date(500));
    expect(aggregate(s, 'Person', all, 'max', 'born')).toEqual(new Date(1000));
    expect(aggregate(s, 'Person', [], 'sum', 'age')).toBe(0);
    expect(aggregate(s, 'Person', [], 'avg', 'age')).toBeUndefined();
    expect(aggregate(s, 'Person', [], 'min', 'age')).toBeUndefined();
  });

  it('rejects properties it cannot aggregate', () => {
    expect(() => aggregate(s, 'Person', all, 'sum', 'name')).toThrow('operation not supported for string properties');
    expect(() => aggregate(s, 'Person', all, 'avg', 'born')).toThrow('operation not supported for date properties');
    expect(() => aggregate(s, 'Person', all, 'sum', 'pets')).toThrow('not a single numeric');
    expect(() => aggregate(s, 'Person', all, 'sum', 'nope')).toThrow("'Person' has no property 'nope'");
  });
});

import { Changeset, Instruction, MemoryState, apply, canonicalState } from '../../src/changeset';
import { TributaryError } from '../../src/errors';
import { transform } from '../../src/merge';

const SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'Person',
    primaryKey: 'id',
    properties: [
      { name: 'id', type: 'int', optional: false },
      { name: 'n', type: 'int', optional: false },
      { name: 'm', type: 'int', optional: true },
      { name: 's', type: 'string', optional: false },
      { name: 'best', type: 'object', objectType: 'Person', optional: true },
      { name: 'pet', type: 'object', objectType: 'Dog', optional: true },
      { name: 'friends', type: 'list', objectType: 'Person', optional: false },
      { name: 'nums', type: 'list', objectType: 'int', optional: false },
    ],
  },
  {
    op: 'AddType',
    type: 'Dog',
    primaryKey: null,
    properties: [
      { name: 'name', type: 'string', optional: false },
      { name: 'pals', type: 'list', objectType: 'Dog', optional: false },
    ],
  },
];

const nums = (prior: number) => ({ type: 'Person', id: 1, property: 'nums', prior });
const friends = (prior: number) => ({ type: 'Person', id: 1, property: 'friends', prior });

/** Person 1 (n 5, m 1, nums [10,20,30,40], friends [2,3]), Persons 2 and 3, Dog _d1. */
function initial(): MemoryState {
  const s = new MemoryState();
  apply(s, [
    ...SCHEMA,
    { op: 'Create', type: 'Person', id: 2, values: {} },
    { op: 'Create', type: 'Person', id: 3, values: {} },
    { op: 'Create', type: 'Person', id: 1, values: { n: 5, m: 1, s: 'a' } },
    { op: 'Create', type: 'Dog', id: '_d1', values: { name: 'rex' } },
    ...[10, 20, 30, 40].map((value, i): Instruction => ({ op: 'ListInsert', ...nums(i), index: i, value })),
    { op: 'ListInsert', ...friends(0), index: 0, value: 2 },
    { op: 'ListInsert', ...friends(1), index: 1, value: 3 },
  ]);
  return s;
}

const EARLY = { timestamp: 100, fileIdent: 1 };
const LATE = { timestamp: 200, fileIdent: 2 };

/** Merges A and B both ways, checks they converge, and returns the merged state. */
function merge(a: Instruction[], b: Instruction[], aTime = EARLY, bTime = LATE) {
  const S = initial();
  const A: Changeset = { instructions: a, ...aTime };
  const B: Changeset = { instructions: b, ...bTime };
  const [a1, b1] = transform(A, B, S);
  const [b2, a2] = transform(B, A, S);
  expect([a2, b2]).toEqual([a1, b1]);
  const viaA = S.clone();
  apply(viaA, a);
  apply(viaA, b1);
  const viaB = S.clone();
  apply(viaB, b);
  apply(viaB, a1);
  expect(canonicalState(viaA)).toEqual(canonicalState(viaB));
  return { state: viaA, a1, b1 };
}

const person = (s: MemoryState, id: number) => s.getObject('Person', id);
const list = (s: MemoryState, property: string, id = 1) => (person(s, id)?.lists[property] ?? []).map((e) => (e.dead ? `dead:${String(e.value)}` : e.value));

describe('Set vs Set', () => {
  test('the later write wins, whichever side it is on', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 7, s: 'x' } }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 8 } }];
    expect(person(merge(a, b).state, 1)!.values).toMatchObject({ n: 8, s: 'x' });
    expect(person(merge(a, b, LATE, EARLY).state, 1)!.values).toMatchObject({ n: 7, s: 'x' });
  });

  test('equal timestamps are ordered by file ident', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 7 } }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 8 } }];
    expect(person(merge(a, b, { timestamp: 5, fileIdent: 9 }, { timestamp: 5, fileIdent: 3 }).state, 1)!.values.n).toBe(7);
  });

  test('a real write beats a default whatever the time', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 7 } }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 0 }, defaults: ['n'] }];
    const { state, b1 } = merge(a, b);
    expect(person(state, 1)!.values.n).toBe(7);
    expect(b1).toEqual([]);
  });

  test('two defaults: the later wins', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 1 }, defaults: ['n'] }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 2 }, defaults: ['n'] }];
    expect(person(merge(a, b).state, 1)!.values.n).toBe(2);
  });
});

describe('Create', () => {
  test('Create vs Create of the same key: one object, values merged as Sets', () => {
    const a: Instruction[] = [{ op: 'Create', type: 'Person', id: 9, values: { n: 1, s: 'early' } }];
    const b: Instruction[] = [{ op: 'Create', type: 'Person', id: 9, values: { n: 2, m: 3 } }];
    const { state } = merge(a, b);
    expect([...state.objects('Person')].filter((r) => r.id === 9)).toHaveLength(1);
    expect(person(state, 9)!.values).toEqual({ n: 2, s: 'early', m: 3 });
  });

  test('a Create of an existing object acts as a Set of its values', () => {
    const a: Instruction[] = [{ op: 'Create', type: 'Person', id: 1, values: { n: 50 } }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 60 } }];
    expect(person(merge(a, b, LATE, EARLY).state, 1)!.values.n).toBe(50);
    expect(person(merge(a, b).state, 1)!.values.n).toBe(60);
  });

  test('a default value in a Create loses to a concurrent real create value', () => {
    const a: Instruction[] = [{ op: 'Create', type: 'Person', id: 9, values: { n: 0, s: 'x' }, defaults: ['n', 's'] }];
    const b: Instruction[] = [{ op: 'Create', type: 'Person', id: 9, values: { n: 4 } }];
    expect(person(merge(a, b, LATE, EARLY).state, 9)!.values).toEqual({ n: 4, s: 'x' });
  });
});

describe('AddInteger', () => {
  test('AddInteger vs AddInteger: both kept', () => {
    const a: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 2 }];
    const b: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 3 }];
    expect(person(merge(a, b).state, 1)!.values.n).toBe(10);
  });

  test('an earlier Set absorbs the delta', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 100 } }];
    const b: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 3 }];
    const { state, a1 } = merge(a, b);
    expect(person(state, 1)!.values.n).toBe(103);
    expect(a1).toEqual([{ op: 'Set', type: 'Person', id: 1, values: { n: 103 } }]);
  });

  test('a later Set drops the AddInteger', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 100 } }];
    const b: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 3 }];
    const { state, b1 } = merge(a, b, LATE, EARLY);
    expect(person(state, 1)!.values.n).toBe(100);
    expect(b1).toEqual([]);
  });

  test('an earlier Set to null stays null', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { m: null } }];
    const b: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'm', delta: 3 }];
    expect(person(merge(a, b).state, 1)!.values.m).toBeNull();
  });

  test('a default Set absorbs the delta even when it is later', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 0 }, defaults: ['n'] }];
    const b: Instruction[] = [{ op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 3 }];
    expect(person(merge(a, b, LATE, EARLY).state, 1)!.values.n).toBe(3);
  });
});

describe('Delete', () => {
  test('delete wins over Set, AddInteger and list instructions on the object', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 1 }];
    const b: Instruction[] = [
      { op: 'Set', type: 'Person', id: 1, values: { n: 9 } },
      { op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 1 },
      { op: 'ListInsert', ...nums(4), index: 0, value: 1 },
    ];
    const { state, b1 } = merge(a, b, LATE, EARLY);
    expect(person(state, 1)).toBeUndefined();
    expect(b1).toEqual([]);
  });

  test('delete wins over a concurrent Create of the same object, even an earlier delete', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    const b: Instruction[] = [{ op: 'Create', type: 'Person', id: 2, values: { n: 4 } }];
    expect(person(merge(a, b, EARLY, LATE).state, 2)).toBeUndefined();
  });

  test('Delete vs Delete: one delete', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    const b: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    const { state, a1, b1 } = merge(a, b);
    expect(person(state, 2)).toBeUndefined();
    expect([a1, b1]).toEqual([[], []]);
  });

  test('a delete-and-recreate on one side survives a plain delete on the other', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    const b: Instruction[] = [
      { op: 'Delete', type: 'Person', id: 2 },
      { op: 'Create', type: 'Person', id: 2, values: { n: 42 } },
    ];
    expect(person(merge(a, b).state, 2)!.values.n).toBe(42);
  });

  test('a link set to a concurrently deleted object lands as null', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 3 }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { best: 3, n: 6 } }];
    const { state, b1 } = merge(a, b);
    expect(person(state, 1)!.values).toMatchObject({ best: null, n: 6 });
    expect(b1).toEqual([{ op: 'Set', type: 'Person', id: 1, values: { best: null, n: 6 } }]);
  });

  test('a link inserted into a list lands as a tombstone and keeps its wire index', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 3 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...friends(2), index: 0, value: 3 }];
    const { state, b1 } = merge(a, b);
    expect(list(state, 'friends')).toEqual(['dead:3', 2, 'dead:3']);
    expect(b1).toEqual([{ op: 'ListInsert', ...friends(2), index: 0, value: 3, dead: true }]);
  });

  test('a ListSet of a link to a deleted object becomes a tombstone', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 3 }];
    const b: Instruction[] = [{ op: 'ListSet', ...friends(2), index: 0, value: 3 }];
    expect(list(merge(a, b).state, 'friends')).toEqual(['dead:3', 'dead:3']);
  });

  test('re-creating the deleted object does not revive the concurrent link', () => {
    const a: Instruction[] = [
      { op: 'Delete', type: 'Person', id: 3 },
      { op: 'Create', type: 'Person', id: 3, values: { n: 7 } },
    ];
    const b: Instruction[] = [
      { op: 'Set', type: 'Person', id: 1, values: { best: 3 } },
      { op: 'ListInsert', ...friends(2), index: 2, value: 3 },
    ];
    const { state } = merge(a, b);
    expect(person(state, 1)!.values.best).toBeNull();
    expect(list(state, 'friends')).toEqual([2, 'dead:3', 'dead:3']);
    expect(person(state, 3)!.values.n).toBe(7);
  });

  test('a link to an object created and deleted on one side, created and linked on the other', () => {
    const a: Instruction[] = [
      { op: 'Create', type: 'Person', id: 8, values: {} },
      { op: 'Delete', type: 'Person', id: 8 },
    ];
    const b: Instruction[] = [
      { op: 'Create', type: 'Person', id: 8, values: { n: 1 } },
      { op: 'Set', type: 'Person', id: 1, values: { best: 8 } },
    ];
    const { state } = merge(a, b);
    expect(person(state, 8)).toBeUndefined();
    expect(person(state, 1)!.values.best).toBeNull();
  });
});

describe('Clear(type)', () => {
  test('clear wins over every instruction on its objects, Creates included, and nulls links to them', () => {
    const a: Instruction[] = [{ op: 'Clear', type: 'Dog' }];
    const b: Instruction[] = [
      { op: 'Set', type: 'Dog', id: '_d1', values: { name: 'max' } },
      { op: 'Create', type: 'Dog', id: '_d2', values: { name: 'new' } },
      { op: 'Set', type: 'Person', id: 1, values: { pet: '_d2' } },
      { op: 'ListInsert', type: 'Dog', id: '_d2', property: 'pals', prior: 0, index: 0, value: '_d1' },
    ];
    const { state, b1 } = merge(a, b, LATE, EARLY);
    expect([...state.objects('Dog')]).toEqual([]);
    expect(person(state, 1)!.values.pet).toBeNull();
    expect(b1).toEqual([{ op: 'Set', type: 'Person', id: 1, values: { pet: null } }]);
  });

  test('Clear vs Clear: one clear; objects created after a clear survive', () => {
    const a: Instruction[] = [{ op: 'Clear', type: 'Dog' }];
    const b: Instruction[] = [
      { op: 'Clear', type: 'Dog' },
      { op: 'Create', type: 'Dog', id: '_d3', values: { name: 'after' } },
    ];
    const { state } = merge(a, b);
    expect([...state.objects('Dog')].map((r) => r.id)).toEqual(['_d3']);
  });
});

describe('lists', () => {
  test('ListInsert vs ListInsert at the same index: the earlier comes first', () => {
    const a: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 1, value: 100 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 1, value: 200 }];
    expect(list(merge(a, b).state, 'nums')).toEqual([10, 100, 200, 20, 30, 40]);
    expect(list(merge(a, b, LATE, EARLY).state, 'nums')).toEqual([10, 200, 100, 20, 30, 40]);
  });

  test('ListInsert vs ListInsert: indices shift and priors follow', () => {
    const a: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 0, value: 1 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 3, value: 2 }];
    const { state, a1, b1 } = merge(a, b);
    expect(list(state, 'nums')).toEqual([1, 10, 20, 30, 2, 40]);
    expect(a1).toEqual([{ op: 'ListInsert', ...nums(5), index: 0, value: 1 }]);
    expect(b1).toEqual([{ op: 'ListInsert', ...nums(5), index: 4, value: 2 }]);
  });

  test('ListErase vs ListInsert', () => {
    const a: Instruction[] = [{ op: 'ListErase', ...nums(4), index: 1 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 2, value: 99 }];
    const { state, a1, b1 } = merge(a, b);
    expect(list(state, 'nums')).toEqual([10, 99, 30, 40]);
    expect(a1).toEqual([{ op: 'ListErase', ...nums(5), index: 1 }]);
    expect(b1).toEqual([{ op: 'ListInsert', ...nums(3), index: 1, value: 99 }]);
  });

  test('ListErase vs ListErase of the same index: one erase', () => {
    const a: Instruction[] = [{ op: 'ListErase', ...nums(4), index: 1 }];
    const b: Instruction[] = [{ op: 'ListErase', ...nums(4), index: 1 }];
    const { state, a1, b1 } = merge(a, b);
    expect(list(state, 'nums')).toEqual([10, 30, 40]);
    expect([a1, b1]).toEqual([[], []]);
  });

  test('ListErase vs ListSet of the same element: the erase wins even when earlier', () => {
    const a: Instruction[] = [{ op: 'ListErase', ...nums(4), index: 2 }];
    const b: Instruction[] = [
      { op: 'ListSet', ...nums(4), index: 2, value: 77 },
      { op: 'ListSet', ...nums(4), index: 3, value: 88 },
    ];
    expect(list(merge(a, b).state, 'nums')).toEqual([10, 20, 88]);
  });

  test('ListSet vs ListSet of the same element: the later wins', () => {
    const a: Instruction[] = [{ op: 'ListSet', ...nums(4), index: 0, value: 1 }];
    const b: Instruction[] = [{ op: 'ListSet', ...nums(4), index: 0, value: 2 }];
    expect(list(merge(a, b).state, 'nums')).toEqual([2, 20, 30, 40]);
  });

  test('ListMove vs ListMove of the same element: the later wins', () => {
    const a: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 0, to: 3 }];
    const b: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 0, to: 1 }];
    expect(list(merge(a, b).state, 'nums')).toEqual([20, 10, 30, 40]);
    expect(list(merge(a, b, LATE, EARLY).state, 'nums')).toEqual([20, 30, 40, 10]);
  });

  test('ListMove vs ListMove to the same place: ordered by time', () => {
    const a: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 0, to: 3 }];
    const b: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 1, to: 3 }];
    expect(list(merge(a, b).state, 'nums')).toEqual([30, 40, 10, 20]);
    expect(list(merge(a, b, LATE, EARLY).state, 'nums')).toEqual([30, 40, 20, 10]);
  });

  test('ListMove vs ListMove of different elements: index arithmetic', () => {
    const a: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 3, to: 0 }];
    const b: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 1, to: 2 }];
    expect(list(merge(a, b).state, 'nums')).toEqual([40, 10, 30, 20]);
  });

  test('ListErase vs ListMove of the same element: the erase follows it, the move is dropped', () => {
    const a: Instruction[] = [{ op: 'ListErase', ...nums(4), index: 0 }];
    const b: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 0, to: 2 }];
    const { state, a1, b1 } = merge(a, b, LATE, EARLY);
    expect(list(state, 'nums')).toEqual([20, 30, 40]);
    expect(a1).toEqual([{ op: 'ListErase', ...nums(4), index: 2 }]);
    expect(b1).toEqual([]);
  });

  test('a ListMove from an index to itself is dropped', () => {
    const a: Instruction[] = [{ op: 'ListMove', ...nums(4), from: 2, to: 2 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...nums(4), index: 0, value: 5 }];
    expect(merge(a, b).a1).toEqual([]);
  });

  test('ListClear wins over concurrent instructions in the list, even when earlier', () => {
    const a: Instruction[] = [
      { op: 'ListClear', ...nums(4) },
      { op: 'ListInsert', ...nums(0), index: 0, value: 1 },
    ];
    const b: Instruction[] = [
      { op: 'ListInsert', ...nums(4), index: 2, value: 9 },
      { op: 'ListMove', ...nums(5), from: 0, to: 4 },
    ];
    const { state, a1, b1 } = merge(a, b);
    expect(list(state, 'nums')).toEqual([1]);
    expect(b1).toEqual([]);
    expect(a1[0]).toEqual({ op: 'ListClear', ...nums(5) });
  });

  test('ListClear vs ListClear: one clear', () => {
    const a: Instruction[] = [{ op: 'ListClear', ...nums(4) }];
    const b: Instruction[] = [
      { op: 'ListClear', ...nums(4) },
      { op: 'ListInsert', ...nums(0), index: 0, value: 3 },
    ];
    const { state, a1 } = merge(a, b);
    expect(list(state, 'nums')).toEqual([3]);
    expect(a1).toEqual([]);
  });

  test('list operations keep indices across tombstones', () => {
    const a: Instruction[] = [{ op: 'Delete', type: 'Person', id: 2 }];
    const b: Instruction[] = [{ op: 'ListInsert', ...friends(2), index: 1, value: 1 }];
    expect(list(merge(a, b).state, 'friends')).toEqual(['dead:2', 1, 3]);
  });
});

describe('schema', () => {
  test('compatible additions of the same type and properties merge', () => {
    const a: Instruction[] = [{ op: 'AddProperties', type: 'Person', properties: [{ name: 'x', type: 'int', optional: false }] }];
    const b: Instruction[] = [
      {
        op: 'AddProperties',
        type: 'Person',
        properties: [
          { name: 'x', type: 'int', optional: false, indexed: true },
          { name: 'y', type: 'string', optional: true },
        ],
      },
      { op: 'Set', type: 'Person', id: 1, values: { x: 3 } },
    ];
    const { state } = merge(a, b);
    const names = state.getSchema('Person')!.properties.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['x', 'y']));
    expect(person(state, 1)!.values.x).toBe(3);
  });

  test('the same new type added on both sides', () => {
    const add = (props: string[]): Instruction[] => [
      { op: 'AddType', type: 'Cat', primaryKey: 'id', properties: [{ name: 'id', type: 'int', optional: false }, ...props.map((name) => ({ name, type: 'string' as const, optional: false }))] },
    ];
    const { state } = merge(add(['a']), add(['b']));
    expect(state.getSchema('Cat')!.properties.map((p) => p.name).sort()).toEqual(['a', 'b', 'id']);
  });

  test('a property added with different shapes is a schema conflict', () => {
    const a: Instruction[] = [{ op: 'AddProperties', type: 'Person', properties: [{ name: 'x', type: 'int', optional: false }] }];
    const b: Instruction[] = [{ op: 'AddProperties', type: 'Person', properties: [{ name: 'x', type: 'int', optional: true }] }];
    expect(() => merge(a, b)).toThrow(expect.objectContaining({ code: 'INVALID_SCHEMA_CHANGE' }));
  });

  test('a type added with different primary keys or link targets is a schema conflict', () => {
    const cat = (primaryKey: string | null, target: string): Instruction => ({
      op: 'AddType',
      type: 'Cat',
      primaryKey,
      properties: [
        { name: 'id', type: 'int', optional: false },
        { name: 'owner', type: 'object', objectType: target, optional: true },
      ],
    });
    let error: unknown;
    try {
      transform({ instructions: [cat('id', 'Person')], ...EARLY }, { instructions: [cat(null, 'Person')], ...LATE }, initial());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('INVALID_SCHEMA_CHANGE');
    expect(() => transform({ instructions: [cat('id', 'Person')], ...EARLY }, { instructions: [cat('id', 'Dog')], ...LATE })).toThrow(/owner/);
  });
});

describe('transform', () => {
  test('unrelated edits pass through untouched', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 1 } }];
    const b: Instruction[] = [{ op: 'Set', type: 'Person', id: 2, values: { n: 2 } }];
    const [a1, b1] = transform({ instructions: a, ...EARLY }, { instructions: b, ...LATE }, initial());
    expect(a1[0]).toBe(a[0]);
    expect(b1[0]).toBe(b[0]);
  });

  test('does not modify its inputs', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 100, best: 3 } }];
    const b: Instruction[] = [
      { op: 'AddInteger', type: 'Person', id: 1, property: 'n', delta: 1 },
      { op: 'Delete', type: 'Person', id: 3 },
    ];
    const copy = JSON.stringify([a, b]);
    merge(a, b);
    expect(JSON.stringify([a, b])).toBe(copy);
  });

  test('large merges stay fast: unrelated edits are indexed, same-list edits pay only the pair rules', () => {
    const sets = (n: number, offset: number): Instruction[] => Array.from({ length: n }, (_, i) => ({ op: 'Set', type: 'Person', id: offset + i, values: { n: i } }));
    const inserts = (n: number, value: number): Instruction[] => Array.from({ length: n }, (_, i) => ({ op: 'ListInsert', ...nums(4 + i), index: i, value }));
    const started = Date.now();
    transform({ instructions: sets(20_000, 0), ...EARLY }, { instructions: sets(20_000, 100_000), ...LATE });
    const [a1, b1] = transform({ instructions: inserts(1000, 1), ...EARLY }, { instructions: inserts(1000, 2), ...LATE });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(a1[999]).toEqual({ op: 'ListInsert', ...nums(2003), index: 999, value: 1 });
    expect(b1[0]).toEqual({ op: 'ListInsert', ...nums(1004), index: 1000, value: 2 });
  });

  test('two changesets with the same discriminant are refused', () => {
    const a: Instruction[] = [{ op: 'Set', type: 'Person', id: 1, values: { n: 1 } }];
    expect(() => transform({ instructions: a, ...EARLY }, { instructions: a, ...EARLY })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

import { MemoryState, apply, canonicalState, type Instruction } from '../../src/changeset';

// An optional int that was never written reads as null; AddInteger must treat it as null (a no-op)
// too, or a replica holding an explicit null and one holding nothing diverge on the same AddInteger.

test('AddInteger on an unset optional int is a no-op, like on an explicit null', () => {
  const schema: Instruction[] = [
    {
      op: 'AddType',
      type: 'C',
      primaryKey: 'id',
      properties: [
        { name: 'id', type: 'int', optional: false },
        { name: 'n', type: 'int', optional: true },
      ],
    },
  ];
  const unset = new MemoryState();
  apply(unset, [...schema, { op: 'Create', type: 'C', id: 1, values: {} }]);
  const explicit = new MemoryState();
  apply(explicit, [...schema, { op: 'Create', type: 'C', id: 1, values: { n: null } }]);
  for (const s of [unset, explicit]) apply(s, [{ op: 'AddInteger', type: 'C', id: 1, property: 'n', delta: 3 }]);
  expect(canonicalState(unset)).toEqual(canonicalState(explicit));
  expect(unset.getObject('C', 1)!.values.n ?? null).toBeNull();
});

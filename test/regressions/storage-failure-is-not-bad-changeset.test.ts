import { BadChangesetError, MemoryState, apply, type Instruction } from '../../src/changeset';
import type { ObjectRecord } from '../../src/changeset/state';

// apply() used to turn every failure into BAD_CHANGESET, which tells a client to reset its replica:
// a full disk under the store made the server answer a good changeset with "reset". Only a
// changeset that is wrong may be BAD_CHANGESET; a failure of the store propagates as itself.

const schema: Instruction[] = [
  { op: 'AddType', type: 'Dog', primaryKey: 'id', properties: [{ name: 'id', type: 'int', optional: false }, { name: 'name', type: 'string', optional: false }] },
];

class FullDisk extends MemoryState {
  failing = false;
  override putObject(type: string, record: ObjectRecord): void {
    if (this.failing) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    super.putObject(type, record);
  }
}

test('a store failure during apply propagates unchanged, not as BAD_CHANGESET', () => {
  const store = new FullDisk();
  apply(store, schema);
  store.failing = true;
  let thrown: unknown;
  try {
    apply(store, [{ op: 'Create', type: 'Dog', id: 1, values: { name: 'Rex' } }]);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).not.toBeInstanceOf(BadChangesetError);
  expect(thrown).toMatchObject({ code: 'SQLITE_FULL', message: 'database or disk is full' });
});

test('a wrong value, a missing object and a bad list index are still BAD_CHANGESET with the instruction index', () => {
  const store = new MemoryState();
  apply(store, schema);
  const cases: [Instruction[], RegExp][] = [
    [[{ op: 'Create', type: 'Dog', id: 1, values: { name: 42 } }], /instruction 0: .*expects string/],
    [[{ op: 'Create', type: 'Dog', id: 2, values: { name: 'a' } }, { op: 'Set', type: 'Dog', id: 3, values: { name: 'b' } }], /instruction 1: no object Dog i?3/],
    [[{ op: 'Create', type: 'Cat', id: 1, values: {} }], /instruction 0: no type Cat/],
  ];
  for (const [instructions, message] of cases) {
    let thrown: unknown;
    try {
      apply(store, instructions);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BadChangesetError);
    expect((thrown as BadChangesetError).code).toBe('BAD_CHANGESET');
    expect((thrown as Error).message).toMatch(message);
  }
});

import Realm from '../../src/index';

// Where a user would act differently, the API says so with a code of its own rather than the
// catch-all INVALID_ARGUMENT: a stale reference (check isValid), a call in the wrong state, an
// existing primary key (pass an update mode), a read-only view, a bad sort or aggregate path.

const schema = [
  { name: 'Dog', primaryKey: 'id', properties: { id: 'int', name: 'string', age: 'int?', toys: 'string[]' } },
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

test('each mistake has the code a user acts on', () => {
  const realm = new Realm({ schema: schema as any, inMemory: true });
  try {
    let rex: any;
    realm.write(() => {
      rex = realm.create('Dog', { id: 1, name: 'Rex', toys: ['ball'] });
    });
    const toys = rex.toys;
    expect(codeOf(() => realm.write(() => realm.create('Dog', { id: 1, name: 'Again' })))).toBe('PRIMARY_KEY_EXISTS');
    expect(codeOf(() => realm.write(() => realm.write(() => undefined)))).toBe('INVALID_STATE');
    expect(codeOf(() => ((realm.objects('Dog') as any)[0] = {}))).toBe('READ_ONLY');
    expect(codeOf(() => realm.objects('Dog').sorted('nope'))).toBe('INVALID_QUERY');
    expect(codeOf(() => realm.objects('Dog').sum('name'))).toBe('INVALID_QUERY');

    realm.write(() => realm.delete(rex));
    expect(codeOf(() => rex.name)).toBe('OBJECT_INVALIDATED');
    expect(codeOf(() => toys.length)).toBe('OBJECT_INVALIDATED');
    expect(codeOf(() => realm.write(() => realm.delete(rex)))).toBe('OBJECT_INVALIDATED');
    // A wrong value is still an argument error.
    expect(codeOf(() => realm.write(() => realm.create('Dog', { id: 2, name: 7 })))).toBe('INVALID_ARGUMENT');
  } finally {
    realm.close();
  }
});

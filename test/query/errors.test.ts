import { TributaryError } from '../../src/errors';
import { compileQuery, LinkArg } from '../../src/query';
import { generateDataset } from './dataset';

const { store } = generateDataset(1, { persons: 3, dogs: 3, toys: 2 });

function errorOf(query: string, args: unknown[] = [], type = 'Person'): TributaryError {
  try {
    compileQuery(store, type, query, args);
  } catch (e) {
    expect(e).toBeInstanceOf(TributaryError);
    return e as TributaryError;
  }
  throw new Error(`expected '${query}' to be rejected`);
}

describe('malformed queries name the position', () => {
  it.each([
    ['age == ', 7, "expected a value after '=='"],
    ['age > 5 AND', 11, 'expected a property, value or predicate, found the end of the query'],
    ["name == 'abc", 8, 'unterminated string'],
    ['(age > 5', 8, "expected ')' to close the parenthesis"],
    ['age >> 5', 5, "expected a value after '>', found '>'"],
    ["age > 5 name == 'x'", 8, "unexpected 'name'; expected AND, OR"],
    ['age # 5', 4, "unexpected character '#'"],
    ['age 5', 4, 'expected a comparison operator'],
    ['', 0, 'the query is empty'],
    ['SORT(age ASC)', 0, 'expected a predicate before SORT'],
    ['TRUEPREDICATE SORT(age)', 22, 'expected ASC or DESC'],
    ['TRUEPREDICATE LIMIT(1.5)', 20, 'LIMIT takes a non-negative integer'],
    ['TRUEPREDICATE LIMIT(-1)', 20, 'LIMIT takes a non-negative integer'],
    ["name ==[x] 'a'", 8, 'expected a modifier [c], [d] or [cd]'],
    ['SUBQUERY(dogs, x, x.age > 1).@count > 0', 15, 'expected a variable such as $x'],
    ['SUBQUERY(dogs, $d, $d.age > 1) > 0', 31, "a SUBQUERY must be followed by '.@count' or '.@size'"],
    ['age IN {1, 2', 12, "expected ',' or '}' in the list"],
    ['age == 12abc', 9, "unexpected 'a' in a number"],
    ['$1x == 3', 0, "invalid argument or variable '$1x'"],
  ])('%j fails at offset %d: %s', (query, offset, message) => {
    const e = errorOf(query);
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.action).toBe('fatal');
    expect(e.message).toContain(`at offset ${offset} (line 1, column ${offset + 1}): ${message}`);
  });

  it('gives line and column in a multi-line query', () => {
    const e = errorOf('age > 5 AND\n  foo == 3');
    expect(e.message).toContain("at offset 14 (line 2, column 3): 'Person' has no property 'foo'");
    expect(errorOf('age > 5\r\nOR\r\n  name ===').message).toContain("at offset 22 (line 3, column 10): expected a value after '==', found '='");
  });
});

describe('queries that parse but do not fit the schema', () => {
  it.each([
    ['age == "x"', 4, 'cannot compare an int with a string'],
    ["name > 5", 5, 'cannot compare a string with a double'],
    ['active > true', 7, "'>' is not supported for a bool"],
    ['active == 1', 7, 'cannot compare a bool with a double'],
    ["age BEGINSWITH 'a'", 4, 'cannot compare an int with a string'],
    ['age CONTAINS 1', 4, 'CONTAINS needs strings or binary data'],
    ['age ==[c] 5', 4, 'the [c] modifier only applies to strings'],
    ['born == 5', 5, 'cannot compare a date with a double'],
    ['best > null', 5, "'>' is not supported for a link to Dog"],
    ['ANY age > 3', 0, 'ANY needs a key path through a list'],
    ['ALL best.age > 3', 0, 'ALL needs a key path through a list'],
    ['dogs.age == nums', 12, "comparing two lists ('dogs.age' and 'nums') is not supported"],
    ['age IN 5', 7, 'IN needs a list on its right'],
    ['age BETWEEN {1, 2, 3}', 12, 'BETWEEN needs a list of exactly two values'],
    ['age == {1, 2}', 7, "may only follow IN or BETWEEN, not '=='"],
    ['age IN {1, name}', 11, 'a list {…} may only hold literals and arguments'],
    ["age IN {1, 'two'}", 4, 'cannot compare an int with a string'],
    ['foo == 1', 0, "'Person' has no property 'foo'"],
    ['best.foo == 1', 5, "'Dog' has no property 'foo'"],
    ['age.@count > 1', 4, "'Person.age' is an int, so '@count' cannot follow it"],
    ['name.first == 1', 5, "'Person.name' is a string, so 'first' cannot follow it"],
    ['dogs.@foo > 1', 5, "unknown collection operator '@foo'"],
    ['dogs.@avg > 1', 5, "'@avg' on a list of objects needs a property"],
    ['dogs.@avg.name > 1', 10, "'@avg' is not supported on string property 'Dog.name'"],
    ['tags.@sum > 1', 5, "'@sum' is not supported on a list of string"],
    ['@count > 1', 0, "'@count' must follow a list"],
    ['best.@count > 1', 5, "'@count' cannot follow 'best', which is a single link"],
    ['@links.Cat.dogs.@count > 0', 7, "no object type 'Cat'"],
    ['@links.Person.dogs.@count > 0', 14, "'Person.dogs' is not a link to 'Person'"],
    ['SUBQUERY(dogs, $d, age > 1).@count > 0', 19, "key paths inside a SUBQUERY must start with its variable ('$d.age')"],
    ['SUBQUERY(tags, $t, $t == "x").@count > 0', 9, 'SUBQUERY needs a list of objects'],
    ['SUBQUERY(dogs, $d, SUBQUERY($d.toys, $d, $d.price > 1).@count > 0).@count > 0', 19, "variable '$d' is already in use"],
    ['$x.age > 1', 0, "unknown variable '$x'"],
    ['born > 2020-13-01@00:00:00', 7, 'date 2020-13-01@00:00:00 is out of range'],
    ['born > 2021-02-30@00:00:00', 7, 'does not exist'],
    ['born > T1:-5', 7, 'must have the same sign'],
    ['blob == B64"@@"', 8, 'malformed base64 data'],
    ['TRUEPREDICATE SORT(dogs.name ASC)', 19, 'the key path goes through a list'],
    ['TRUEPREDICATE SORT(best ASC)', 19, 'it is a link'],
    ['TRUEPREDICATE DISTINCT(tags)', 23, 'the key path goes through a list'],
  ])('%j fails at offset %d: %s', (query, offset, message) => {
    const e = errorOf(query);
    expect(e.code).toBe('INVALID_QUERY');
    expect(e.message).toContain(`at offset ${offset} `);
    expect(e.message).toContain(message);
  });

  it('checks arguments when binding them', () => {
    expect(errorOf('name == $2', ['a']).message).toContain('at offset 8 (line 1, column 9): argument $2 was used but only 1 argument was given');
    expect(errorOf('name == $0').message).toContain('argument $0 was used but no arguments were given');
    expect(errorOf('age == $0', ['30']).message).toContain('cannot compare an int with a string');
    expect(errorOf('name == $0', [{ toString: () => 'x' }]).message).toContain('argument $0 has an unsupported type (Object)');
    expect(errorOf('best == $0', [new LinkArg('Person', 1)]).message).toContain('cannot compare a link to Dog with a link to Person');
    expect(errorOf('best == $0', [new LinkArg('Cat', 1)]).message).toContain("argument $0 is an object of unknown type 'Cat'");
    expect(errorOf('born == $0', [new Date(NaN)]).message).toContain('argument $0 is an invalid Date');
    expect(errorOf('age IN $0', [[1, 'x']]).message).toContain('cannot compare an int with a string');
  });

  it('rejects an unknown type and a non-string query', () => {
    expect(errorOf('TRUEPREDICATE', [], 'Cat').message).toContain("no object type 'Cat'");
    expect(() => compileQuery(store, 'Person', 42 as unknown as string)).toThrow('the query must be a string');
  });
});

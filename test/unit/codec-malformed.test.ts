import { decodeChangeset, decodeObjectSchema, decodeRecord, encodeChangeset, encodeObjectSchema, encodeRecord, type Instruction } from '../../src/changeset';
import { TributaryError } from '../../src/errors';
import { ObjectId } from '../../src/model';
import { randomChangeset, randomObjectSchema, randomRecord } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('codec-malformed.test');

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TributaryError) return e.code;
    throw e;
  }
  return 'no error';
}

const set: Instruction = { op: 'Set', type: 'Dog', id: 1, values: { age: 3 } };

describe('compactness', () => {
  it('encodes a one-property Set of an int in under 20 bytes', () => {
    expect(encodeChangeset([set]).length).toBeLessThan(20);
    expect(encodeChangeset([set]).length).toBe(18);
  });

  it('costs one byte per repeated type or property name', () => {
    const one = encodeChangeset([set]).length;
    const two = encodeChangeset([set, { ...set, id: 2, values: { age: 4 } }]).length;
    expect(two - one).toBe(8); // op, type ref, key (2), value count, name ref, value (2)
  });

  it('keeps list instructions small', () => {
    const bytes = encodeChangeset([{ op: 'ListInsert', type: 'Dog', id: new ObjectId('0123456789abcdef01234567'), property: 'tags', prior: 3, index: 3, value: 'x' }]);
    expect(bytes.length).toBeLessThanOrEqual(32);
  });
});

describe('malformed changesets', () => {
  it('every strict prefix of a changeset, record and schema is BAD_CHANGESET', () => {
    const rng = new Prng(seed);
    for (let k = 0; k < 60; k++) {
      const samples: [Uint8Array, (b: Uint8Array) => unknown][] = [
        [encodeChangeset(randomChangeset(rng)), (b) => decodeChangeset(b)],
        [encodeRecord(randomRecord(rng)), (b) => decodeRecord(b)],
        [encodeObjectSchema(randomObjectSchema(rng)), (b) => decodeObjectSchema(b)],
      ];
      for (const [bytes, decode] of samples) {
        for (let cut = 0; cut < bytes.length; cut++) expect([cut, codeOf(() => decode(bytes.subarray(0, cut)))]).toEqual([cut, 'BAD_CHANGESET']);
        expect(codeOf(() => decode(bytes))).toBe('no error');
      }
    }
  });

  it('rejects trailing bytes, unknown format, unknown op, bad tags and unset flags', () => {
    const good = encodeChangeset([set]);
    const withByte = (i: number, b: number) => {
      const c = new Uint8Array(good);
      c[i] = b;
      return c;
    };
    expect(codeOf(() => decodeChangeset(new Uint8Array([...good, 0])))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(withByte(0, 2)))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(withByte(2, 0x0d)))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(withByte(2, 0x44)))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(encodeChangeset([{ op: 'Delete', type: 'T', id: 1 }]).map((b, i) => (i === 2 ? b | 0x10 : b))))).toBe('BAD_CHANGESET');
    // the key's tag: a double is not an object key
    expect(codeOf(() => decodeChangeset(withByte(8, 4)))).toBe('BAD_CHANGESET');
    // the value's tag
    expect(codeOf(() => decodeChangeset(withByte(good.length - 2, 0x7f)))).toBe('BAD_CHANGESET');
  });

  it('rejects a name reference beyond the table and a name defined twice', () => {
    expect(codeOf(() => decodeChangeset(new Uint8Array([1, 1, 7, 1])))).toBe('BAD_CHANGESET');
    expect(decodeChangeset(new Uint8Array([1, 2, 7, 0, 1, 0x54, 7, 1]))).toEqual([
      { op: 'Clear', type: 'T' },
      { op: 'Clear', type: 'T' },
    ]);
    expect(codeOf(() => decodeChangeset(new Uint8Array([1, 2, 7, 0, 1, 0x54, 7, 0, 1, 0x54])))).toBe('BAD_CHANGESET');
  });

  it('rejects an integral double, a non-canonical NaN and a trimmed decimal', () => {
    const dbl = (bytes: number[]) => new Uint8Array([1, 1, 4, 0, 1, 0x54, 3, 2, 1, 0, 1, 0x76, 4, ...bytes]);
    expect(decodeChangeset(dbl([0, 0, 0, 0, 0, 0, 0xf8, 0x3f]))).toEqual([{ op: 'Set', type: 'T', id: 1, values: { v: 1.5 } }]);
    expect(codeOf(() => decodeChangeset(dbl([0, 0, 0, 0, 0, 0, 0xf0, 0x3f])))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(dbl([0, 0, 0, 0, 0, 0, 0xf8, 0x7f])))).toBe('no error');
    expect(codeOf(() => decodeChangeset(dbl([1, 0, 0, 0, 0, 0, 0xf8, 0x7f])))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(new Uint8Array([1, 1, 4, 0, 1, 0x54, 3, 2, 1, 0, 1, 0x76, 10, 2, 0x20, 0x31])))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeChangeset(new Uint8Array([1, 1, 4, 0, 1, 0x54, 3, 2, 1, 0, 1, 0x76, 10, 1, 0x31])))).toBe('no error');
  });

  it('rejects a date outside the Date range and a key int outside the safe range', () => {
    const huge = encodeChangeset([{ op: 'Set', type: 'T', id: 1, values: { d: 8.64e15 + 1 } }]);
    const date = new Uint8Array(huge);
    date[huge.indexOf(3, 9)] = 6;
    expect(codeOf(() => decodeChangeset(date))).toBe('BAD_CHANGESET');
    const max = encodeChangeset([{ op: 'Delete', type: 'T', id: Number.MAX_SAFE_INTEGER }]);
    expect(decodeChangeset(max)).toEqual([{ op: 'Delete', type: 'T', id: Number.MAX_SAFE_INTEGER }]);
    const min = encodeChangeset([{ op: 'Delete', type: 'T', id: Number.MIN_SAFE_INTEGER }]);
    expect(decodeChangeset(min)).toEqual([{ op: 'Delete', type: 'T', id: Number.MIN_SAFE_INTEGER }]);
    const beyond = new Uint8Array(min);
    beyond[beyond.length - 1]! += 1;
    expect(codeOf(() => decodeChangeset(beyond))).toBe('BAD_CHANGESET');
  });

  it('enforces maxInstructions and maxValueBytes', () => {
    const three = encodeChangeset([set, set, set]);
    expect(codeOf(() => decodeChangeset(three, { maxInstructions: 3, maxValueBytes: 100 }))).toBe('no error');
    expect(codeOf(() => decodeChangeset(three, { maxInstructions: 2, maxValueBytes: 100 }))).toBe('BAD_CHANGESET');
    const long = encodeChangeset([{ op: 'Set', type: 'T', id: 'k', values: { s: 'x'.repeat(100) } }]);
    expect(codeOf(() => decodeChangeset(long, { maxInstructions: 10, maxValueBytes: 100 }))).toBe('no error');
    expect(codeOf(() => decodeChangeset(long, { maxInstructions: 10, maxValueBytes: 99 }))).toBe('BAD_CHANGESET');
  });

  it('rejects an instruction count that cannot fit before allocating', () => {
    expect(codeOf(() => decodeChangeset(new Uint8Array([1, 0xff, 0xff, 0x3f])))).toBe('BAD_CHANGESET');
  });

  it('rejects encoding what the format cannot carry', () => {
    expect(() => encodeChangeset([{ op: 'AddInteger', type: 'T', id: 1, property: 'n', delta: 0.5 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => encodeChangeset([{ op: 'Delete', type: 'T', id: 1.5 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => encodeChangeset([{ op: 'Set', type: 'T', id: 1, values: { v: {} as never } }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects non-binary input with BAD_CHANGESET', () => {
    expect(codeOf(() => decodeChangeset(null as unknown as Uint8Array))).toBe('BAD_CHANGESET');
    expect(codeOf(() => decodeRecord([1, 2] as unknown as Uint8Array))).toBe('BAD_CHANGESET');
  });
});

import { decodeChangeset, encodeChangeset, type Instruction } from '../../src/changeset';
import { randomChangeset, randomInstruction, randomString } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('property/codec.test');

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

describe('changeset encoding properties', () => {
  it('is deterministic and canonical: encode(decode(encode(x))) == encode(x)', () => {
    const rng = new Prng(seed);
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeChangeset(randomChangeset(rng, 30));
      expect(same(encodeChangeset(decodeChangeset(bytes)), bytes)).toBe(true);
    }
  });

  it('handles name tables past one-byte references (hundreds of distinct names)', () => {
    const rng = new Prng(seed + 1);
    const cs: Instruction[] = [];
    for (let i = 0; i < 400; i++) cs.push({ op: 'Set', type: `T${i % 150}`, id: i, values: { [`p${i}_${randomString(rng, 3)}`]: i, shared: -i } });
    const decoded = decodeChangeset(encodeChangeset(cs));
    expect(decoded).toEqual(cs);
  });

  it('gives the encoding of a concatenation the sum of the parts minus shared names', () => {
    const rng = new Prng(seed + 2);
    for (let i = 0; i < 500; i++) {
      const a = randomInstruction(rng);
      const b = randomInstruction(rng);
      const both = encodeChangeset([a, b]).length;
      // Header (2 bytes) is paid once; interning can only make the pair smaller than separate encodings.
      expect(both).toBeLessThanOrEqual(encodeChangeset([a]).length + encodeChangeset([b]).length - 2);
    }
  });
});

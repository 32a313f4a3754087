import { changesetInstructionCount, decodeChangeset, encodeChangeset, type Instruction } from '../../src/changeset';
import { Reader } from '../../src/changeset/codec-binary';
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

  it('counts the instructions of a changeset from its header, and refuses a header Reader would refuse', () => {
    const rng = new Prng(seed + 3);
    for (let i = 0; i < 1000; i++) {
      const cs = randomChangeset(rng, 40);
      expect(changesetInstructionCount(encodeChangeset(cs))).toBe(cs.length);
    }
    // Arbitrary headers: the same answer as reading the version byte and the varint with a Reader.
    const viaReader = (bytes: Uint8Array): number => {
      try {
        const r = new Reader(bytes, 'BAD_CHANGESET');
        if (r.u8() !== encodeChangeset([])[0]) return -1;
        return r.uvarint();
      } catch {
        return -1;
      }
    };
    const version = encodeChangeset([])[0]!;
    for (let i = 0; i < 5000; i++) {
      const bytes = rng.bytes(rng.int(0, 11));
      if (bytes.length > 0 && rng.bool(0.8)) bytes[0] = version;
      // Long runs of continuation bytes and trailing zeros, where the varint rules bite.
      for (let k = 1; k < bytes.length; k++) if (rng.bool(0.3)) bytes[k] = rng.pick([0x80, 0xff, 0x00, 0x81]);
      expect(changesetInstructionCount(bytes)).toBe(viaReader(bytes));
    }
  });
});

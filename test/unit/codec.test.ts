import { decodeChangeset, decodeObjectSchema, decodeRecord, encodeChangeset, encodeObjectSchema, encodeRecord, type Instruction } from '../../src/changeset';
import { Reader, Writer } from '../../src/changeset/codec-binary';
import { syncedProperty } from '../../src/model';
import { canonical, INSTRUCTION_OPS, randomChangeset, randomInstruction, randomObjectSchema, randomRecord } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('codec.test');

/** What a changeset should decode to: schema properties lose their local-only fields. */
function onWire(ins: Instruction): Instruction {
  if (ins.op === 'AddType' || ins.op === 'AddProperties') return { ...ins, properties: ins.properties.map(syncedProperty) };
  return ins;
}

describe('changeset codec round trip', () => {
  it.each(INSTRUCTION_OPS)('%s round-trips with random fields', (op) => {
    const rng = new Prng(seed ^ op.length);
    for (let i = 0; i < 300; i++) {
      const ins = randomInstruction(rng, op);
      const decoded = decodeChangeset(encodeChangeset([ins]));
      expect(canonical(decoded)).toBe(canonical([onWire(ins)]));
    }
  });

  it('round-trips random multi-instruction changesets, sharing names across instructions', () => {
    const rng = new Prng(seed);
    for (let i = 0; i < 500; i++) {
      const cs = randomChangeset(rng, 12);
      expect(canonical(decodeChangeset(encodeChangeset(cs)))).toBe(canonical(cs.map(onWire)));
    }
  });

  it('round-trips the empty changeset in two bytes', () => {
    const bytes = encodeChangeset([]);
    expect(bytes.length).toBe(2);
    expect(decodeChangeset(bytes)).toEqual([]);
  });

  it('keeps -0, NaN, infinities and invalid dates', () => {
    const values = { a: -0, b: NaN, c: Infinity, d: -Infinity, e: new Date(NaN), f: 2 ** 53, g: 0.1 };
    const [ins] = decodeChangeset(encodeChangeset([{ op: 'Set', type: 'T', id: 1, values }]));
    expect(canonical(ins)).toBe(canonical({ op: 'Set', type: 'T', id: 1, values }));
  });

  it('drops indexed and default from schema instructions only', () => {
    const properties = [{ name: 'n', type: 'int' as const, optional: false, indexed: true, default: 5 }];
    const [ins] = decodeChangeset(encodeChangeset([{ op: 'AddType', type: 'T', primaryKey: null, properties }]));
    expect(ins).toEqual({ op: 'AddType', type: 'T', primaryKey: null, properties: [{ name: 'n', type: 'int', optional: false }] });
  });
});

describe('record and schema codecs', () => {
  it('round-trip random records, tombstones included', () => {
    const rng = new Prng(seed + 1);
    for (let i = 0; i < 500; i++) {
      const rec = randomRecord(rng);
      expect(canonical(decodeRecord(encodeRecord(rec)))).toBe(canonical(rec));
    }
  });

  it('round-trip random object schemas with local-only fields', () => {
    const rng = new Prng(seed + 2);
    for (let i = 0; i < 500; i++) {
      const s = randomObjectSchema(rng);
      expect(canonical(decodeObjectSchema(encodeObjectSchema(s)))).toBe(canonical(s));
    }
  });

  it('keeps a property named __proto__ as an own property', () => {
    const values = JSON.parse('{"__proto__": 7}') as Record<string, number>;
    const rec = decodeRecord(encodeRecord({ id: 'a', values, lists: {} }));
    expect(Object.keys(rec.values)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(rec.values)).toBe(Object.prototype);
  });
});

describe('strings in the binary primitives', () => {
  // The writer encodes ASCII directly and anything else in place with a length prefix sized for the
  // worst case (then moved back): every length and width must give what a plain TextEncoder gives.
  const reference = (s: string): number[] => {
    const bytes = new TextEncoder().encode(s);
    const prefix: number[] = [];
    let n = bytes.length;
    while (n >= 0x80) {
      prefix.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    prefix.push(n);
    return [...prefix, ...bytes];
  };
  const UNITS = ['a', 'é', '€', '😀', '\u0000', 'Z', '\u07ff', '\u0800'];

  test('every length and character width encodes as length-prefixed UTF-8 and reads back', () => {
    const rng = new Prng(testSeed('codec strings'));
    const cases: string[] = [];
    for (const unit of UNITS) for (const n of [0, 1, 2, 42, 43, 63, 64, 65, 127, 128, 129, 5000, 50_000]) cases.push(unit.repeat(n));
    for (let k = 0; k < 300; k++) {
      const n = rng.int(0, 300);
      let s = '';
      for (let i = 0; i < n; i++) s += UNITS[rng.int(0, UNITS.length - 1)];
      cases.push(s);
    }
    for (const s of cases) {
      // A small initial capacity, so the in-place encoding also has to grow the buffer.
      const w = new Writer(1);
      w.u8(7);
      w.string(s);
      w.u8(9);
      const bytes = w.finish();
      expect([...bytes]).toEqual([7, ...reference(s), 9]);
      const r = new Reader(bytes, 'BAD_CHANGESET');
      expect(r.u8()).toBe(7);
      expect(r.string(1 << 20)).toBe(s);
      expect(r.u8()).toBe(9);
    }
  });
});

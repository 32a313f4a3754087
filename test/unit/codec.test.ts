import { decodeChangeset, decodeObjectSchema, decodeRecord, encodeChangeset, encodeObjectSchema, encodeRecord, type Instruction } from '../../src/changeset';
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

import { decodeChangeset, decodeObjectSchema, decodeRecord, encodeChangeset, encodeObjectSchema, encodeRecord, type Instruction, type ObjectRecord } from '../../src/changeset';
import { TributaryError } from '../../src/errors';
import type { ObjectSchema } from '../../src/model';
import {
  CLIENT_MESSAGES,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  MESSAGE_DECODE_ERROR_CODES,
  SERVER_MESSAGES,
  type ClientMessage,
  type ServerMessage,
} from '../../src/protocol';
import { randomChangeset, randomClientMessage, randomObjectSchema, randomRecord, randomServerMessage } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('fuzz.test');
const ROUNDS = 20_000;

interface Target<T> {
  name: string;
  decode: (b: Uint8Array) => T;
  encode: (v: T) => Uint8Array;
  sample: (rng: Prng) => Uint8Array;
  allowed: readonly string[];
  /** Bytes a random input starts with half of the time, so fuzzing gets past the first check. */
  leadBytes: number[];
}

const targets: Target<unknown>[] = [
  {
    name: 'decodeClientMessage',
    decode: (b) => decodeClientMessage(b),
    encode: (m) => encodeClientMessage(m as ClientMessage),
    sample: (rng) => encodeClientMessage(randomClientMessage(rng)),
    allowed: MESSAGE_DECODE_ERROR_CODES,
    leadBytes: Object.values(CLIENT_MESSAGES).map((m) => m.code),
  },
  {
    name: 'decodeServerMessage',
    decode: (b) => decodeServerMessage(b),
    encode: (m) => encodeServerMessage(m as ServerMessage),
    sample: (rng) => encodeServerMessage(randomServerMessage(rng)),
    allowed: MESSAGE_DECODE_ERROR_CODES,
    leadBytes: Object.values(SERVER_MESSAGES).map((m) => m.code),
  },
  {
    name: 'decodeChangeset',
    decode: (b) => decodeChangeset(b),
    encode: (v) => encodeChangeset(v as Instruction[]),
    sample: (rng) => encodeChangeset(randomChangeset(rng)),
    allowed: ['BAD_CHANGESET'],
    leadBytes: [1],
  },
  {
    name: 'decodeRecord',
    decode: (b) => decodeRecord(b),
    encode: (v) => encodeRecord(v as ObjectRecord),
    sample: (rng) => encodeRecord(randomRecord(rng)),
    allowed: ['BAD_CHANGESET'],
    leadBytes: [1],
  },
  {
    name: 'decodeObjectSchema',
    decode: (b) => decodeObjectSchema(b),
    encode: (v) => encodeObjectSchema(v as ObjectSchema),
    sample: (rng) => encodeObjectSchema(randomObjectSchema(rng)),
    allowed: ['BAD_CHANGESET'],
    leadBytes: [1],
  },
];

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Decodes `bytes`; the only acceptable outcomes are a value whose re-encoding is exactly `bytes`
 * (encodings are canonical) or a TributaryError with an allowed code. Returns the outcome.
 */
function probe(t: Target<unknown>, bytes: Uint8Array): 'ok' | string {
  let value: unknown;
  try {
    value = t.decode(bytes);
  } catch (e) {
    if (!(e instanceof TributaryError) || !t.allowed.includes(e.code)) {
      throw new Error(`${t.name} threw ${e instanceof TributaryError ? e.code : String(e)} on ${hex(bytes)} (seed ${seed})`);
    }
    return e.code;
  }
  const again = t.encode(value);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) throw new Error(`${t.name}: decoded ${hex(bytes)} re-encodes as ${hex(again)} (seed ${seed})`);
  return 'ok';
}

describe.each(targets)('$name under fuzzing', (t) => {
  it(`survives ${ROUNDS} random byte strings`, () => {
    const rng = new Prng(seed ^ t.name.length);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < ROUNDS; i++) {
      const bytes = rng.bytes(rng.int(0, 48));
      if (bytes.length > 0 && rng.bool()) bytes[0] = rng.pick(t.leadBytes);
      const o = probe(t, bytes);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    expect([...outcomes.keys()].every((k) => k === 'ok' || t.allowed.includes(k))).toBe(true);
  });

  it(`survives ${ROUNDS} single-byte mutations of valid encodings`, () => {
    const rng = new Prng(seed ^ (t.name.length * 31));
    let decodedOk = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const bytes = t.sample(rng);
      if (bytes.length === 0) continue;
      const at = rng.int(0, bytes.length - 1);
      bytes[at] = rng.bool() ? bytes[at]! ^ (1 << rng.int(0, 7)) : rng.int(0, 255);
      if (probe(t, bytes) === 'ok') decodedOk++;
    }
    // Some mutations (a changed value byte) still decode; all of those re-encoded byte-for-byte.
    expect(decodedOk).toBeGreaterThan(0);
  });
});

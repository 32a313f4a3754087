import { TributaryError } from '../errors';
import { Decimal128, ObjectId, UUID, type ObjectKey, type Value } from '../model';
import type { Reader, Writer } from './codec-binary';

/**
 * Tagged encodings of property values and object keys (docs/protocol.md §2.2). A value is one tag
 * byte and a payload; an object key is a value restricted to the int, string, objectId and uuid
 * tags. The tag numbers are part of the wire format and pinned by the schema-hash test.
 */
export const VALUE_TAGS = {
  null: 0,
  false: 1,
  true: 2,
  int: 3,
  double: 4,
  string: 5,
  date: 6,
  data: 7,
  objectId: 8,
  uuid: 9,
  decimal128: 10,
  invalidDate: 11,
} as const;

/** Set on a tag byte in a stored list entry that is a tombstone. */
export const DEAD_TAG_FLAG = 0x80;

/** The largest |ms| a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;

const HEX = '0123456789abcdef';

function hexToBytes(hex: string, out: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** The tag a value is written with. */
export function valueTag(v: Value): number {
  if (v === null) return VALUE_TAGS.null;
  switch (typeof v) {
    case 'boolean':
      return v ? VALUE_TAGS.true : VALUE_TAGS.false;
    case 'number':
      // -0 is a safe integer to JavaScript but would come back as 0 through a varint.
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? VALUE_TAGS.int : VALUE_TAGS.double;
    case 'string':
      return VALUE_TAGS.string;
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? VALUE_TAGS.invalidDate : VALUE_TAGS.date;
  if (v instanceof Uint8Array) return VALUE_TAGS.data;
  if (v instanceof ObjectId) return VALUE_TAGS.objectId;
  if (v instanceof UUID) return VALUE_TAGS.uuid;
  if (v instanceof Decimal128) return VALUE_TAGS.decimal128;
  throw new TributaryError('INVALID_ARGUMENT', `cannot encode value of type ${typeof v}: ${String(v)}`);
}

/** Writes the payload of a value whose tag byte was already written. */
export function writeValuePayload(w: Writer, tag: number, v: Value): void {
  switch (tag) {
    case VALUE_TAGS.int:
      w.svarint(v as number);
      return;
    case VALUE_TAGS.double:
      w.f64(v as number);
      return;
    case VALUE_TAGS.string:
      w.string(v as string);
      return;
    case VALUE_TAGS.date:
      w.svarint((v as Date).getTime());
      return;
    case VALUE_TAGS.data:
      w.bytes(v as Uint8Array);
      return;
    case VALUE_TAGS.objectId:
      w.raw(hexToBytes((v as ObjectId).hex, new Uint8Array(12)));
      return;
    case VALUE_TAGS.uuid:
      w.raw(hexToBytes((v as UUID).hex, new Uint8Array(16)));
      return;
    case VALUE_TAGS.decimal128:
      w.string((v as Decimal128).value);
      return;
  }
}

export function writeValue(w: Writer, v: Value): void {
  const tag = valueTag(v);
  w.u8(tag);
  writeValuePayload(w, tag, v);
}

/** Reads the payload for a tag (without the dead flag); `maxBytes` bounds strings and data. */
export function readValuePayload(r: Reader, tag: number, maxBytes: number): Value {
  switch (tag) {
    case VALUE_TAGS.null:
      return null;
    case VALUE_TAGS.false:
      return false;
    case VALUE_TAGS.true:
      return true;
    case VALUE_TAGS.int:
      return r.svarint();
    case VALUE_TAGS.double: {
      const x = r.f64();
      if (Number.isSafeInteger(x) && !Object.is(x, -0)) r.fail('an integral double must be encoded as int');
      return x;
    }
    case VALUE_TAGS.string:
      return r.string(maxBytes);
    case VALUE_TAGS.date: {
      const ms = r.svarint();
      if (Math.abs(ms) > MAX_DATE_MS) r.fail(`date ${ms} outside the range of a Date`);
      return new Date(ms);
    }
    case VALUE_TAGS.data:
      return r.bytes(maxBytes);
    case VALUE_TAGS.objectId:
      return new ObjectId(bytesToHex(r.raw(12)));
    case VALUE_TAGS.uuid:
      return new UUID(bytesToHex(r.raw(16)));
    case VALUE_TAGS.decimal128: {
      const s = r.string(maxBytes);
      let d: Decimal128 | undefined;
      try {
        d = new Decimal128(s);
      } catch {
        // reported below
      }
      // Decimal128 trims whitespace; a trimmed string would re-encode differently.
      if (d === undefined || d.value !== s) r.fail(`invalid decimal128 '${s.slice(0, 40)}'`);
      return d;
    }
    case VALUE_TAGS.invalidDate:
      return new Date(NaN);
    default:
      return r.fail(`unknown value tag ${tag}`);
  }
}

export function readValue(r: Reader, maxBytes: number): Value {
  return readValuePayload(r, r.u8(), maxBytes);
}

export function writeKey(w: Writer, key: ObjectKey): void {
  if (typeof key === 'number' && !Number.isSafeInteger(key)) throw new TributaryError('INVALID_ARGUMENT', `object key ${key} is not a safe integer`);
  if (!(typeof key === 'number' || typeof key === 'string' || key instanceof ObjectId || key instanceof UUID)) {
    throw new TributaryError('INVALID_ARGUMENT', `not an object key: ${String(key)}`);
  }
  writeValue(w, key);
}

export function readKey(r: Reader, maxBytes: number): ObjectKey {
  const tag = r.u8();
  if (tag !== VALUE_TAGS.int && tag !== VALUE_TAGS.string && tag !== VALUE_TAGS.objectId && tag !== VALUE_TAGS.uuid) {
    r.fail(`tag ${tag} is not an object key tag`);
  }
  return readValuePayload(r, tag, maxBytes) as ObjectKey;
}

/**
 * Per-buffer string interning: the first use of a name writes `0` and the UTF-8 name, which gets
 * the next table index; later uses write `index + 1`. One pass each way, no header.
 */
export class NameTableWriter {
  private readonly table = new Map<string, number>();
  constructor(private readonly w: Writer) {}

  name(s: string): void {
    if (typeof s !== 'string') throw new TributaryError('INVALID_ARGUMENT', `expected a name, got ${String(s)}`);
    const index = this.table.get(s);
    if (index !== undefined) {
      this.w.uvarint(index + 1);
      return;
    }
    this.table.set(s, this.table.size);
    this.w.uvarint(0);
    this.w.string(s);
  }
}

export class NameTableReader {
  private readonly table: string[] = [];
  private readonly defined = new Set<string>();
  constructor(
    private readonly r: Reader,
    private readonly maxBytes: number,
  ) {}

  name(): string {
    const ref = this.r.uvarint();
    if (ref === 0) {
      const s = this.r.string(this.maxBytes);
      // An encoder refers back to a name it has already defined; a second definition is not canonical.
      if (this.defined.has(s)) this.r.fail(`name '${s.slice(0, 40)}' defined twice`);
      this.defined.add(s);
      this.table.push(s);
      return s;
    }
    const s = this.table[ref - 1];
    if (s === undefined) this.r.fail(`name reference ${ref} beyond the table of ${this.table.length}`);
    return s;
  }
}

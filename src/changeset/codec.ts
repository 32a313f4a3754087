import { TributaryError } from '../errors';
import type { ObjectSchema, PropertySchema, PropertyType, Value } from '../model';
import { Reader, Writer, withWriter } from './codec-binary';
import { DEAD_TAG_FLAG, NameTableReader, NameTableWriter, readKey, readValue, readValuePayload, valueTag, writeKey, writeValue, writeValuePayload } from './codec-values';
import type { Instruction } from './instructions';
import type { ListEntry, ObjectRecord } from './state';

/** Limits the changeset decoder enforces (options with defaults). */
export interface ChangesetLimits {
  /** Maximum instructions in one changeset. */
  maxInstructions: number;
  /** Maximum length of one string or binary value, in bytes. */
  maxValueBytes: number;
}

export const DEFAULT_CHANGESET_LIMITS: ChangesetLimits = { maxInstructions: 1_000_000, maxValueBytes: 16 * 1024 * 1024 };

/** First byte of an encoded changeset; a new layout gets a new number. */
export const CHANGESET_FORMAT_VERSION = 1;
/** First byte of an encoded record. */
export const RECORD_FORMAT_VERSION = 1;
/** First byte of an encoded object schema. */
export const SCHEMA_FORMAT_VERSION = 1;

/** Op codes (low four bits of an instruction's first byte). Part of the wire format. */
export const OP_CODES = {
  AddType: 1,
  AddProperties: 2,
  Create: 3,
  Set: 4,
  AddInteger: 5,
  Delete: 6,
  Clear: 7,
  ListSet: 8,
  ListInsert: 9,
  ListErase: 10,
  ListMove: 11,
  ListClear: 12,
} as const satisfies Record<Instruction['op'], number>;

const OP_BY_CODE: (Instruction['op'] | undefined)[] = [];
for (const [op, code] of Object.entries(OP_CODES)) OP_BY_CODE[code] = op as Instruction['op'];

/**
 * Bit 4 of an instruction's first byte: AddType has a primary key; Create/Set carry `defaults`;
 * ListSet/ListInsert write a tombstone (`dead`). Must be clear for every other op.
 */
const OP_FLAG = 0x10;

/** Property type codes. Listed explicitly so reordering PRIMITIVE_TYPES cannot change the wire. */
export const PROPERTY_TYPE_CODES = {
  bool: 0,
  int: 1,
  float: 2,
  double: 3,
  string: 4,
  date: 5,
  data: 6,
  decimal128: 7,
  objectId: 8,
  uuid: 9,
  mixed: 10,
  object: 11,
  list: 12,
  linkingObjects: 13,
} as const satisfies Record<PropertyType, number>;

const PROPERTY_TYPE_BY_CODE: (PropertyType | undefined)[] = [];
for (const [t, code] of Object.entries(PROPERTY_TYPE_CODES)) PROPERTY_TYPE_BY_CODE[code] = t as PropertyType;

/** Property flag bits. `indexed` and `default` are local-only: written by encodeObjectSchema only. */
const PROP_OPTIONAL = 1;
const PROP_OBJECT_TYPE = 2;
const PROP_PROPERTY = 4;
const PROP_INDEXED = 8;
const PROP_DEFAULT = 16;

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // `__proto__` is a legal property name; plain assignment would change the prototype instead.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * A JavaScript object enumerates integer-like keys first, whatever the insertion order; bytes
 * listing names in another order would decode but re-encode differently, so they are rejected.
 */
function checkKeyOrder(r: Reader, target: object, order: string[]): void {
  const keys = Object.keys(target);
  for (let i = 0; i < keys.length; i++) if (keys[i] !== order[i]) r.fail('names are not in object enumeration order');
}

function writeProperty(w: Writer, names: NameTableWriter, p: PropertySchema, local: boolean): void {
  names.name(p.name);
  const code = PROPERTY_TYPE_CODES[p.type];
  if (code === undefined) throw new TributaryError('INVALID_ARGUMENT', `unknown property type '${String(p.type)}'`);
  w.u8(code);
  let flags = 0;
  if (p.optional) flags |= PROP_OPTIONAL;
  if (p.objectType !== undefined) flags |= PROP_OBJECT_TYPE;
  if (p.property !== undefined) flags |= PROP_PROPERTY;
  if (local && p.indexed !== undefined) flags |= PROP_INDEXED;
  if (local && p.default !== undefined) flags |= PROP_DEFAULT;
  w.u8(flags);
  if (p.objectType !== undefined) names.name(p.objectType);
  if (p.property !== undefined) names.name(p.property);
  if (local && p.indexed !== undefined) w.u8(p.indexed ? 1 : 0);
  if (local && p.default !== undefined) writeValue(w, p.default);
}

function readProperty(r: Reader, names: NameTableReader, local: boolean, maxBytes: number): PropertySchema {
  const name = names.name();
  const code = r.u8();
  const type = PROPERTY_TYPE_BY_CODE[code];
  if (type === undefined) r.fail(`unknown property type code ${code}`);
  const flags = r.u8();
  const allowed = local ? 31 : 7;
  if (flags & ~allowed) r.fail(`bad property flags ${flags}`);
  const p: PropertySchema = { name, type, optional: (flags & PROP_OPTIONAL) !== 0 };
  if (flags & PROP_OBJECT_TYPE) p.objectType = names.name();
  if (flags & PROP_PROPERTY) p.property = names.name();
  if (flags & PROP_INDEXED) p.indexed = r.bool();
  if (flags & PROP_DEFAULT) p.default = readValue(r, maxBytes);
  return p;
}

function writeProperties(w: Writer, names: NameTableWriter, props: readonly PropertySchema[], local: boolean): void {
  w.uvarint(props.length);
  for (const p of props) writeProperty(w, names, p, local);
}

function readProperties(r: Reader, names: NameTableReader, local: boolean, maxBytes: number): PropertySchema[] {
  const n = r.count(Number.MAX_SAFE_INTEGER, 3, 'property count');
  const out: PropertySchema[] = [];
  for (let i = 0; i < n; i++) out.push(readProperty(r, names, local, maxBytes));
  return out;
}

function writeValues(w: Writer, names: NameTableWriter, values: Record<string, Value>): void {
  const keys = Object.keys(values);
  w.uvarint(keys.length);
  for (const k of keys) {
    names.name(k);
    writeValue(w, values[k]!);
  }
}

function readValues(r: Reader, names: NameTableReader, maxBytes: number): Record<string, Value> {
  const n = r.count(Number.MAX_SAFE_INTEGER, 2, 'value count');
  const out: Record<string, Value> = {};
  const order: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = names.name();
    if (Object.prototype.hasOwnProperty.call(out, k)) r.fail(`property '${k}' appears twice`);
    setOwn(out, k, readValue(r, maxBytes));
    order.push(k);
  }
  checkKeyOrder(r, out, order);
  return out;
}

function writeInstruction(w: Writer, names: NameTableWriter, ins: Instruction): void {
  const code = OP_CODES[ins.op];
  if (code === undefined) throw new TributaryError('INVALID_ARGUMENT', `unknown instruction op '${String((ins as { op: unknown }).op)}'`);
  switch (ins.op) {
    case 'AddType':
      w.u8(code | (ins.primaryKey !== null ? OP_FLAG : 0));
      names.name(ins.type);
      if (ins.primaryKey !== null) names.name(ins.primaryKey);
      writeProperties(w, names, ins.properties, false);
      return;
    case 'AddProperties':
      w.u8(code);
      names.name(ins.type);
      writeProperties(w, names, ins.properties, false);
      return;
    case 'Create':
    case 'Set':
      w.u8(code | (ins.defaults !== undefined ? OP_FLAG : 0));
      names.name(ins.type);
      writeKey(w, ins.id);
      writeValues(w, names, ins.values);
      if (ins.defaults !== undefined) {
        w.uvarint(ins.defaults.length);
        for (const d of ins.defaults) names.name(d);
      }
      return;
    case 'AddInteger':
      w.u8(code);
      names.name(ins.type);
      writeKey(w, ins.id);
      names.name(ins.property);
      w.svarint(ins.delta);
      return;
    case 'Delete':
      w.u8(code);
      names.name(ins.type);
      writeKey(w, ins.id);
      return;
    case 'Clear':
      w.u8(code);
      names.name(ins.type);
      return;
    default:
      break;
  }
  const flag = (ins.op === 'ListSet' || ins.op === 'ListInsert') && ins.dead !== undefined ? OP_FLAG : 0;
  w.u8(code | flag);
  names.name(ins.type);
  writeKey(w, ins.id);
  names.name(ins.property);
  w.uvarint(ins.prior);
  switch (ins.op) {
    case 'ListSet':
    case 'ListInsert':
      w.uvarint(ins.index);
      // The dead flag is tri-state in the type (absent / false / true); `flag` marks presence and
      // the value's tag byte carries DEAD_TAG_FLAG when true.
      {
        const tag = valueTag(ins.value);
        w.u8(tag | (ins.dead ? DEAD_TAG_FLAG : 0));
        writeValuePayload(w, tag, ins.value);
      }
      return;
    case 'ListErase':
      w.uvarint(ins.index);
      return;
    case 'ListMove':
      w.uvarint(ins.from);
      w.uvarint(ins.to);
      return;
    case 'ListClear':
      return;
  }
}

function readInstruction(r: Reader, names: NameTableReader, maxBytes: number): Instruction {
  const first = r.u8();
  const op = OP_BY_CODE[first & 0x0f];
  const flag = (first & OP_FLAG) !== 0;
  if (op === undefined || (first & 0xe0) !== 0) r.fail(`unknown instruction byte ${first}`);
  const flagAllowed = op === 'AddType' || op === 'Create' || op === 'Set' || op === 'ListSet' || op === 'ListInsert';
  if (flag && !flagAllowed) r.fail(`flag bit set on ${op}`);
  const type = names.name();
  switch (op) {
    case 'AddType': {
      const primaryKey = flag ? names.name() : null;
      return { op, type, primaryKey, properties: readProperties(r, names, false, maxBytes) };
    }
    case 'AddProperties':
      return { op, type, properties: readProperties(r, names, false, maxBytes) };
    case 'Create':
    case 'Set': {
      const id = readKey(r, maxBytes);
      const values = readValues(r, names, maxBytes);
      if (!flag) return { op, type, id, values };
      const n = r.count(Number.MAX_SAFE_INTEGER, 1, 'defaults count');
      const defaults: string[] = [];
      for (let i = 0; i < n; i++) defaults.push(names.name());
      return { op, type, id, values, defaults };
    }
    case 'AddInteger': {
      const id = readKey(r, maxBytes);
      const property = names.name();
      return { op, type, id, property, delta: r.svarint() };
    }
    case 'Delete':
      return { op, type, id: readKey(r, maxBytes) };
    case 'Clear':
      return { op, type };
  }
  const id = readKey(r, maxBytes);
  const property = names.name();
  const prior = r.uvarint();
  switch (op) {
    case 'ListSet':
    case 'ListInsert': {
      const index = r.uvarint();
      const tagByte = r.u8();
      const dead = (tagByte & DEAD_TAG_FLAG) !== 0;
      if (dead && !flag) r.fail('dead entry without the flag bit');
      const value = readValuePayload(r, tagByte & ~DEAD_TAG_FLAG, maxBytes);
      return flag ? { op, type, id, property, prior, index, value, dead } : { op, type, id, property, prior, index, value };
    }
    case 'ListErase':
      return { op, type, id, property, prior, index: r.uvarint() };
    case 'ListMove': {
      const from = r.uvarint();
      return { op, type, id, property, prior, from, to: r.uvarint() };
    }
    default:
      return { op: 'ListClear', type, id, property, prior };
  }
}

/**
 * Compact binary encoding of a changeset's instructions (byte layout in docs/protocol.md §3):
 * a format byte, an instruction count, then the instructions. Type and property names are
 * interned per changeset, so a repeated name costs one byte.
 *
 * Throws TributaryError('INVALID_ARGUMENT') for values the format cannot carry (a non-integer
 * `delta`, a key that is not an ObjectKey). Schema properties travel without their local-only
 * `indexed` and `default` fields.
 *
 * @example
 * const bytes = encodeChangeset([{ op: 'Set', type: 'Dog', id: 1, values: { age: 3 } }]);
 * decodeChangeset(bytes); // → the same instruction
 */
export function encodeChangeset(instructions: readonly Instruction[]): Uint8Array {
  return withWriter((w) => {
    const names = new NameTableWriter(w);
    w.u8(CHANGESET_FORMAT_VERSION);
    w.uvarint(instructions.length);
    for (const ins of instructions) writeInstruction(w, names, ins);
  });
}

/** The instruction count an encoded changeset declares (its first fields), without decoding it; -1 when unreadable. */
export function changesetInstructionCount(bytes: Uint8Array): number {
  // Read in place (no Reader and its DataView): the server counts every changeset of an UPLOAD
  // before accepting it, 10,000 of them for a client that was long offline.
  if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== CHANGESET_FORMAT_VERSION) return -1;
  let n = 0;
  let scale = 1;
  for (let i = 1; i < bytes.length && i < 9; i++) {
    const b = bytes[i]!;
    n += (b & 0x7f) * scale;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
    // The same rules as Reader.uvarint: canonical (no trailing zero byte), at most 8 bytes.
    if (b < 0x80) return b === 0 && i > 1 ? -1 : n;
    scale *= 128;
  }
  return -1;
}

/** Inverse of {@link encodeChangeset}; throws TributaryError('BAD_CHANGESET') on malformed bytes. */
export function decodeChangeset(bytes: Uint8Array, limits: ChangesetLimits = DEFAULT_CHANGESET_LIMITS): Instruction[] {
  const r = new Reader(bytes, 'BAD_CHANGESET');
  const version = r.u8();
  if (version !== CHANGESET_FORMAT_VERSION) r.fail(`unknown changeset format ${version}`);
  const n = r.count(limits.maxInstructions, 2, 'instruction count');
  const names = new NameTableReader(r, limits.maxValueBytes);
  const out: Instruction[] = [];
  for (let i = 0; i < n; i++) out.push(readInstruction(r, names, limits.maxValueBytes));
  r.end();
  return out;
}

/**
 * Binary encoding of one stored object (used by replicas and the server's state tables): a
 * format byte, the key, the scalar values, then the lists with their tombstones.
 */
export function encodeRecord(record: ObjectRecord): Uint8Array {
  return withWriter((w) => {
    const names = new NameTableWriter(w);
    w.u8(RECORD_FORMAT_VERSION);
    writeKey(w, record.id);
    writeValues(w, names, record.values);
    const lists = Object.keys(record.lists);
    w.uvarint(lists.length);
    for (const name of lists) {
      const entries = record.lists[name]!;
      names.name(name);
      w.uvarint(entries.length);
      for (const e of entries) {
        const tag = valueTag(e.value);
        w.u8(tag | (e.dead ? DEAD_TAG_FLAG : 0));
        writeValuePayload(w, tag, e.value);
      }
    }
  });
}

/** Inverse of {@link encodeRecord}; throws TributaryError('BAD_CHANGESET') on malformed bytes. */
export function decodeRecord(bytes: Uint8Array, maxValueBytes: number = DEFAULT_CHANGESET_LIMITS.maxValueBytes): ObjectRecord {
  const r = new Reader(bytes, 'BAD_CHANGESET');
  const version = r.u8();
  if (version !== RECORD_FORMAT_VERSION) r.fail(`unknown record format ${version}`);
  const names = new NameTableReader(r, maxValueBytes);
  const id = readKey(r, maxValueBytes);
  const values = readValues(r, names, maxValueBytes);
  const lists: Record<string, ListEntry[]> = {};
  const nLists = r.count(Number.MAX_SAFE_INTEGER, 2, 'list count');
  const order: string[] = [];
  for (let i = 0; i < nLists; i++) {
    const name = names.name();
    order.push(name);
    if (Object.prototype.hasOwnProperty.call(lists, name)) r.fail(`list '${name}' appears twice`);
    const n = r.count(Number.MAX_SAFE_INTEGER, 1, 'list length');
    const entries: ListEntry[] = [];
    for (let j = 0; j < n; j++) {
      const tagByte = r.u8();
      const value = readValuePayload(r, tagByte & ~DEAD_TAG_FLAG, maxValueBytes);
      entries.push(tagByte & DEAD_TAG_FLAG ? { value, dead: true } : { value });
    }
    setOwn(lists, name, entries);
  }
  checkKeyOrder(r, lists, order);
  r.end();
  return { id, values, lists };
}

/** Binary encoding of one object schema (for storing schemas), local-only fields included. */
export function encodeObjectSchema(schema: ObjectSchema): Uint8Array {
  const w = new Writer();
  const names = new NameTableWriter(w);
  w.u8(SCHEMA_FORMAT_VERSION);
  names.name(schema.name);
  w.u8(schema.primaryKey !== null ? 1 : 0);
  if (schema.primaryKey !== null) names.name(schema.primaryKey);
  writeProperties(w, names, schema.properties, true);
  return w.finish();
}

/** Inverse of {@link encodeObjectSchema}; throws TributaryError('BAD_CHANGESET') on malformed bytes. */
export function decodeObjectSchema(bytes: Uint8Array, maxValueBytes: number = DEFAULT_CHANGESET_LIMITS.maxValueBytes): ObjectSchema {
  const r = new Reader(bytes, 'BAD_CHANGESET');
  const version = r.u8();
  if (version !== SCHEMA_FORMAT_VERSION) r.fail(`unknown schema format ${version}`);
  const names = new NameTableReader(r, maxValueBytes);
  const name = names.name();
  const primaryKey = r.bool() ? names.name() : null;
  const properties = readProperties(r, names, true, maxValueBytes);
  r.end();
  return { name, primaryKey, properties };
}

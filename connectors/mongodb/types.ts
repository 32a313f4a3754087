import { Binary, BSON, Decimal128 as BsonDecimal, Double, Int32, Long, ObjectId as BsonObjectId, UUID as BsonUUID } from 'mongodb';

const EJSON = BSON.EJSON;
import { Decimal128, ObjectId, UUID } from '../../src/model';

/**
 * The type table (docs/connectors/mongodb.md, "Types"): BSON values ↔ realm values. Documents are
 * read with `promoteValues: false`, so Int32, Long and Double keep their BSON types and inference
 * can tell `3` (int) from `3.0` (double).
 *
 * | BSON                 | realm        | back to MongoDB                    |
 * |----------------------|--------------|------------------------------------|
 * | Int32, Long          | int          | Int32 when it fits, else Long      |
 * | Double               | double       | Double                             |
 * | String               | string       | String                             |
 * | Boolean              | bool         | Boolean                            |
 * | Date                 | date         | Date                               |
 * | ObjectId             | objectId     | ObjectId                           |
 * | Decimal128           | decimal128   | Decimal128                         |
 * | Binary subtype 4     | uuid         | Binary subtype 4 (UUID)            |
 * | Binary (other)       | data         | Binary subtype 0                   |
 * | embedded document    | string (canonical Extended JSON) | the document, types kept |
 * | array                | list of the element type         | array              |
 */

/** The scalar realm types a field can have. */
export type RealmScalar = 'int' | 'double' | 'float' | 'string' | 'bool' | 'date' | 'data' | 'decimal128' | 'objectId' | 'uuid' | 'mixed';

/** A field's realm shape: its scalar type, whether it is a list, whether null is allowed, and whether it is a sub-document kept as Extended JSON text. */
export interface FieldType {
  realm: RealmScalar;
  list: boolean;
  optional: boolean;
  /** A sub-document (or array of them) held in the realm as canonical Extended JSON text. */
  json?: boolean;
}

/** What a BSON value is, for inference and checks. */
export type BsonKind = 'int' | 'double' | 'string' | 'bool' | 'date' | 'objectId' | 'decimal128' | 'uuid' | 'data' | 'document' | 'array' | 'null' | 'other';

const bsontype = (v: unknown): string | undefined => (v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined);

export function bsonKind(v: unknown): BsonKind {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'double';
    case 'bigint':
      return 'int';
  }
  if (v instanceof Date) return 'date';
  if (Array.isArray(v)) return 'array';
  switch (bsontype(v)) {
    case 'Int32':
    case 'Long':
      return 'int';
    case 'Double':
      return 'double';
    case 'ObjectId':
      return 'objectId';
    case 'Decimal128':
      return 'decimal128';
    case 'Binary':
      return (v as Binary).sub_type === 4 ? 'uuid' : 'data';
    case undefined:
      return Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null ? 'document' : 'other';
    default:
      return 'other';
  }
}

const SCALAR_OF: Partial<Record<BsonKind, RealmScalar>> = { int: 'int', double: 'double', string: 'string', bool: 'bool', date: 'date', objectId: 'objectId', decimal128: 'decimal128', uuid: 'uuid', data: 'data' };

/** The realm type a value suggests (null: none — null, or a type with no realm counterpart). */
export function typeOfValue(v: unknown): FieldType | null {
  const k = bsonKind(v);
  if (k === 'document') return { realm: 'string', list: false, optional: true, json: true };
  if (k === 'array') {
    const kinds = new Set((v as unknown[]).map(bsonKind).filter((x) => x !== 'null'));
    if (kinds.has('document') || kinds.has('array') || kinds.has('other')) return { realm: 'string', list: false, optional: true, json: true };
    if (kinds.size === 0) return null;
    const scalar = kinds.size === 2 && kinds.has('int') && kinds.has('double') ? 'double' : kinds.size === 1 ? SCALAR_OF[[...kinds][0]!]! : null;
    return scalar ? { realm: scalar, list: true, optional: true } : { realm: 'string', list: false, optional: true, json: true };
  }
  const s = SCALAR_OF[k];
  return s ? { realm: s, list: false, optional: true } : null;
}

/** `'int?'`, `'double[]'` … → a field type. */
export function parseDeclared(text: string): FieldType {
  const m = /^([a-zA-Z0-9]+)(\?)?(\[\])?(\?)?$/.exec(text)!;
  return { realm: m[1] as RealmScalar, list: !!m[3], optional: !!(m[2] || m[4]) };
}

export function formatType(t: FieldType): string {
  return t.json ? 'string (Extended JSON)' : `${t.realm}${t.list ? '[]' : ''}${t.optional && !t.list ? '?' : ''}`;
}

/** The realm-js schema shorthand of a field type. */
export function realmSchemaType(t: FieldType): string {
  if (t.list) return `${t.realm}${t.optional ? '?' : ''}[]`;
  return `${t.realm}${t.optional ? '?' : ''}`;
}

/** Thrown by {@link toRealmValue} for a value the property's type cannot hold. */
export class Unfit extends Error {
  constructor(readonly kind: BsonKind) {
    super(`a ${kind} value`);
  }
}

function scalarToRealm(v: unknown, realm: RealmScalar): unknown {
  if (v === null || v === undefined) return null;
  const k = bsonKind(v);
  switch (realm) {
    case 'int': {
      if (k !== 'int' && k !== 'double') throw new Unfit(k);
      const n = bsontype(v) === 'Long' ? (v as Long).toNumber() : typeof v === 'bigint' ? Number(v) : Number((v as { valueOf(): number }).valueOf());
      if (!Number.isSafeInteger(n)) throw new Unfit(k);
      return n;
    }
    case 'double':
    case 'float':
      if (k !== 'int' && k !== 'double') throw new Unfit(k);
      return bsontype(v) === 'Long' ? (v as Long).toNumber() : Number((v as { valueOf(): number }).valueOf());
    case 'string':
      if (k !== 'string') throw new Unfit(k);
      return v;
    case 'bool':
      if (k !== 'bool') throw new Unfit(k);
      return v;
    case 'date':
      if (k !== 'date') throw new Unfit(k);
      return v;
    case 'objectId':
      if (k !== 'objectId') throw new Unfit(k);
      return new ObjectId((v as BsonObjectId).toHexString());
    case 'decimal128':
      if (k !== 'decimal128' && k !== 'int' && k !== 'double') throw new Unfit(k);
      return new Decimal128(String(bsontype(v) === 'Decimal128' ? (v as BsonDecimal).toString() : Number((v as { valueOf(): number }).valueOf())));
    case 'uuid':
      if (k !== 'uuid') throw new Unfit(k);
      return new UUID(Buffer.from((v as Binary).buffer).toString('hex'));
    case 'data':
      if (k !== 'data' && k !== 'uuid') throw new Unfit(k);
      return new Uint8Array((v as Binary).buffer);
    case 'mixed': {
      const t = typeOfValue(v);
      if (!t || t.list || t.json) throw new Unfit(k);
      return scalarToRealm(v, t.realm);
    }
  }
}

/** A BSON value → the realm value of a field of type `t` (throws {@link Unfit}). */
export function toRealmValue(v: unknown, t: FieldType): unknown {
  if (v === undefined || v === null) return t.list ? [] : null;
  if (t.json) return EJSON.stringify(v as never, { relaxed: false });
  if (t.list) {
    if (!Array.isArray(v)) throw new Unfit(bsonKind(v));
    return v.map((e) => scalarToRealm(e, t.realm));
  }
  return scalarToRealm(v, t.realm);
}

function scalarToBson(v: unknown, realm: RealmScalar): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof ObjectId) return new BsonObjectId(v.hex);
  if (v instanceof UUID) return new BsonUUID(v.hex);
  if (v instanceof Decimal128) return BsonDecimal.fromString(v.value);
  if (v instanceof Uint8Array) return new Binary(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  if (v instanceof ArrayBuffer) return new Binary(Buffer.from(v));
  if (typeof v === 'number') {
    if (realm === 'int' || (realm === 'mixed' && Number.isInteger(v))) return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff ? new Int32(v) : Long.fromNumber(v);
    return new Double(v);
  }
  if (typeof v === 'bigint') return Long.fromBigInt(v);
  return v; // string, boolean, Date
}

/** A realm value of a field of type `t` → its BSON value. */
export function toBsonValue(v: unknown, t: FieldType): unknown {
  if (t.json) return v === null || v === undefined || v === '' ? null : EJSON.parse(String(v), { relaxed: false });
  if (t.list) return v === null || v === undefined ? [] : Array.from(v as Iterable<unknown>, (e) => scalarToBson(e, t.realm));
  return scalarToBson(v, t.realm);
}

/** A realm primary key → the `_id` value. */
export function keyToBson(key: unknown): unknown {
  return scalarToBson(key, typeof key === 'number' ? 'int' : 'string');
}

/** A realm property description of the Adapter (`{ type, nullable }`) → a field type, or null when it has no field form (links, lists of links). */
export function fieldTypeOfProperty(p: { type: string; nullable?: boolean; object_type?: string }): FieldType | null {
  const scalar = ['int', 'double', 'float', 'string', 'bool', 'date', 'data', 'decimal128', 'objectId', 'uuid', 'mixed'];
  if (p.type === 'list') return p.object_type && scalar.includes(p.object_type) ? { realm: p.object_type as RealmScalar, list: true, optional: !!p.nullable } : null;
  return scalar.includes(p.type) ? { realm: p.type as RealmScalar, list: false, optional: p.nullable !== false } : null;
}

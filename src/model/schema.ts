import { Decimal128, ObjectId, UUID, Value } from './values';

export const PRIMITIVE_TYPES = [
  'bool',
  'int',
  'float',
  'double',
  'string',
  'date',
  'data',
  'decimal128',
  'objectId',
  'uuid',
  'mixed',
] as const;
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number];
export type PropertyType = PrimitiveType | 'object' | 'list' | 'linkingObjects';

/** Types allowed for a primary key. */
export const PRIMARY_KEY_TYPES: readonly PrimitiveType[] = ['int', 'string', 'objectId', 'uuid'];

/**
 * One property of an object type.
 *
 * - `object`: a link; `objectType` names the target type; always optional.
 * - `list`: `objectType` is the element type: a primitive type name or an object type name (a list
 *   of links). `optional` says whether primitive elements may be null.
 * - `linkingObjects`: computed backlinks from `objectType.property`; never synced as data.
 */
export interface PropertySchema {
  name: string;
  type: PropertyType;
  objectType?: string;
  property?: string;
  optional: boolean;
  /** Local only: not compared when schemas from different clients meet. */
  indexed?: boolean;
  /** Local only: the value a create uses when none is given. */
  default?: Value;
}

export interface ObjectSchema {
  name: string;
  primaryKey: string | null;
  properties: PropertySchema[];
}

export function isPrimitiveType(t: string): t is PrimitiveType {
  return (PRIMITIVE_TYPES as readonly string[]).includes(t);
}

/** True when a list property holds links (its element type is an object type). */
export function isLinkList(p: PropertySchema): boolean {
  return p.type === 'list' && !!p.objectType && !isPrimitiveType(p.objectType);
}

/** True for a property whose values are links: a single link or a list of links. */
export function isLinkProperty(p: PropertySchema): boolean {
  return p.type === 'object' || isLinkList(p);
}

/** The fields that must agree when two clients add the same property (indexes and defaults are local). */
export function samePropertyShape(a: PropertySchema, b: PropertySchema): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    (a.objectType ?? null) === (b.objectType ?? null) &&
    (a.property ?? null) === (b.property ?? null) &&
    a.optional === b.optional
  );
}

/** Only the synchronised shape of a property (drops local-only fields). */
export function syncedProperty(p: PropertySchema): PropertySchema {
  const out: PropertySchema = { name: p.name, type: p.type, optional: p.optional };
  if (p.objectType !== undefined) out.objectType = p.objectType;
  if (p.property !== undefined) out.property = p.property;
  return out;
}

export class SchemaError extends Error {
  readonly code = 'SCHEMA_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,62}$/;

/** Input forms accepted for one property, as in realm-js. */
export type PropertyInput =
  | string
  | {
      type: string;
      objectType?: string;
      property?: string;
      optional?: boolean;
      default?: unknown;
      indexed?: boolean;
      mapTo?: string;
    };

export interface ObjectSchemaInput {
  name: string;
  primaryKey?: string;
  properties: Record<string, PropertyInput>;
  embedded?: boolean;
}

/**
 * Turns a realm-js style schema (shorthands `'int?'`, `'Dog[]'`, `'int[]'`, `{type:'list',
 * objectType}`, `{type:'linkingObjects'}`, defaults, indexed) into normalised object schemas, and
 * checks that links point at declared types and primary keys are of an allowed type.
 */
export function normalizeSchema(input: ReadonlyArray<ObjectSchemaInput | ObjectSchema | { schema: ObjectSchemaInput }>): ObjectSchema[] {
  if (!Array.isArray(input)) throw new SchemaError('schema must be an array of object schemas');
  const out = input.map((raw) => normalizeObjectSchema(raw));
  const names = new Set<string>();
  for (const s of out) {
    if (names.has(s.name)) throw new SchemaError(`type '${s.name}' is declared twice`);
    names.add(s.name);
  }
  for (const s of out) {
    for (const p of s.properties) {
      if ((p.type === 'object' || p.type === 'linkingObjects' || isLinkList(p)) && !names.has(p.objectType!)) {
        throw new SchemaError(`${s.name}.${p.name} refers to unknown type '${p.objectType}'`);
      }
      if (p.type === 'linkingObjects') {
        const origin = out.find((t) => t.name === p.objectType)!;
        const op = origin.properties.find((q) => q.name === p.property);
        if (!op || !isLinkProperty(op) || op.objectType !== s.name) {
          throw new SchemaError(`${s.name}.${p.name}: '${p.objectType}.${p.property}' is not a link to '${s.name}'`);
        }
      }
    }
  }
  return out;
}

/** The `__` types realm-js programs declare themselves (query-based-sync permissions, `Realm.Permissions`). */
const REALM_JS_SYSTEM_TYPES = new Set(['__Permission', '__Role', '__User', '__Class', '__Realm']);

function normalizeObjectSchema(raw: ObjectSchemaInput | ObjectSchema | { schema: ObjectSchemaInput }): ObjectSchema {
  // A Realm.Object subclass carries its schema as a static `schema` property.
  const src: any = raw && typeof raw === 'function' ? (raw as any).schema : 'schema' in (raw as any) && !(raw as any).name ? (raw as any).schema : raw;
  if (!src || typeof src !== 'object') throw new SchemaError('each object schema must be an object with a name');
  if (typeof src.name !== 'string' || !NAME.test(src.name)) throw new SchemaError(`invalid type name '${src.name}'`);
  if (src.name.startsWith('__') && !REALM_JS_SYSTEM_TYPES.has(src.name)) throw new SchemaError(`type name '${src.name}' is reserved`);
  const props: PropertySchema[] = [];
  if (Array.isArray(src.properties)) {
    for (const p of src.properties as PropertySchema[]) props.push(normalizeProperty(src.name, p.name, p as any));
  } else if (src.properties && typeof src.properties === 'object') {
    for (const [name, p] of Object.entries(src.properties)) props.push(normalizeProperty(src.name, name, p as PropertyInput));
  } else {
    throw new SchemaError(`type '${src.name}' has no properties`);
  }
  const seen = new Set<string>();
  for (const p of props) {
    if (seen.has(p.name)) throw new SchemaError(`${src.name}.${p.name} is declared twice`);
    seen.add(p.name);
  }
  const primaryKey: string | null = src.primaryKey ?? null;
  if (primaryKey !== null) {
    const pk = props.find((p) => p.name === primaryKey);
    if (!pk) throw new SchemaError(`primary key '${primaryKey}' is not a property of '${src.name}'`);
    if (!PRIMARY_KEY_TYPES.includes(pk.type as PrimitiveType)) {
      throw new SchemaError(`primary key ${src.name}.${primaryKey} must be int, string, objectId or uuid, not ${pk.type}`);
    }
    if (pk.optional) throw new SchemaError(`primary key ${src.name}.${primaryKey} cannot be optional`);
    pk.indexed = true;
  }
  return { name: src.name, primaryKey, properties: props };
}

function normalizeProperty(typeName: string, name: string, input: PropertyInput): PropertySchema {
  if (!NAME.test(name)) throw new SchemaError(`invalid property name '${typeName}.${name}'`);
  const spec = typeof input === 'string' ? { type: input } : input;
  if (!spec || typeof spec.type !== 'string') throw new SchemaError(`${typeName}.${name}: property type missing`);
  let type = spec.type.trim();
  let optional = spec.optional ?? false;
  let list = false;
  if (type.endsWith('[]')) {
    list = true;
    type = type.slice(0, -2);
  }
  if (type.endsWith('?')) {
    optional = true;
    type = type.slice(0, -1);
  }
  type = ALIASES[type] ?? type;
  const where = `${typeName}.${name}`;
  let prop: PropertySchema;
  if (type === 'list') {
    if (!spec.objectType) throw new SchemaError(`${where}: a list needs an objectType`);
    const el = ALIASES[spec.objectType] ?? spec.objectType;
    prop = { name, type: 'list', objectType: el, optional: isPrimitiveType(el) ? optional : false };
  } else if (type === 'linkingObjects') {
    if (!spec.objectType || !spec.property) throw new SchemaError(`${where}: linkingObjects needs objectType and property`);
    prop = { name, type: 'linkingObjects', objectType: spec.objectType, property: spec.property, optional: false };
  } else if (type === 'object') {
    if (!spec.objectType) throw new SchemaError(`${where}: a link needs an objectType`);
    prop = { name, type: 'object', objectType: spec.objectType, optional: true };
  } else if (list) {
    prop = { name, type: 'list', objectType: type, optional: isPrimitiveType(type) ? optional : false };
  } else if (isPrimitiveType(type)) {
    prop = { name, type, optional: type === 'mixed' ? true : optional };
  } else {
    if (!NAME.test(type)) throw new SchemaError(`${where}: unknown property type '${spec.type}'`);
    prop = { name, type: 'object', objectType: type, optional: true };
  }
  if (prop.type === 'list' && prop.objectType === 'mixed') prop.optional = true;
  if (spec.indexed) prop.indexed = true;
  if (spec.default !== undefined) prop.default = spec.default as Value;
  return prop;
}

const ALIASES: Record<string, string> = { boolean: 'bool', integer: 'int', number: 'double', Date: 'date', binary: 'data', decimal: 'decimal128', ObjectId: 'objectId', UUID: 'uuid' };

/**
 * Checks a value against a primitive type and returns it in canonical form (e.g. an ISO string
 * for a date becomes a Date, an ArrayBuffer becomes a Uint8Array). Throws a TypeError naming the
 * property otherwise.
 */
export function coercePrimitive(type: PrimitiveType, optional: boolean, value: unknown, where: string): Value {
  if (value === null || value === undefined) {
    if (optional || type === 'mixed') return null;
    throw new TypeError(`${where} cannot be null`);
  }
  switch (type) {
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'int':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      break;
    case 'float':
      if (typeof value === 'number') return Math.fround(value);
      break;
    case 'double':
      if (typeof value === 'number') return value;
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'date':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return new Date(value.getTime());
      if (typeof value === 'string' || typeof value === 'number') {
        const d = new Date(value);
        if (!Number.isNaN(d.getTime())) return d;
      }
      break;
    case 'data':
      if (value instanceof Uint8Array) return new Uint8Array(value);
      if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
      if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
      break;
    case 'decimal128':
      if (value instanceof Decimal128) return value;
      if (typeof value === 'number' || typeof value === 'string') return new Decimal128(String(value));
      break;
    case 'objectId':
      if (value instanceof ObjectId) return value;
      if (typeof value === 'string') return new ObjectId(value);
      if (value && typeof (value as any).toHexString === 'function') return new ObjectId((value as any).toHexString());
      break;
    case 'uuid':
      if (value instanceof UUID) return value;
      if (typeof value === 'string') return new UUID(value);
      break;
    case 'mixed':
      if (
        typeof value === 'boolean' ||
        typeof value === 'number' ||
        typeof value === 'string' ||
        value instanceof Date ||
        value instanceof Uint8Array ||
        value instanceof ObjectId ||
        value instanceof UUID ||
        value instanceof Decimal128
      ) {
        return value as Value;
      }
      if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
      break;
  }
  throw new TypeError(`${where} expects ${type}${optional ? '?' : ''}, got ${describe(value)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a Date';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

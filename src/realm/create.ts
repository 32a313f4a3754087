import { randomBytes } from 'node:crypto';
import { readValue, valuesEqual, type Instruction } from '../changeset';
import { TributaryError } from '../errors';
import { coercePrimitive, keyString, mintObjectKey, type ObjectKey, type PrimitiveType, type PropertySchema, type Value } from '../model';
import type { RealmContext, UpdateMode } from './context';
import { List } from './list';
import { objectInternals } from './object-internals';

/** realm-js update arguments → our modes. */
export function updateMode(update: unknown): UpdateMode {
  if (update === undefined || update === false || update === 'never') return 'never';
  if (update === true || update === 'all') return 'all';
  if (update === 'modified') return 'modified';
  throw new TributaryError('INVALID_ARGUMENT', `update must be true, false, 'never', 'modified' or 'all', not ${String(update)}`);
}

/** Reads a value out of a plain object or a live object. */
function valueOf(values: unknown, name: string): unknown {
  return (values as Record<string, unknown>)[name];
}

function hasValue(values: unknown, name: string): boolean {
  if (objectInternals(values)) return true;
  return Object.prototype.hasOwnProperty.call(values, name) && (values as Record<string, unknown>)[name] !== undefined;
}

/**
 * `realm.create(type, values, update)`: emits Create (or Set for an existing object when updating)
 * and ListInserts, creating linked objects given as plain objects first (the strict applier needs
 * link targets to exist). Returns the object's key.
 */
export function createObject(ctx: RealmContext, type: string, values: unknown, mode: UpdateMode): ObjectKey {
  ctx.requireWrite();
  if (values === null || typeof values !== 'object') throw new TributaryError('INVALID_ARGUMENT', `create('${type}'): values must be an object`);
  const schema = ctx.objectSchema(type);
  let id: ObjectKey;
  if (schema.primaryKey !== null) {
    const pk = schema.properties.find((p) => p.name === schema.primaryKey)!;
    const given = valueOf(values, pk.name) ?? pk.default;
    if (given === undefined || given === null) throw new TributaryError('INVALID_ARGUMENT', `create('${type}'): missing primary key '${pk.name}'`);
    id = toKey(pk, given, `${type}.${pk.name}`);
  } else {
    id = mintObjectKey(pooledRandomBytes);
  }
  const existing = schema.primaryKey !== null ? ctx.record(type, id) : undefined;
  if (existing && mode === 'never') {
    throw new TributaryError('PRIMARY_KEY_EXISTS', `Attempting to create an object of type '${type}' with an existing primary key value '${String(id)}'.`);
  }

  const scalars: Record<string, Value> = {};
  const defaults: string[] = [];
  const lists: [PropertySchema, unknown][] = [];
  for (const p of schema.properties) {
    if (p.name === schema.primaryKey || p.type === 'linkingObjects') continue;
    const where = `${type}.${p.name}`;
    let raw: unknown;
    let isDefault = false;
    if (hasValue(values, p.name)) raw = valueOf(values, p.name);
    else if (existing) continue;
    else if (p.default !== undefined) {
      raw = p.default;
      isDefault = true;
    } else if (p.type === 'list' || p.type === 'object' || p.optional) continue;
    else throw new TributaryError('INVALID_ARGUMENT', `Missing value for property '${where}'`);

    if (p.type === 'list') {
      lists.push([p, raw]);
      continue;
    }
    const value = p.type === 'object' ? ctx.linkKey(p.objectType!, raw, mode, where) : ctx.primitive(p.type, p.optional, raw, where);
    if (existing && mode === 'modified' && valuesEqual(readValue(schema, existing, p.name), value)) continue;
    scalars[p.name] = value;
    if (isDefault) defaults.push(p.name);
  }

  const out: Instruction[] = [];
  if (!existing) out.push(defaults.length ? { op: 'Create', type, id, values: scalars, defaults } : { op: 'Create', type, id, values: scalars });
  else if (Object.keys(scalars).length > 0) out.push({ op: 'Set', type, id, values: scalars });
  ctx.emit(out);
  for (const [p, raw] of lists) new List(ctx, type, id, p).replaceAll(raw, existing ? mode : 'all');
  return id;
}

function toKey(pk: PropertySchema, value: unknown, where: string): ObjectKey {
  return coercePrimitive(pk.type as PrimitiveType, false, value, where) as ObjectKey;
}

/**
 * The key a link property gets for `value`: a live object (of the right type), a plain object
 * (created or updated first), or null.
 */
export function linkKeyFor(ctx: RealmContext, targetType: string, value: unknown, mode: UpdateMode, where: string): ObjectKey | null {
  if (value === null || value === undefined) return null;
  const live = objectInternals(value);
  if (live) {
    if (live.type !== targetType) throw new TributaryError('INVALID_ARGUMENT', `${where} expects a ${targetType}, got a ${live.type}`);
    if (live.ctx.replica !== ctx.replica) throw new TributaryError('INVALID_ARGUMENT', `${where}: the object belongs to another realm`);
    if (!ctx.record(targetType, live.id)) throw new TributaryError('OBJECT_INVALIDATED', `${where}: the ${targetType} ${keyString(live.id)} has been deleted`);
    return live.id;
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new TributaryError('INVALID_ARGUMENT', `${where} expects a ${targetType} object, got ${typeof value}`);
  const target = ctx.objectSchema(targetType);
  // Nested creates follow the outer mode, except that an existing primary key is updated rather
  // than rejected when the outer call updates.
  return createObject(ctx, targetType, value, target.primaryKey === null ? 'never' : mode);
}

/**
 * Random bytes for minted keys from a pool refilled 4 KiB at a time: one `randomBytes` call per
 * key cost about 3.5 µs, more than the rest of creating a small object.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
function pooledRandomBytes(n: number): Uint8Array {
  if (n > 256) return randomBytes(n);
  if (poolAt + n > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

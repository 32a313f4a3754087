import { Decimal128, ObjectId, ObjectSchema, PropertySchema, UUID, Value, ObjectKey, keyString, valuesEqual } from '../model';
import { isPrimitiveType } from '../model/schema';

/** One entry of a list as stored: a tombstone keeps its wire index but is invisible to users. */
export interface ListEntry {
  value: Value;
  dead?: true;
}

/** An object as stored in a replica. Absent `values` entries read as the property's zero value. */
export interface ObjectRecord {
  id: ObjectKey;
  values: Record<string, Value>;
  lists: Record<string, ListEntry[]>;
}

/**
 * What `apply()` needs from a replica. Implemented in memory (tests, simulation) and on SQLite
 * (client replica, server). A record returned by `getObject` may be mutated by the caller, which
 * then hands it back with `putObject`.
 */
export interface StateStore {
  getSchema(type: string): ObjectSchema | undefined;
  schemas(): ObjectSchema[];
  putSchema(schema: ObjectSchema): void;
  getObject(type: string, id: ObjectKey): ObjectRecord | undefined;
  /** Inserts at the end of the type's creation order, or replaces in place. */
  putObject(type: string, record: ObjectRecord): void;
  /**
   * Optional: inserts `record` at the end of the creation order only if no object of `type` has
   * its key, and says whether it did (false: nothing was written). Lets a create skip the lookup
   * that would find nothing.
   */
  insertObject?(type: string, record: ObjectRecord): boolean;
  deleteObject(type: string, id: ObjectKey): void;
  /** The type's objects in local creation order. */
  objects(type: string): Iterable<ObjectRecord>;
  /**
   * Optional index: the objects of `fromType` that may hold a link to (`type`, `id`). Without it
   * `apply` scans every object of each type that links to `type`.
   */
  referrers?(type: string, id: ObjectKey, fromType: string): Iterable<ObjectRecord>;
}

/** Notified by `apply()` of every effect, for change events and Adapter streams. */
export interface ApplyObserver {
  schemaChanged?(type: string): void;
  created?(type: string, id: ObjectKey): void;
  modified?(type: string, id: ObjectKey, property: string): void;
  deleted?(type: string, id: ObjectKey): void;
}

/** The value an unset property reads as. */
export function zeroValue(p: PropertySchema): Value {
  if (p.optional || p.type === 'object' || p.type === 'mixed') return null;
  switch (p.type) {
    case 'bool':
      return false;
    case 'int':
    case 'float':
    case 'double':
      return 0;
    case 'string':
      return '';
    case 'date':
      return new Date(0);
    case 'data':
      return new Uint8Array(0);
    case 'decimal128':
      return new Decimal128('0');
    case 'objectId':
      return new ObjectId('000000000000000000000000');
    case 'uuid':
      return new UUID('00000000000000000000000000000000');
    default:
      return null;
  }
}

/** Reads a scalar property of a record, falling back to the property's zero value. */
export function readValue(schema: ObjectSchema, record: ObjectRecord, property: string): Value {
  if (schema.primaryKey === property) return record.id as Value;
  const v = record.values[property];
  if (v !== undefined) return v;
  const p = schema.properties.find((q) => q.name === property);
  return p ? zeroValue(p) : null;
}

export function cloneRecord(r: ObjectRecord): ObjectRecord {
  const lists: Record<string, ListEntry[]> = {};
  for (const [k, l] of Object.entries(r.lists)) lists[k] = l.map((e) => (e.dead ? { value: e.value, dead: true } : { value: e.value }));
  return { id: r.id, values: { ...r.values }, lists };
}

/** An in-memory replica: the reference implementation of {@link StateStore}. */
export class MemoryState implements StateStore {
  private readonly types = new Map<string, { schema: ObjectSchema; objects: Map<string, ObjectRecord> }>();

  getSchema(type: string): ObjectSchema | undefined {
    return this.types.get(type)?.schema;
  }
  schemas(): ObjectSchema[] {
    return [...this.types.values()].map((t) => t.schema);
  }
  putSchema(schema: ObjectSchema): void {
    const t = this.types.get(schema.name);
    if (t) t.schema = schema;
    else this.types.set(schema.name, { schema, objects: new Map() });
  }
  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    return this.types.get(type)?.objects.get(keyString(id));
  }
  putObject(type: string, record: ObjectRecord): void {
    this.types.get(type)!.objects.set(keyString(record.id), record);
  }
  deleteObject(type: string, id: ObjectKey): void {
    this.types.get(type)?.objects.delete(keyString(id));
  }
  objects(type: string): Iterable<ObjectRecord> {
    return this.types.get(type)?.objects.values() ?? [];
  }

  /** A deep copy (for simulations that fork a replica). */
  clone(): MemoryState {
    const c = new MemoryState();
    for (const [name, t] of this.types) {
      const objects = new Map<string, ObjectRecord>();
      for (const [k, r] of t.objects) objects.set(k, cloneRecord(r));
      c.types.set(name, { schema: { ...t.schema, properties: t.schema.properties.map((p) => ({ ...p })) }, objects });
    }
    return c;
  }
}

/**
 * A canonical, order-independent description of a replica's content, for comparing replicas:
 * types and properties sorted by name, objects sorted by key, unset values filled with zeros.
 * Creation order is local to each replica and is deliberately not part of it.
 */
export function canonicalState(store: StateStore): unknown {
  const out: Record<string, unknown> = {};
  for (const schema of [...store.schemas()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const props = [...schema.properties].sort((a, b) => (a.name < b.name ? -1 : 1));
    const objects: Record<string, unknown> = {};
    for (const r of store.objects(schema.name)) {
      const o: Record<string, unknown> = {};
      for (const p of props) {
        if (p.type === 'linkingObjects') continue;
        if (p.type === 'list') o[p.name] = (r.lists[p.name] ?? []).map((e) => (e.dead ? ['dead', show(e.value)] : show(e.value)));
        else o[p.name] = show(readValue(schema, r, p.name));
      }
      objects[keyString(r.id)] = o;
    }
    const sortedObjects: Record<string, unknown> = {};
    for (const k of Object.keys(objects).sort()) sortedObjects[k] = objects[k];
    out[schema.name] = {
      primaryKey: schema.primaryKey,
      properties: props.map((p) => [p.name, p.type, p.objectType ?? null, p.optional]),
      objects: sortedObjects,
    };
  }
  return out;
}

function show(v: Value): unknown {
  if (v instanceof Date) return { date: v.getTime() };
  if (v instanceof Uint8Array) return { data: Array.from(v) };
  if (v instanceof ObjectId || v instanceof UUID || v instanceof Decimal128) return { [v.constructor.name]: v.toString() };
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return v;
}

export { valuesEqual, isPrimitiveType };

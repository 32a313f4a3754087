import {
  ObjectKey,
  ObjectSchema,
  PropertySchema,
  Value,
  coercePrimitive,
  isLinkList,
  isObjectKey,
  isPrimitiveType,
  keyString,
  samePropertyShape,
  syncedProperty,
} from '../model';
import { TributaryError } from '../errors';
import type { Instruction, ListInstruction } from './instructions';
import { ApplyObserver, ListEntry, ObjectRecord, StateStore, zeroValue } from './state';

/** A changeset that cannot be applied; `index` is the failing instruction. Maps to protocol 212. */
export class BadChangesetError extends TributaryError {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super('BAD_CHANGESET', `bad changeset at instruction ${index}: ${message}`);
  }
}

/**
 * Applies instructions to a replica, strictly: a missing type, property or object, a value of the
 * wrong type, a link to a missing object or a list size different from `prior` throws
 * {@link BadChangesetError}. The caller makes the whole call atomic (a SQLite transaction, or a
 * clone for the in-memory store).
 *
 * Only a changeset that is wrong is BAD_CHANGESET (which tells a client to reset): a failure of the
 * store underneath (disk full, I/O error, a closed database) propagates unchanged, so the caller
 * reports it as the storage failure it is and the same changeset can be applied again later.
 *
 * Deleting an object nulls single links to it and turns list entries pointing at it into
 * tombstones, on every replica alike.
 */
export function apply(store: StateStore, instructions: readonly Instruction[], observer?: ApplyObserver): void {
  for (let i = 0; i < instructions.length; i++) {
    try {
      applyOne(store, instructions[i], observer);
    } catch (e) {
      if (e instanceof Fail) throw new BadChangesetError(e.message, i);
      throw e;
    }
  }
}

/** What is wrong with the changeset itself; nothing else becomes BAD_CHANGESET. */
class Fail extends Error {}

/** A value checked by the model (coercePrimitive throws TypeError on a wrong type) is the changeset's fault. */
function checkedValue(type: string, optional: boolean, value: unknown, where: string): Value {
  try {
    return coercePrimitive(type as any, optional, value, where);
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new Fail(e.message);
    throw e;
  }
}

function applyOne(store: StateStore, ins: Instruction, observer?: ApplyObserver): void {
  switch (ins.op) {
    case 'AddType': {
      const existing = store.getSchema(ins.type);
      if (existing) {
        if (existing.primaryKey !== ins.primaryKey) throw new Fail(`type ${ins.type} exists with primary key ${existing.primaryKey}`);
        addProperties(store, existing, ins.properties, observer);
      } else {
        checkTypeName(ins.type);
        const schema: ObjectSchema = { name: ins.type, primaryKey: ins.primaryKey, properties: [] };
        for (const p of ins.properties) checkProperty(ins.type, p);
        schema.properties = ins.properties.map(syncedProperty);
        if (ins.primaryKey !== null) {
          const pk = schema.properties.find((p) => p.name === ins.primaryKey);
          if (!pk || !['int', 'string', 'objectId', 'uuid'].includes(pk.type) || pk.optional) throw new Fail(`bad primary key ${ins.type}.${ins.primaryKey}`);
        }
        store.putSchema(schema);
        observer?.schemaChanged?.(ins.type);
      }
      return;
    }
    case 'AddProperties': {
      const existing = needType(store, ins.type);
      addProperties(store, existing, ins.properties, observer);
      return;
    }
    case 'Create': {
      const schema = needType(store, ins.type);
      checkKey(schema, ins.id);
      if (store.insertObject) {
        // Most creates make a new object: try that first, in one statement, instead of a lookup
        // that finds nothing followed by an insert. writeValues only validates and reads.
        const fresh: ObjectRecord = { id: ins.id, values: {}, lists: {} };
        writeValues(store, schema, fresh, ins.values);
        if (store.insertObject(ins.type, fresh)) {
          observer?.created?.(ins.type, ins.id);
          return;
        }
      }
      let record = store.getObject(ins.type, ins.id);
      const created = !record;
      if (!record) record = { id: ins.id, values: {}, lists: {} };
      const changed = writeValues(store, schema, record, ins.values);
      store.putObject(ins.type, record);
      if (created) observer?.created?.(ins.type, ins.id);
      else for (const p of changed) observer?.modified?.(ins.type, ins.id, p);
      return;
    }
    case 'Set': {
      const schema = needType(store, ins.type);
      const record = needObject(store, ins.type, ins.id);
      const changed = writeValues(store, schema, record, ins.values);
      store.putObject(ins.type, record);
      for (const p of changed) observer?.modified?.(ins.type, ins.id, p);
      return;
    }
    case 'AddInteger': {
      const schema = needType(store, ins.type);
      const prop = needProperty(schema, ins.property);
      if (prop.type !== 'int') throw new Fail(`AddInteger on ${ins.type}.${ins.property} of type ${prop.type}`);
      if (!Number.isSafeInteger(ins.delta)) throw new Fail('AddInteger delta is not a safe integer');
      const record = needObject(store, ins.type, ins.id);
      // An unset property reads as its zero value (null when optional), exactly as readers see it.
      const current = record.values[ins.property] ?? zeroValue(prop);
      if (current === null) return; // adding to null is a no-op, as in Realm
      const next = (current as number) + ins.delta;
      if (!Number.isSafeInteger(next)) throw new Fail(`AddInteger overflows ${ins.type}.${ins.property}`);
      record.values[ins.property] = next;
      store.putObject(ins.type, record);
      observer?.modified?.(ins.type, ins.id, ins.property);
      return;
    }
    case 'Delete': {
      needType(store, ins.type);
      deleteObject(store, ins.type, ins.id, observer);
      return;
    }
    case 'Clear': {
      needType(store, ins.type);
      const ids = [...store.objects(ins.type)].map((r) => r.id);
      for (const id of ids) deleteObject(store, ins.type, id, observer);
      return;
    }
    default:
      applyList(store, ins, observer);
  }
}

function applyList(store: StateStore, ins: ListInstruction, observer?: ApplyObserver): void {
  const schema = needType(store, ins.type);
  const prop = needProperty(schema, ins.property);
  if (prop.type !== 'list') throw new Fail(`${ins.type}.${ins.property} is not a list`);
  const record = needObject(store, ins.type, ins.id);
  const list = record.lists[ins.property] ?? (record.lists[ins.property] = []);
  if (!Number.isInteger(ins.prior) || list.length !== ins.prior) {
    throw new Fail(`${ins.op} on ${ins.type}.${ins.property}: list size is ${list.length}, instruction expects ${ins.prior}`);
  }
  switch (ins.op) {
    case 'ListSet':
      checkIndex(ins.index, list.length - 1);
      list[ins.index] = listEntry(store, schema, prop, ins.value, ins.dead);
      break;
    case 'ListInsert':
      checkIndex(ins.index, list.length);
      list.splice(ins.index, 0, listEntry(store, schema, prop, ins.value, ins.dead));
      break;
    case 'ListErase':
      checkIndex(ins.index, list.length - 1);
      list.splice(ins.index, 1);
      break;
    case 'ListMove': {
      checkIndex(ins.from, list.length - 1);
      checkIndex(ins.to, list.length - 1);
      const [entry] = list.splice(ins.from, 1);
      list.splice(ins.to, 0, entry);
      break;
    }
    case 'ListClear':
      list.length = 0;
      break;
  }
  store.putObject(ins.type, record);
  observer?.modified?.(ins.type, ins.id, ins.property);
}

function checkIndex(index: number, max: number): void {
  if (!Number.isInteger(index) || index < 0 || index > max) throw new Fail(`list index ${index} out of range 0..${max}`);
}

function listEntry(store: StateStore, schema: ObjectSchema, prop: PropertySchema, value: Value, dead: boolean | undefined): ListEntry {
  const where = `${schema.name}.${prop.name}[]`;
  if (isLinkList(prop)) {
    if (!isObjectKey(value)) throw new Fail(`${where} expects a link, got ${String(value)}`);
    if (dead) return { value, dead: true };
    const target = needType(store, prop.objectType!);
    checkKey(target, value);
    if (!store.getObject(prop.objectType!, value)) throw new Fail(`${where} links to missing ${prop.objectType} ${keyString(value)}`);
    return { value };
  }
  if (dead) throw new Fail(`${where}: tombstone in a list of primitives`);
  return { value: checkedValue(prop.objectType!, prop.optional, value, where) };
}

function writeValues(store: StateStore, schema: ObjectSchema, record: ObjectRecord, values: Record<string, Value>): string[] {
  const changed: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const prop = needProperty(schema, name);
    if (name === schema.primaryKey) throw new Fail(`cannot set primary key ${schema.name}.${name}`);
    const where = `${schema.name}.${name}`;
    if (prop.type === 'list' || prop.type === 'linkingObjects') throw new Fail(`${where} cannot be set as a value`);
    if (prop.type === 'object') {
      if (value !== null) {
        const target = needType(store, prop.objectType!);
        if (!isObjectKey(value)) throw new Fail(`${where} expects a link, got ${String(value)}`);
        checkKey(target, value);
        if (!store.getObject(prop.objectType!, value)) throw new Fail(`${where} links to missing ${prop.objectType} ${keyString(value)}`);
      }
      record.values[name] = value;
    } else {
      record.values[name] = checkedValue(prop.type, prop.optional, value, where);
    }
    changed.push(name);
  }
  return changed;
}

function deleteObject(store: StateStore, type: string, id: ObjectKey, observer?: ApplyObserver): void {
  if (!store.getObject(type, id)) return; // deleting a missing object is a no-op
  store.deleteObject(type, id);
  observer?.deleted?.(type, id);
  const key = keyString(id);
  for (const schema of store.schemas()) {
    const linkProps = schema.properties.filter((p) => (p.type === 'object' || isLinkList(p)) && p.objectType === type);
    if (linkProps.length === 0) continue;
    const candidates = store.referrers ? [...store.referrers(type, id, schema.name)] : [...store.objects(schema.name)];
    for (const r of candidates) {
      let touched = false;
      for (const p of linkProps) {
        if (p.type === 'object') {
          const v = r.values[p.name];
          if (v !== null && v !== undefined && keyString(v as ObjectKey) === key) {
            r.values[p.name] = null;
            touched = true;
            observer?.modified?.(schema.name, r.id, p.name);
          }
        } else {
          const list = r.lists[p.name];
          if (!list) continue;
          let listTouched = false;
          for (const e of list) {
            if (!e.dead && keyString(e.value as ObjectKey) === key) {
              e.dead = true;
              listTouched = true;
            }
          }
          if (listTouched) {
            touched = true;
            observer?.modified?.(schema.name, r.id, p.name);
          }
        }
      }
      if (touched) store.putObject(schema.name, r);
    }
  }
}

function addProperties(store: StateStore, schema: ObjectSchema, props: PropertySchema[], observer?: ApplyObserver): void {
  let added = false;
  const next = [...schema.properties];
  for (const p of props) {
    checkProperty(schema.name, p);
    const existing = next.find((q) => q.name === p.name);
    if (existing) {
      if (!samePropertyShape(existing, syncedProperty(p))) throw new Fail(`property ${schema.name}.${p.name} exists with a different type`);
      continue;
    }
    next.push(syncedProperty(p));
    added = true;
  }
  if (added) {
    store.putSchema({ ...schema, properties: next });
    observer?.schemaChanged?.(schema.name);
  }
}

function checkTypeName(name: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]{0,62}$/.test(name)) throw new Fail(`invalid type name '${name}'`);
}

function checkProperty(type: string, p: PropertySchema): void {
  if (!p || typeof p.name !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]{0,62}$/.test(p.name)) throw new Fail(`invalid property in ${type}`);
  const ok =
    isPrimitiveType(p.type) ||
    ((p.type === 'object' || p.type === 'list' || p.type === 'linkingObjects') && typeof p.objectType === 'string');
  if (!ok) throw new Fail(`invalid property ${type}.${p.name} of type ${p.type}`);
}

function needType(store: StateStore, type: string): ObjectSchema {
  const s = store.getSchema(type);
  if (!s) throw new Fail(`no type ${type}`);
  return s;
}

function needProperty(schema: ObjectSchema, name: string): PropertySchema {
  const p = schema.properties.find((q) => q.name === name);
  if (!p) throw new Fail(`no property ${schema.name}.${name}`);
  return p;
}

function needObject(store: StateStore, type: string, id: ObjectKey): ObjectRecord {
  if (!isObjectKey(id)) throw new Fail(`bad object key ${String(id)}`);
  const r = store.getObject(type, id);
  if (!r) throw new Fail(`no object ${type} ${keyString(id)}`);
  return r;
}

function checkKey(schema: ObjectSchema, id: ObjectKey): void {
  if (!isObjectKey(id)) throw new Fail(`bad object key ${String(id)}`);
  if (schema.primaryKey === null) {
    if (typeof id !== 'string') throw new Fail(`${schema.name} has no primary key; its object keys are minted strings`);
    return;
  }
  const pk = schema.properties.find((p) => p.name === schema.primaryKey)!;
  const kind = typeof id === 'number' ? 'int' : typeof id === 'string' ? 'string' : id.constructor.name === 'ObjectId' ? 'objectId' : 'uuid';
  if (kind !== pk.type) throw new Fail(`${schema.name} primary key is ${pk.type}, got ${kind}`);
}

import { readValue, type ObjectRecord } from '../changeset';
import { TributaryError } from '../errors';
import { cloneValue, isLinkList, keyString, type ObjectKey, type PropertySchema } from '../model';
import type { RealmContext } from './context';
import { List } from './list';
import { Results } from './results';

import type { ObjectListener } from './notifications';
import { internals, type ObjectInternals } from './object-internals';
import { plainValue, REALM_VALUE } from './plain';
import { schemaView, type RealmSchemaView } from './schema-view';

/**
 * A live object: property reads go through the replica by (type, id) every time, so they always
 * show the current state; property writes become instructions of the current write transaction.
 * Instances are Proxies over a RealmObject so schema properties behave like own properties
 * (`Object.keys`, spread, JSON).
 */
export class RealmObject {
  /** False once the object was deleted (locally or by a download) or its realm closed. */
  isValid(): boolean {
    const i = internals.get(this)!;
    try {
      return !!i.ctx.record(i.type, i.id);
    } catch {
      return false;
    }
  }

  /** The object's schema in realm-js form (`{ name, primaryKey, properties: { name: {type, …} } }`). */
  objectSchema(): RealmSchemaView {
    const i = internals.get(this)!;
    return schemaView(i.ctx.objectSchema(i.type));
  }

  /** The objects of `type` whose `property` links to this one. */
  linkingObjects(type: string, property: string): Results {
    const i = internals.get(this)!;
    return backlinks(i.ctx, i.type, i.id, type, property);
  }

  /** The object's stable identity: its primary key or its minted key. */
  get _objectKey(): ObjectKey {
    return internals.get(this)!.id;
  }

  /** realm-js `_objectId()`: the object's identity as a string (primary key or minted key). */
  _objectId(): string {
    return keyString(internals.get(this)!.id);
  }

  /**
   * Calls `callback(object, { deleted, changedProperties })` once soon with no changes, then after
   * every commit (local or downloaded) that changed or deleted this object.
   */
  addListener(callback: ObjectListener): void {
    const i = internals.get(this)!;
    i.ctx.checkOpen();
    if (typeof callback !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'addListener expects a function');
    i.ctx.notifications.addObjectListener(this, i.type, i.id, callback);
  }
  removeListener(callback: ObjectListener): void {
    const i = internals.get(this)!;
    i.ctx.notifications.removeObjectListener(i.type, i.id, callback);
  }
  removeAllListeners(): void {
    const i = internals.get(this)!;
    i.ctx.notifications.removeObjectListener(i.type, i.id);
  }

  /**
   * Plain data for JSON.stringify: every stored property, links as nested plain objects, lists as
   * arrays; an object already on the path (a cycle) becomes `{ $ref: 'Type/key' }`.
   */
  toJSON(_key?: string, seen: Set<unknown> = new Set()): Record<string, unknown> {
    const i = internals.get(this)!;
    const ref = `${i.type}/${keyString(i.id)}`;
    if (seen.has(ref)) return { $ref: ref };
    seen.add(ref);
    try {
      const out: Record<string, unknown> = {};
      for (const p of i.ctx.objectSchema(i.type).properties) {
        if (p.type === 'linkingObjects') continue;
        out[p.name] = plainValue(readProperty(i, p), seen);
      }
      return out;
    } finally {
      seen.delete(ref);
    }
  }

  /** @internal marks realm values for plainValue (plain.ts). */
  get [REALM_VALUE](): boolean {
    return true;
  }
}

function findProperty(i: ObjectInternals, name: string | symbol): PropertySchema | undefined {
  if (typeof name !== 'string') return undefined;
  return i.ctx.objectSchema(i.type).properties.find((p) => p.name === name);
}

function liveRecord(i: ObjectInternals): ObjectRecord {
  const r = i.ctx.record(i.type, i.id);
  if (!r) throw new TributaryError('OBJECT_INVALIDATED', `Accessing object of type ${i.type} which has been deleted (key ${keyString(i.id)})`);
  return r;
}

function readProperty(i: ObjectInternals, p: PropertySchema): unknown {
  const schema = i.ctx.objectSchema(i.type);
  const record = liveRecord(i);
  switch (p.type) {
    case 'object': {
      const target = record.values[p.name];
      if (target === null || target === undefined) return null;
      return i.ctx.record(p.objectType!, target as ObjectKey) ? i.ctx.object(p.objectType!, target as ObjectKey) : null;
    }
    case 'list':
      return new List(i.ctx, i.type, i.id, p);
    case 'linkingObjects':
      return backlinks(i.ctx, i.type, i.id, p.objectType!, p.property!);
    default:
      return cloneValue(readValue(schema, record, p.name));
  }
}

function backlinks(ctx: RealmContext, type: string, id: ObjectKey, fromType: string, property: string): Results {
  const from = ctx.objectSchema(fromType);
  const prop = from.properties.find((p) => p.name === property);
  if (!prop || (prop.type !== 'object' && !isLinkList(prop)) || prop.objectType !== type) {
    throw new TributaryError('INVALID_ARGUMENT', `${fromType}.${property} is not a link to ${type}`);
  }
  const key = keyString(id);
  return new Results(ctx, fromType, () =>
    ctx.replica.objects(fromType).filter((r) =>
      prop.type === 'object'
        ? r.values[property] != null && keyString(r.values[property] as ObjectKey) === key
        : (r.lists[property] ?? []).some((e) => !e.dead && keyString(e.value as ObjectKey) === key),
    ).map((r) => r.id),
  );
}

/**
 * A schema property wins over a method of the same name (a `Coupon.isValid` property hides
 * `isValid()`, as in realm-js). Methods still answer on a closed realm, where the schema is gone.
 */
function schemaProperty(target: RealmObject, name: string | symbol): PropertySchema | undefined {
  if (typeof name !== 'string') return undefined;
  const i = internals.get(target)!;
  try {
    return findProperty(i, name);
  } catch (e) {
    if (name in target) return undefined;
    throw e;
  }
}

const handler: ProxyHandler<RealmObject> = {
  get(target, name, receiver) {
    const p = schemaProperty(target, name);
    if (p) return readProperty(internals.get(target)!, p);
    return Reflect.get(target, name, receiver);
  },
  set(target, name, value, receiver) {
    const p = schemaProperty(target, name);
    if (!p) return Reflect.set(target, name, value, receiver);
    setProperty(internals.get(target)!, p, value);
    return true;
  },
  has(target, name) {
    return !!findProperty(internals.get(target)!, name) || Reflect.has(target, name);
  },
  ownKeys(target) {
    const i = internals.get(target)!;
    return i.ctx.objectSchema(i.type).properties.map((p) => p.name);
  },
  getOwnPropertyDescriptor(target, name) {
    const i = internals.get(target)!;
    const p = findProperty(i, name);
    if (!p) return Reflect.getOwnPropertyDescriptor(target, name);
    return { value: readProperty(i, p), writable: p.type !== 'linkingObjects', enumerable: true, configurable: true };
  },
  deleteProperty(target, name) {
    if (findProperty(internals.get(target)!, name)) throw new TributaryError('INVALID_ARGUMENT', `cannot delete property '${String(name)}' of a Realm object`);
    return Reflect.deleteProperty(target, name);
  },
};

function setProperty(i: ObjectInternals, p: PropertySchema, value: unknown): void {
  i.ctx.requireWrite();
  const schema = i.ctx.objectSchema(i.type);
  const where = `${i.type}.${p.name}`;
  if (schema.primaryKey === p.name) throw new TributaryError('INVALID_ARGUMENT', `cannot change primary key ${where}`);
  liveRecord(i);
  switch (p.type) {
    case 'linkingObjects':
      throw new TributaryError('INVALID_ARGUMENT', `${where} is computed (linkingObjects) and cannot be set`);
    case 'list':
      new List(i.ctx, i.type, i.id, p).replaceAll(value, 'modified');
      return;
    case 'object': {
      const key = i.ctx.linkKey(p.objectType!, value, 'modified', where);
      i.ctx.emit([{ op: 'Set', type: i.type, id: i.id, values: { [p.name]: key } }]);
      return;
    }
    default:
      i.ctx.emit([{ op: 'Set', type: i.type, id: i.id, values: { [p.name]: i.ctx.primitive(p.type, p.optional, value, where) } }]);
  }
}

/** Makes the live object for (type, id). */
export function makeObject(ctx: RealmContext, type: string, id: ObjectKey, proto: object = RealmObject.prototype): RealmObject {
  const target = Object.create(proto) as RealmObject;
  const i: ObjectInternals = { ctx, type, id };
  internals.set(target, i);
  const proxy = new Proxy(target, handler);
  internals.set(proxy, i);
  return proxy;
}

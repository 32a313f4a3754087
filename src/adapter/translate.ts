import type { Instruction, StateStore } from '../changeset';
import { readValue } from '../changeset';
import { Decimal128, ObjectId, UUID, isLinkList, type ObjectKey, type ObjectSchema, type PropertySchema, type Value } from '../model';
import type { AdapterInstruction, AdapterPropertyDescription, AdapterValue, Identity } from './instructions';

/** The identity an object has in the Adapter stream. */
export function identityOf(key: ObjectKey): Identity {
  return typeof key === 'number' || typeof key === 'string' ? key : key.toString();
}

export function adapterValue(v: Value | undefined): AdapterValue {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof Uint8Array) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  if (v instanceof ObjectId || v instanceof UUID || v instanceof Decimal128) return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return String(v);
}

function describe(p: PropertySchema): AdapterPropertyDescription {
  if (p.type === 'object') return { type: 'object', object_type: p.objectType!, nullable: true };
  if (p.type === 'list') return isLinkList(p) ? { type: 'list', object_type: p.objectType! } : { type: 'list', object_type: p.objectType!, nullable: p.optional };
  return { type: p.type, nullable: p.optional };
}

function describeAll(props: PropertySchema[]): Record<string, AdapterPropertyDescription> {
  const out: Record<string, AdapterPropertyDescription> = {};
  for (const p of props) if (p.type !== 'linkingObjects') out[p.name] = describe(p);
  return out;
}

function valueOf(schema: ObjectSchema, record: { id: ObjectKey; values: Record<string, Value>; lists: Record<string, unknown> }, name: string): AdapterValue {
  const v = readValue(schema, record as never, name);
  const p = schema.properties.find((q) => q.name === name);
  if (p?.type === 'object' && v !== null) return identityOf(v as ObjectKey);
  return adapterValue(v);
}

/** Visible (user) index of wire index `wire` in a list whose tombstones are flagged in `dead`. */
function visibleIndex(dead: readonly boolean[], wire: number): number {
  let n = 0;
  for (let i = 0; i < wire && i < dead.length; i++) if (!dead[i]) n++;
  return n;
}

/**
 * Translates downloaded (already transformed) instructions into the Adapter's form while they
 * are applied: `before` reads the state an instruction meets, `after` the state it leaves. List
 * indexes are converted from the wire index space (with tombstones) to the user-visible one, so
 * they are computed here, at integrate time, against the exact state.
 *
 * What has no user-visible effect produces no instruction, by design (docs/adapter.md): inserting
 * or erasing a tombstone, moving one, setting a tombstone to a tombstone, deleting an object that
 * does not exist, adding to a null integer, re-adding existing properties. Deleting an object
 * implies, as in Realm, that links to it become null and list entries pointing at it disappear.
 */
export class AdapterTranslator {
  readonly out: AdapterInstruction[] = [];
  private pendingList: { dead: boolean[]; wasDead?: boolean } | null = null;
  private pendingSchema: ObjectSchema | undefined;
  private existed = false;
  private intBefore: Value | undefined;

  constructor(private readonly store: StateStore) {}

  before(ins: Instruction): void {
    const s = this.store;
    switch (ins.op) {
      case 'AddType':
      case 'AddProperties':
        this.pendingSchema = s.getSchema(ins.type);
        return;
      case 'Create':
      case 'Delete':
        this.existed = !!s.getObject(ins.type, ins.id);
        return;
      case 'AddInteger': {
        const r = s.getObject(ins.type, ins.id);
        const schema = s.getSchema(ins.type);
        this.intBefore = r && schema ? readValue(schema, r, ins.property) : null;
        return;
      }
      case 'ListSet':
      case 'ListInsert':
      case 'ListErase':
      case 'ListMove':
      case 'ListClear': {
        const list = s.getObject(ins.type, ins.id)?.lists[ins.property] ?? [];
        this.pendingList = { dead: list.map((e) => !!e.dead) };
        return;
      }
      default:
        return;
    }
  }

  after(ins: Instruction): void {
    const s = this.store;
    const object_type = ins.type;
    switch (ins.op) {
      case 'AddType':
      case 'AddProperties': {
        const now = s.getSchema(ins.type)!;
        const before = this.pendingSchema;
        if (!before) {
          this.out.push({ type: 'ADD_TYPE', object_type, primary_key: now.primaryKey, properties: describeAll(now.properties) });
        } else {
          const added = now.properties.filter((p) => !before.properties.some((q) => q.name === p.name));
          if (added.length > 0) this.out.push({ type: 'ADD_PROPERTIES', object_type, properties: describeAll(added) });
        }
        return;
      }
      case 'Create': {
        const schema = s.getSchema(ins.type)!;
        const record = s.getObject(ins.type, ins.id)!;
        const identity = identityOf(ins.id);
        if (!this.existed) {
          const values: Record<string, AdapterValue> = {};
          for (const p of schema.properties) if (p.type !== 'list' && p.type !== 'linkingObjects') values[p.name] = valueOf(schema, record, p.name);
          this.out.push({ type: 'INSERT', object_type, identity, values });
        } else this.set(schema, record, identity, Object.keys(ins.values));
        return;
      }
      case 'Set': {
        const schema = s.getSchema(ins.type)!;
        this.set(schema, s.getObject(ins.type, ins.id)!, identityOf(ins.id), Object.keys(ins.values));
        return;
      }
      case 'AddInteger':
        if (this.intBefore !== null && this.intBefore !== undefined) {
          this.out.push({ type: 'ADD_INTEGER', object_type, identity: identityOf(ins.id), property: ins.property, value: ins.delta });
        }
        return;
      case 'Delete':
        if (this.existed) this.out.push({ type: 'DELETE', object_type, identity: identityOf(ins.id) });
        return;
      case 'Clear':
        this.out.push({ type: 'CLEAR', object_type });
        return;
      default:
        this.list(ins);
    }
  }

  /** SET, merged into the previous INSERT/SET when it is for the same object. */
  private set(schema: ObjectSchema, record: { id: ObjectKey; values: Record<string, Value>; lists: Record<string, unknown> }, identity: Identity, names: string[]): void {
    if (names.length === 0) return;
    const values: Record<string, AdapterValue> = {};
    for (const n of names) values[n] = valueOf(schema, record, n);
    const last = this.out[this.out.length - 1];
    if (last && (last.type === 'INSERT' || last.type === 'SET') && last.object_type === schema.name && last.identity === identity) {
      Object.assign(last.values, values);
      return;
    }
    this.out.push({ type: 'SET', object_type: schema.name, identity, values });
  }

  private list(ins: Extract<Instruction, { op: 'ListSet' | 'ListInsert' | 'ListErase' | 'ListMove' | 'ListClear' }>): void {
    const dead = this.pendingList?.dead ?? [];
    this.pendingList = null;
    const schema = this.store.getSchema(ins.type)!;
    const prop = schema.properties.find((p) => p.name === ins.property)!;
    const links = isLinkList(prop);
    const base = { object_type: ins.type, identity: identityOf(ins.id), property: ins.property };
    const element = (value: Value): { object_identity: Identity | null } | { value: AdapterValue } =>
      links ? { object_identity: value === null ? null : identityOf(value as ObjectKey) } : { value: adapterValue(value) };
    switch (ins.op) {
      case 'ListInsert':
        if (!ins.dead) this.out.push({ type: 'LIST_INSERT', ...base, list_index: visibleIndex(dead, ins.index), ...element(ins.value) });
        return;
      case 'ListSet': {
        const at = visibleIndex(dead, ins.index);
        const wasDead = dead[ins.index] ?? false;
        if (!wasDead && !ins.dead) this.out.push({ type: 'LIST_SET', ...base, list_index: at, ...element(ins.value) });
        else if (wasDead && !ins.dead) this.out.push({ type: 'LIST_INSERT', ...base, list_index: at, ...element(ins.value) });
        else if (!wasDead && ins.dead) this.out.push({ type: 'LIST_ERASE', ...base, list_index: at });
        return;
      }
      case 'ListErase':
        if (!dead[ins.index]) this.out.push({ type: 'LIST_ERASE', ...base, list_index: visibleIndex(dead, ins.index) });
        return;
      case 'ListMove': {
        if (dead[ins.from]) return;
        const after = [...dead];
        const [moved] = after.splice(ins.from, 1);
        after.splice(ins.to, 0, moved);
        const from = visibleIndex(dead, ins.from);
        const to = visibleIndex(after, ins.to);
        if (from !== to) this.out.push({ type: 'LIST_MOVE', ...base, list_index: from, new_index: to });
        return;
      }
      case 'ListClear':
        this.out.push({ type: 'LIST_CLEAR', ...base });
        return;
    }
  }
}

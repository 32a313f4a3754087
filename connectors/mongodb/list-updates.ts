import type { AnyBulkWriteOperation, Document } from 'mongodb';
import type { AdapterInstruction, AdapterValue } from '../../src/adapter/instructions';
import { Decimal128, ObjectId, UUID, valuesEqual, type ObjectKey, type Value } from '../../src/model';
import { objectKeyId } from '../kit/keys';
import type { FieldSpec, ResolvedMapping, ResolvedTable } from './mapping';
import { toBsonValue, toRealmValue, type FieldType } from './types';

/**
 * Realm list edits → positional array updates (docs/connectors/mongodb.md, "Lists"): the list
 * instructions of a batch (LIST_INSERT → `$push` with `$each`/`$position`, LIST_SET → `$set` of
 * `field.<index>`, LIST_ERASE → `$unset` of the index then `$pull` of the null it leaves,
 * LIST_MOVE → an erase and an insert, LIST_CLEAR → `$set: []`), in order, one `updateOne` each.
 *
 * They are used only when they are provably right: replayed on the array as the transaction read
 * it, they must give exactly the realm's current list (and an erase needs an array without nulls);
 * otherwise — a whole-list assignment in the batch, a database change in between, a merge that
 * reordered things — the list is written whole (`$set` of the array). Either way MongoDB ends up
 * with the realm's list.
 */

type ListInstruction = Extract<AdapterInstruction, { type: 'LIST_SET' | 'LIST_INSERT' | 'LIST_ERASE' | 'LIST_MOVE' | 'LIST_CLEAR' }>;

/** Per object and list property, the batch's list instructions in order ('whole': the property was assigned as a whole). */
export type ListEdits = Map<string, Map<string, ListInstruction[] | 'whole'>>;

export function listEdits(mapping: ResolvedMapping, txs: readonly (readonly AdapterInstruction[])[]): ListEdits {
  const out: ListEdits = new Map();
  const at = (t: ResolvedTable, identity: AdapterInstruction & { identity: unknown }) => {
    const id = objectKeyId(t.type, mapping.keyFromIdentity(t, identity.identity as never));
    let m = out.get(id);
    if (!m) out.set(id, (m = new Map()));
    return m;
  };
  for (const tx of txs) {
    for (const i of tx) {
      const t = mapping.byType.get(i.object_type);
      if (!t) continue;
      if (i.type === 'INSERT' || i.type === 'SET') {
        for (const p of Object.keys(i.values)) if (t.byProperty.get(p)?.type.list) at(t, i).set(p, 'whole');
      } else if (i.type === 'LIST_SET' || i.type === 'LIST_INSERT' || i.type === 'LIST_ERASE' || i.type === 'LIST_MOVE' || i.type === 'LIST_CLEAR') {
        if (!t.byProperty.get(i.property)?.type.list) continue;
        const m = at(t, i);
        const l = m.get(i.property);
        if (l === 'whole') continue;
        if (l) l.push(i);
        else m.set(i.property, [i]);
      }
    }
  }
  return out;
}

/** An Adapter value of a list element → the realm value. */
function elementValue(v: AdapterValue | undefined, t: FieldType): Value {
  if (v === null || v === undefined) return null;
  switch (t.realm) {
    case 'objectId':
      return new ObjectId(String(v));
    case 'uuid':
      return new UUID(String(v));
    case 'decimal128':
      return new Decimal128(String(v));
    case 'data':
      return v instanceof ArrayBuffer ? new Uint8Array(v) : (v as unknown as Uint8Array);
    default:
      return v as Value;
  }
}

/**
 * The positional updates of one list property, or null when the list must be written whole.
 * `stored`: the field's value in the transaction's snapshot; `current`: the realm's list now.
 */
export function positionalUpdates(f: FieldSpec, _id: unknown, edits: ListInstruction[], stored: unknown, current: readonly Value[]): AnyBulkWriteOperation<Document>[] | null {
  if (!Array.isArray(stored) || f.fromRealm) return null;
  let arr: Value[];
  try {
    arr = toRealmValue(stored, f.type) as Value[];
  } catch {
    return null;
  }
  const element: FieldType = { ...f.type, list: false };
  const ops: AnyBulkWriteOperation<Document>[] = [];
  const filter = { _id: _id as never };
  const bson = (v: Value) => toBsonValue(v, element);
  const erase = (i: number): boolean => {
    if (i < 0 || i >= arr.length || arr.some((x) => x === null)) return false;
    arr.splice(i, 1);
    ops.push({ updateOne: { filter, update: { $unset: { [`${f.field}.${i}`]: 1 } } } }, { updateOne: { filter, update: { $pull: { [f.field]: null } } as Document } });
    return true;
  };
  const insert = (i: number, v: Value): boolean => {
    if (i < 0 || i > arr.length) return false;
    arr.splice(i, 0, v);
    ops.push({ updateOne: { filter, update: { $push: { [f.field]: { $each: [bson(v)], $position: i } } } as Document } });
    return true;
  };
  for (const e of edits) {
    switch (e.type) {
      case 'LIST_CLEAR':
        arr = [];
        ops.push({ updateOne: { filter, update: { $set: { [f.field]: [] } } } });
        break;
      case 'LIST_SET': {
        if (e.list_index < 0 || e.list_index >= arr.length) return null;
        const v = elementValue(e.value, f.type);
        arr[e.list_index] = v;
        ops.push({ updateOne: { filter, update: { $set: { [`${f.field}.${e.list_index}`]: bson(v) } } } });
        break;
      }
      case 'LIST_INSERT':
        if (!insert(e.list_index, elementValue(e.value, f.type))) return null;
        break;
      case 'LIST_ERASE':
        if (!erase(e.list_index)) return null;
        break;
      case 'LIST_MOVE': {
        const v = arr[e.list_index];
        if (v === undefined || !erase(e.list_index) || !insert(e.new_index, v)) return null;
        break;
      }
    }
  }
  if (arr.length !== current.length || arr.some((v, i) => !valuesEqual(v, current[i]))) return null;
  return ops;
}

/** The object id the edits are keyed by. */
export function editsOf(edits: ListEdits, t: ResolvedTable, key: ObjectKey): Map<string, ListInstruction[] | 'whole'> | undefined {
  return edits.get(objectKeyId(t.type, key));
}

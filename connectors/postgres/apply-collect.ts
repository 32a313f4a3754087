import type { AdapterInstruction } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import { keyFromIdentity, objectId, type Collected, type Touched } from './apply-rows';
import type { ResolvedMapping, ResolvedTable } from './mapping';
import { STATE_TYPE } from './position';

/**
 * What a batch of realm transactions touched (apply.ts): objects and which of their properties
 * ('all' for inserts and deletes), counters' summed increments, cleared types, schema additions.
 * Pure: instructions in, a description out; what has no database effect is reported to `note`.
 */

export type Note = (id: string, message: string, fields: Record<string, unknown>) => void;

export function touch(c: Collected, t: ResolvedTable, key: ObjectKey, props: Iterable<string> | 'all'): Touched {
  const id = objectId(t, key);
  let o = c.objects.get(id);
  if (!o) c.objects.set(id, (o = { table: t, key, props: new Set() }));
  if (o.props === 'all') return o;
  if (props === 'all') o.props = 'all';
  else for (const p of props) o.props.add(p);
  return o;
}

export function collectTouched(mapping: ResolvedMapping, path: string, txs: readonly (readonly AdapterInstruction[])[], note: Note): Collected {
  const c: Collected = { objects: new Map(), clears: new Set(), schema: [] };
  for (const tx of txs) {
    for (const i of tx) {
      if (i.object_type === STATE_TYPE) continue; // the connector's own bookkeeping type
      const t = mapping.byType.get(i.object_type);
      if (!t) {
        if (i.type !== 'ADD_TYPE' && i.type !== 'ADD_PROPERTIES') note(`type:${i.object_type}`, `type ${i.object_type} is not mapped to a table; its changes stay in the realm`, { path });
        continue;
      }
      switch (i.type) {
        case 'ADD_TYPE':
        case 'ADD_PROPERTIES':
          c.schema.push({ table: t, properties: i.properties });
          break;
        case 'INSERT':
        case 'DELETE':
          touch(c, t, keyFromIdentity(t, i.identity), 'all');
          break;
        case 'SET': {
          const o = touch(c, t, keyFromIdentity(t, i.identity), Object.keys(i.values));
          for (const p of Object.keys(i.values)) (o.assigned ??= new Set()).add(p);
          break;
        }
        case 'ADD_INTEGER': {
          const o = touch(c, t, keyFromIdentity(t, i.identity), [i.property]);
          o.deltas ??= new Map();
          o.deltas.set(i.property, (o.deltas.get(i.property) ?? 0) + i.value);
          break;
        }
        case 'LIST_SET':
        case 'LIST_INSERT':
        case 'LIST_ERASE':
        case 'LIST_MOVE':
        case 'LIST_CLEAR':
          touch(c, t, keyFromIdentity(t, i.identity), [i.property]);
          break;
        case 'CLEAR':
          c.clears.add(t);
          break;
        case 'CHANGE_IDENTITY':
          note(`identity:${t.type}`, `CHANGE_IDENTITY on ${t.type} is not applied (a primary key never changes in the realm)`, { path });
          break;
      }
    }
  }
  return c;
}

import type { Instruction } from '../changeset/instructions';
import type { StateStore } from '../changeset/state';
import type { Value } from '../model';

/**
 * Instructions that rebuild `state` from an empty replica: the types, then every object with its
 * scalar values (in creation order), then its links (once every target exists), then its list
 * entries, tombstones included (`dead`), so the list wire indices are the same as the server's.
 */
export function snapshotInstructions(state: StateStore): Instruction[] {
  const schemas = state.schemas();
  const out: Instruction[] = [];
  for (const s of schemas) out.push({ op: 'AddType', type: s.name, primaryKey: s.primaryKey, properties: s.properties.map((p) => ({ ...p })) });
  const links: Instruction[] = [];
  const lists: Instruction[] = [];
  for (const s of schemas) {
    const linkProps = new Set(s.properties.filter((p) => p.type === 'object').map((p) => p.name));
    const listProps = s.properties.filter((p) => p.type === 'list').map((p) => p.name);
    for (const record of state.objects(s.name)) {
      const values: Record<string, Value> = {};
      const linkValues: Record<string, Value> = {};
      for (const [name, value] of Object.entries(record.values)) {
        if (name === s.primaryKey) continue;
        if (linkProps.has(name)) {
          if (value !== null) linkValues[name] = value;
        } else {
          values[name] = value;
        }
      }
      out.push({ op: 'Create', type: s.name, id: record.id, values });
      if (Object.keys(linkValues).length > 0) links.push({ op: 'Set', type: s.name, id: record.id, values: linkValues });
      for (const property of listProps) {
        const entries = record.lists[property] ?? [];
        entries.forEach((e, index) => {
          lists.push(
            e.dead
              ? { op: 'ListInsert', type: s.name, id: record.id, property, index, prior: index, value: e.value, dead: true }
              : { op: 'ListInsert', type: s.name, id: record.id, property, index, prior: index, value: e.value },
          );
        });
      }
    }
  }
  return out.concat(links, lists);
}

/** Splits encoded bytes into segments of at most `size` bytes (one empty segment for empty input). */
export function segments(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
  return out.length > 0 ? out : [bytes];
}

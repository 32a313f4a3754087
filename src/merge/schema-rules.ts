import type { AddProperties, AddType } from '../changeset';
import { TributaryError } from '../errors';
import { samePropertyShape, syncedProperty } from '../model';

/**
 * AddType / AddProperties of the same type on both sides. The applier treats a repeated
 * compatible addition as a no-op (AddType on an existing type with the same primary key adds the
 * missing properties), so compatible pairs need no change. Different primary keys, or a property
 * of the same name with a different type, element/target type or optionality, cannot be merged:
 * the changeset being integrated is rejected.
 */
export function checkSchemaPair(a: AddType | AddProperties, b: AddType | AddProperties): void {
  if (a.type !== b.type) return;
  if (a.op === 'AddType' && b.op === 'AddType' && a.primaryKey !== b.primaryKey) {
    throw new TributaryError(
      'INVALID_SCHEMA_CHANGE',
      `type ${a.type} was added concurrently with primary key ${String(a.primaryKey)} and ${String(b.primaryKey)}`,
    );
  }
  for (const p of a.properties) {
    const q = b.properties.find((r) => r.name === p.name);
    if (q && !samePropertyShape(syncedProperty(p), syncedProperty(q))) {
      throw new TributaryError(
        'INVALID_SCHEMA_CHANGE',
        `property ${a.type}.${p.name} was added concurrently as ${describe(p)} and ${describe(q)}`,
      );
    }
  }
}

function describe(p: { type: string; objectType?: string; optional: boolean }): string {
  return `${p.type}${p.objectType ? `<${p.objectType}>` : ''}${p.optional ? '?' : ''}`;
}

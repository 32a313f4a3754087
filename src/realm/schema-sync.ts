import type { Instruction } from '../changeset';
import { TributaryError } from '../errors';
import { samePropertyShape, syncedProperty, type ObjectSchema, type PropertySchema } from '../model';

/** Properties that travel in schema instructions (computed backlinks stay local). */
function syncable(props: readonly PropertySchema[]): PropertySchema[] {
  return props.filter((p) => p.type !== 'linkingObjects').map(syncedProperty);
}

/**
 * The additive schema instructions that bring a replica's schema up to a configured one:
 * AddType for a missing type, AddProperties for missing properties. A property that exists with
 * another shape, or a type with another primary key, is a SCHEMA_INVALID error (destructive
 * changes are an admin operation, not a sync instruction).
 */
export function schemaInstructions(configured: readonly ObjectSchema[], existing: (type: string) => ObjectSchema | undefined): Instruction[] {
  const out: Instruction[] = [];
  for (const schema of configured) {
    const current = existing(schema.name);
    if (!current) {
      out.push({ op: 'AddType', type: schema.name, primaryKey: schema.primaryKey, properties: syncable(schema.properties) });
      continue;
    }
    if (current.primaryKey !== schema.primaryKey) {
      throw new TributaryError('SCHEMA_INVALID', `type '${schema.name}' has primary key ${current.primaryKey ?? 'none'} in the realm, ${schema.primaryKey ?? 'none'} in the configuration`);
    }
    const missing: PropertySchema[] = [];
    for (const p of syncable(schema.properties)) {
      const q = current.properties.find((x) => x.name === p.name);
      if (!q) missing.push(p);
      else if (!samePropertyShape(q, p)) {
        throw new TributaryError('SCHEMA_INVALID', `property '${schema.name}.${p.name}' is ${describe(q)} in the realm, ${describe(p)} in the configuration`);
      }
    }
    if (missing.length > 0) out.push({ op: 'AddProperties', type: schema.name, properties: missing });
  }
  return out;
}

function describe(p: PropertySchema): string {
  const t = p.type === 'list' ? `${p.objectType}[]` : p.type === 'object' ? `${p.objectType}` : p.type;
  return p.optional && p.type !== 'object' ? `${t}?` : t;
}

/**
 * The schema a realm reads with: the configured properties (with their local-only defaults,
 * indexes and backlinks) plus anything other clients added to the realm.
 */
export function mergeSchema(configured: ObjectSchema | undefined, stored: ObjectSchema | undefined): ObjectSchema | undefined {
  if (!configured) return stored;
  if (!stored) return configured;
  const extra = stored.properties.filter((p) => !configured.properties.some((q) => q.name === p.name));
  return extra.length === 0 ? configured : { ...configured, properties: [...configured.properties, ...extra] };
}

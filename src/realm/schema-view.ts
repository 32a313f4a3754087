import type { ObjectSchema, PropertySchema, Value } from '../model';

/** A property as realm-js shows it in `realm.schema` and `obj.objectSchema()`. */
export interface RealmPropertyView {
  name: string;
  /** A primitive type, `'object'` (a link), `'list'` or `'linkingObjects'`. */
  type: string;
  /** The link target, list element type or backlink origin type. */
  objectType?: string;
  /** The origin property of a linkingObjects property. */
  property?: string;
  optional: boolean;
  indexed: boolean;
  mapTo: string;
  default?: Value;
}

/** An object schema as realm-js shows it: properties keyed by name. */
export interface RealmSchemaView {
  name: string;
  primaryKey?: string;
  properties: Record<string, RealmPropertyView>;
}

function propertyView(p: PropertySchema, primaryKey: string | null): RealmPropertyView {
  const out: RealmPropertyView = { name: p.name, type: p.type, optional: p.optional, indexed: !!p.indexed || p.name === primaryKey, mapTo: p.name };
  if (p.objectType !== undefined) out.objectType = p.objectType;
  if (p.property !== undefined) out.property = p.property;
  if (p.default !== undefined) out.default = p.default;
  return out;
}

/** The realm-js view of a normalised schema (a fresh object: callers may keep or change it). */
export function schemaView(s: ObjectSchema): RealmSchemaView {
  const properties: Record<string, RealmPropertyView> = {};
  for (const p of s.properties) properties[p.name] = propertyView(p, s.primaryKey);
  return s.primaryKey === null ? { name: s.name, properties } : { name: s.name, primaryKey: s.primaryKey, properties };
}

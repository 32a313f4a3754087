/**
 * How schema evolution compares a realm property with a column: the column type a property
 * description becomes, the shapes both sides have, and how shapes are told apart and printed.
 * Pure; both directions of schema-evolution.ts use it.
 */
import type { AdapterPropertyDescription } from '../../src/adapter/instructions';
import { isPrimitiveType, type PrimitiveType } from '../../src/model';
import { OBJECT_ID_DOMAIN, type ResolvedTable } from './mapping';
import type { PropertyShape } from './realm-sink';
import type { RealmColumnType } from './types';

export const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';

/** Realm type → column type, and the value existing rows get for a required property (the realm's own default). */
const COLUMN_TYPES: Partial<Record<PrimitiveType, { sql: string; zero: string }>> = {
  int: { sql: 'bigint', zero: '0' },
  double: { sql: 'double precision', zero: '0' },
  float: { sql: 'real', zero: '0' },
  string: { sql: 'text', zero: "''" },
  bool: { sql: 'boolean', zero: 'false' },
  date: { sql: 'timestamptz', zero: "'1970-01-01 00:00:00+00'" },
  data: { sql: 'bytea', zero: "'\\x'" },
  decimal128: { sql: 'numeric', zero: '0' },
  uuid: { sql: 'uuid', zero: "'00000000-0000-0000-0000-000000000000'" },
  objectId: { sql: OBJECT_ID_DOMAIN, zero: "'000000000000000000000000'" },
};

/**
 * The column a realm property becomes, or why it cannot: `sql` is the column type (`objectId`
 * becomes the connector's domain, qualified by the caller), `notNull` with `zero` for a required
 * property. Links and lists of links are planned by the caller (they need the mapping).
 */
export function columnTypeFor(p: AdapterPropertyDescription): { sql: string; notNull: boolean; zero: string; objectId: boolean } | string {
  if (p.type === 'list') {
    const el = objectTypeOf(p);
    if (!isPrimitiveType(el)) return `a list of links (${el}) needs a side table, which the connector does not create`;
    const t = COLUMN_TYPES[el];
    if (!t) return `a list of ${el} has no column type that keeps its values`;
    return { sql: `${t.sql}[]`, notNull: false, zero: '', objectId: el === 'objectId' };
  }
  if (p.type === 'object') return 'a link is planned from the mapping';
  const t = isPrimitiveType(p.type) ? COLUMN_TYPES[p.type] : undefined;
  if (!t) return `a ${p.type} property has no column type that keeps its values`;
  return { sql: t.sql, notNull: !p.nullable, zero: t.zero, objectId: p.type === 'objectId' };
}

/** True when `property` is a list the mapping keeps in a side table (`tables.<t>.lists`, side-lists.ts). */
export function sideList(t: ResolvedTable, property: string): boolean {
  return !!(t as { lists?: { property: string }[] }).lists?.some((l) => l.property === property);
}

/** The link target or list element type of a property description ('' for a plain property). */
export function objectTypeOf(p: AdapterPropertyDescription): string {
  return (p as { object_type?: string }).object_type ?? '';
}

export function descShape(p: AdapterPropertyDescription): PropertyShape {
  if (p.type === 'object') return { type: 'object', objectType: objectTypeOf(p), optional: true };
  if (p.type === 'list') return { type: 'list', objectType: objectTypeOf(p), optional: !!p.nullable };
  return { type: p.type, optional: !!p.nullable };
}

export function columnShape(type: RealmColumnType, optional: boolean): PropertyShape {
  return type.list ? { type: 'list', objectType: type.realm, optional: true } : { type: type.realm, optional };
}

/** Same type and target; `optional` may differ (the sink keeps the realm's). */
export function compatible(a: PropertyShape, b: PropertyShape): boolean {
  return a.type === b.type && (a.objectType ?? null) === (b.objectType ?? null);
}

export function shapeText(s: PropertyShape): string {
  const t = s.type === 'list' ? `${s.objectType}[]` : s.type === 'object' ? `link to ${s.objectType}` : s.type;
  return s.optional && s.type !== 'object' ? `${t}?` : t;
}

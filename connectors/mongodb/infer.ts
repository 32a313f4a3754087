import type { Document } from 'mongodb';
import { formatType, typeOfValue, type FieldType } from './types';

/**
 * Schema inference from a sample of a collection's documents (docs/connectors/mongodb.md,
 * "Schema"): each field's BSON types are counted; one type (Int32 and Long together are `int`;
 * `int` with `double` is `double`) gives the field's realm type; several incompatible ones give
 * the most frequent, and a conflict is reported. Inferred fields are optional (a document may
 * lack them). Fields that are always null give no type (they get one when a value arrives).
 */

export interface SchemaConflict {
  collection: string;
  field: string;
  /** How many sampled documents had each BSON type. */
  seen: Record<string, number>;
  chosen: string;
}

export interface InferredSchema {
  fields: Map<string, FieldType>;
  conflicts: SchemaConflict[];
  sampled: number;
}

export function inferSchema(collection: string, docs: Iterable<Document>): InferredSchema {
  const seen = new Map<string, Map<string, { n: number; type: FieldType }>>();
  let sampled = 0;
  for (const doc of docs) {
    sampled++;
    for (const [field, v] of Object.entries(doc)) {
      const t = typeOfValue(v);
      if (!t) continue;
      let m = seen.get(field);
      if (!m) seen.set(field, (m = new Map()));
      const name = formatType(t);
      const e = m.get(name);
      if (e) e.n++;
      else m.set(name, { n: 1, type: t });
    }
  }
  const fields = new Map<string, FieldType>();
  const conflicts: SchemaConflict[] = [];
  for (const [field, m] of seen) {
    const names = [...m.keys()];
    if (names.length === 2 && m.has('int?') && m.has('double?')) {
      fields.set(field, { realm: 'double', list: false, optional: true });
      continue;
    }
    const best = [...m.values()].sort((a, b) => b.n - a.n)[0]!;
    fields.set(field, best.type);
    if (m.size > 1) conflicts.push({ collection, field, seen: Object.fromEntries([...m].map(([k, v]) => [k, v.n])), chosen: formatType(best.type) });
  }
  return { fields, conflicts, sampled };
}

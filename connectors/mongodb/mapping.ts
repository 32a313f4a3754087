import type { Db, Document } from 'mongodb';
import type { Identity } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { connectorError } from '../kit/errors';
import { keyText } from '../kit/keys';
import { placementPattern, resolvePlacement, type PlacementRows, type ResolvedPlacement } from '../kit/placement';
import { stateSchema } from '../kit/position';
import type { RowLink, SinkCodec } from '../kit/realm-sink';
import { identityKey } from '../kit/touched';
import type { MongoConnectorConfig, ResolvedOptions, TableMappingInput } from './config';
import { inferSchema, type SchemaConflict } from './infer';
import { formatType, parseDeclared, realmSchemaType, toRealmValue, Unfit, type FieldType } from './types';

/**
 * The mapping resolved against the database (docs/connectors/mongodb.md, "Mapping"): collections ↔
 * types, fields ↔ properties (declared in `schema`, or inferred from a sample), `_id` ↔ the primary
 * key, reference fields ↔ links, placement — and the document codec the kit's sink and router use.
 * Fields that do not fit their property are counted and reported, never silently dropped (the
 * value stays in MongoDB; apply writes only the properties a realm client changed).
 */

export type Doc = Document;

export interface FieldSpec {
  field: string;
  property: string;
  type: FieldType;
  counter: boolean;
  toRealm?: (v: unknown) => unknown;
  fromRealm?: (v: unknown) => unknown;
}

export interface LinkSpec {
  field: string;
  property: string;
  targetTable: string;
}

export interface ResolvedTable {
  table: string;
  type: string;
  keyProperty: string;
  keyType: 'int' | 'string' | 'objectId' | 'uuid';
  placement: ResolvedPlacement;
  /** The partition field (its value is the realm path), or null. */
  partitionField: string | null;
  fields: Map<string, FieldSpec>;
  byProperty: Map<string, FieldSpec>;
  links: LinkSpec[];
  references: Map<string, string>;
  /** Fields left out by `columns: { f: false }`. */
  excluded: Set<string>;
}

/** Fields that did not fit (per collection.field), fields without a property, and conflicts met at start. */
export interface FieldReport {
  unfit: number;
  unmapped: number;
  conflicts: SchemaConflict[];
  warnings: string[];
}

const REALM_PATH_TYPES = new Set(['int', 'string', 'objectId', 'uuid']);

export class ResolvedMapping {
  readonly tables = new Map<string, ResolvedTable>();
  readonly byType = new Map<string, ResolvedTable>();
  readonly report: FieldReport = { unfit: 0, unmapped: 0, conflicts: [], warnings: [] };
  private readonly warned = new Set<string>();
  log: Logger | null = null;

  constructor(readonly options: ResolvedOptions) {}

  add(t: ResolvedTable): void {
    this.tables.set(t.table, t);
    this.byType.set(t.type, t);
  }

  warnOnce(id: string, message: string, fields: Record<string, unknown>): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.report.warnings.push(message);
    if (this.report.warnings.length > 50) this.report.warnings.shift();
    this.log?.warn(`mongodb connector: ${message}`, fields);
  }

  /** The realm key of a document (null when `_id` is missing or of another type). */
  key(t: ResolvedTable, doc: Doc): ObjectKey | null {
    const id = doc._id;
    if (id === undefined || id === null) return null;
    try {
      return toRealmValue(id, { realm: t.keyType, list: false, optional: false }) as ObjectKey;
    } catch {
      return null;
    }
  }

  keyFromIdentity(t: ResolvedTable, identity: Identity): ObjectKey {
    return identityKey(t.keyType, identity);
  }

  /** A document's property values (fields absent from `doc` left out; unfit ones counted and left out). */
  values(t: ResolvedTable, doc: Doc, where: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const key = this.key(t, doc);
    if (key !== null) out[t.keyProperty] = key;
    for (const [field, v] of Object.entries(doc)) {
      if (field === '_id') continue;
      const f = t.fields.get(field);
      if (!f) {
        // A field without a property: left out (excluded, a reference or link field, the partition field), or counted as unmapped.
        if (!t.excluded.has(field) && !t.references.has(field) && field !== t.partitionField && !t.links.some((l) => l.field === field)) this.unmapped(t, field, where);
        continue;
      }
      try {
        const r = toRealmValue(v, f.type);
        out[f.property] = f.toRealm ? f.toRealm(r) : r;
      } catch (e) {
        if (!(e instanceof Unfit)) throw e;
        this.report.unfit++;
        this.warnOnce(`unfit:${t.table}.${field}`, `${t.table}.${field}: ${e.message} does not fit property ${t.type}.${f.property} (${formatType(f.type)}); the property is left unchanged and the value kept in MongoDB (counted in status.fields.unfit)`, { where, key: key === null ? null : keyText(key) });
      }
    }
    return out;
  }

  private unmapped(t: ResolvedTable, field: string, where: string): void {
    this.report.unmapped++;
    this.warnOnce(`unmapped:${t.table}.${field}`, `${t.table}.${field} has no property (schemaChanges.addProperties is off, or its values have no realm type); the field stays in MongoDB (counted in status.fields.unmapped)`, { where });
  }

  links(t: ResolvedTable, doc: Doc): readonly RowLink<ResolvedTable>[] {
    const out: RowLink<ResolvedTable>[] = [];
    for (const l of t.links) {
      if (!(l.field in doc)) continue;
      const target = this.tables.get(l.targetTable)!;
      const v = doc[l.field];
      out.push({ property: l.property, target, key: v === null ? null : this.key(target, { _id: v }) });
    }
    return out;
  }

  /** A field added while running (a new field in a captured document, a new realm property). */
  addField(t: ResolvedTable, field: string, type: FieldType, property = field): FieldSpec {
    const f: FieldSpec = { field, property, type, counter: false };
    t.fields.set(field, f);
    t.byProperty.set(property, f);
    return f;
  }

  /** The realm-js schema of a path: the types whose placement can produce it, their link targets, and the position type. */
  realmSchema(path: string): { name: string; primaryKey?: string; properties: Record<string, unknown> }[] {
    const types = new Set<ResolvedTable>();
    for (const t of this.tables.values()) {
      const p = placementPattern(t.placement, (x) => this.tables.get(x)!.placement);
      if (p === null || p.test(path)) types.add(t);
    }
    for (const t of [...types]) for (const l of t.links) types.add(this.tables.get(l.targetTable)!);
    const out: { name: string; primaryKey?: string; properties: Record<string, unknown> }[] = [];
    for (const t of types) {
      const properties: Record<string, unknown> = { [t.keyProperty]: t.keyType };
      for (const f of t.fields.values()) properties[f.property] = realmSchemaType(f.type);
      for (const l of t.links) properties[l.property] = { type: 'object', objectType: this.tables.get(l.targetTable)!.type };
      out.push({ name: t.type, primaryKey: t.keyProperty, properties });
    }
    out.push({ name: stateSchema.name, primaryKey: stateSchema.primaryKey, properties: { ...stateSchema.properties } });
    return out;
  }

  codec(): SinkCodec<ResolvedTable, Doc> {
    return {
      realmSchema: (path) => this.realmSchema(path),
      tableOfType: (type) => this.byType.get(type),
      key: (t, doc) => this.key(t, doc),
      values: (t, doc, where) => this.values(t, doc, where),
      properties: (t) => [...[...t.fields.values()].map((f) => f.property), ...t.links.map((l) => l.property)],
      links: (t, doc) => this.links(t, doc),
    };
  }

  placementRows(): PlacementRows<ResolvedTable, Doc> {
    return {
      templateValue: (_t, doc, field) => {
        const v = doc[field];
        if (v === null || v === undefined) return null;
        if (typeof v === 'object' && 'toHexString' in (v as object)) return (v as { toHexString(): string }).toHexString();
        return String(typeof v === 'object' && 'valueOf' in (v as object) ? (v as { valueOf(): unknown }).valueOf() : v);
      },
      followedKey: (_t, doc, field, target) => {
        const v = doc[field];
        return v === undefined || v === null ? null : this.key(target, { _id: v });
      },
      plainRow: (t, doc) => {
        const out: Record<string, unknown> = {};
        for (const [field, v] of Object.entries(doc)) {
          const f = field === '_id' ? null : t.fields.get(field);
          try {
            out[field] = field === '_id' ? this.key(t, doc) : f ? toRealmValue(v, f.type) : v;
          } catch {
            out[field] = v;
          }
        }
        return out;
      },
    };
  }
}

/** `x_id` / `xId` → collection `x` or `xs`, when mapped (the convention for undeclared references). */
function conventionalTarget(field: string, mapped: (name: string) => boolean): string | null {
  const m = /^(.+?)(_id|Id)$/.exec(field);
  if (!m) return null;
  for (const name of [m[1]!, m[1]! + 's']) if (mapped(name)) return name;
  return null;
}

/**
 * Resolves the config against the database: every mapped collection must exist; each field's type
 * is declared (`schema`) or inferred from up to `sampleSize` documents (conflicts reported);
 * placements, references, renames, counters and links are checked.
 */
export async function resolveMapping(db: Db, config: MongoConnectorConfig, o: ResolvedOptions, log: Logger | null): Promise<ResolvedMapping> {
  const mapping = new ResolvedMapping(o);
  mapping.log = log;
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name as string));
  const problems: string[] = [];
  const entries = Object.entries(config.tables) as [string, TableMappingInput][];
  for (const [name] of entries) if (!existing.has(name)) problems.push(`collection '${name}' does not exist in database '${o.database}' (it has: ${[...existing].filter((c) => !c.startsWith('tributary_')).sort().join(', ') || 'none'}); create it first (db.createCollection)`);
  if (problems.length > 0) throw connectorError('CONNECTOR_MAPPING_INVALID', `mongodb connector mapping: ${problems.join('; ')}`);
  for (const [name, input] of entries) {
    const declared = new Map(Object.entries(config.schema?.[name] ?? {}).map(([f, text]) => [f, parseDeclared(text)]));
    const sample = o.sampleSize > 0 ? await db.collection(name).find({}, { limit: o.sampleSize, promoteValues: false }).toArray() : [];
    const inferred = inferSchema(name, sample);
    for (const c of inferred.conflicts) if (!declared.has(c.field)) mapping.report.conflicts.push(c);
    const types = new Map(inferred.fields);
    for (const [f, t] of declared) {
      const inf = types.get(f);
      if (inf && formatType({ ...inf, optional: t.optional }) !== formatType(t) && !(inf.realm === 'int' && t.realm === 'double')) mapping.report.conflicts.push({ collection: name, field: f, seen: { [formatType(inf)]: inferred.sampled }, chosen: `${formatType(t)} (declared)` });
      types.set(f, t);
    }
    const columns = input.columns ?? {};
    const idRename = columns._id;
    const keyProperty = typeof idRename === 'string' ? idRename : typeof idRename === 'object' && idRename && idRename.property ? idRename.property : o.idProperty;
    const idType = types.get('_id');
    types.delete('_id');
    const keyType = (idType && !idType.list && REALM_PATH_TYPES.has(idType.realm) ? idType.realm : 'objectId') as ResolvedTable['keyType'];
    if (idType && (idType.list || !REALM_PATH_TYPES.has(idType.realm))) problems.push(`${name}._id is ${formatType(idType)}; a realm primary key is int, string, objectId or uuid`);
    const references = new Map(Object.entries(input.references ?? {}));
    for (const [f, target] of references) if (!config.tables[target]) problems.push(`${name}.references.${f}: collection '${target}' is not mapped`);
    const partitionField = input.partition === true ? '_partition' : typeof input.partition === 'string' ? input.partition : null;
    const t: ResolvedTable = { table: name, type: input.type ?? name, keyProperty, keyType, placement: { kind: 'fixed', path: '/' }, partitionField, fields: new Map(), byProperty: new Map(), links: [], references, excluded: new Set() };
    for (const [field, type] of types) {
      if (field === partitionField) continue;
      const c = columns[field];
      if (c === false) {
        t.excluded.add(field);
        continue;
      }
      const spec: FieldSpec = { field, property: typeof c === 'string' ? c : (c?.property ?? field), type, counter: typeof c === 'object' && !!c?.counter };
      if (typeof c === 'object' && c) {
        if (c.toRealm) spec.toRealm = c.toRealm;
        if (c.fromRealm) spec.fromRealm = c.fromRealm;
      }
      if (spec.counter && (type.realm !== 'int' || type.list)) problems.push(`${name}.columns.${field}: a counter must be an int field (it is ${formatType(type)})`);
      t.fields.set(field, spec);
      t.byProperty.set(spec.property, spec);
    }
    for (const [field, c] of Object.entries(columns)) if (field !== '_id' && c !== false && !t.fields.has(field)) problems.push(`${name}.columns.${field}: no such field (declared or in the sampled documents: ${[...types.keys()].join(', ') || 'none'}); declare its type in schema.${name}`);
    if (input.links) for (const [field, prop] of Object.entries(input.links)) {
      if (prop === false) continue;
      const target = references.get(field) ?? conventionalTarget(field, (n) => !!config.tables[n]);
      if (!target) problems.push(`${name}.links.${field}: not a reference (declare references: { ${field}: '<collection>' })`);
      else {
        t.links.push({ field, property: prop, targetTable: target });
        // A link field is the link only, unless its plain value is declared too (then both properties exist; the link wins on write).
        if (!declared.has(field)) {
          const plain = t.fields.get(field);
          t.fields.delete(field);
          if (plain) t.byProperty.delete(plain.property);
        }
      }
    }
    mapping.add(t);
  }
  for (const [name, input] of entries) {
    const t = mapping.tables.get(name)!;
    const fields = ['_id', ...t.fields.keys()];
    if (t.partitionField) {
      if (input.realm !== undefined) problems.push(`${name}: partition and realm are exclusive`);
      const field = t.partitionField;
      t.placement = { kind: 'function', fn: (row) => (typeof row[field] === 'string' ? (row[field] as string) : '') };
      continue;
    }
    const input0 = input.realm ?? config.realm ?? `/${o.database}`;
    const filled = typeof input0 === 'string' ? input0.replace(/\{database\}/g, o.database).replace(/\{collection\}/g, name) : input0;
    try {
      t.placement = resolvePlacement(filled, {
        schema: o.database,
        table: name,
        columns: fields,
        followTarget: (f) => t.references.get(f) ?? conventionalTarget(f, (n) => mapping.tables.has(n)),
        unknownColumn: (f, where) => connectorError('CONNECTOR_MAPPING_INVALID', `mongodb connector mapping: tables.${name}.${where}: no field '${f}' in collection '${name}' (fields: ${fields.join(', ')}); declare it in schema.${name}`),
        fail: (where, message) => connectorError('CONNECTOR_MAPPING_INVALID', `mongodb connector mapping: tables.${name}.${where}: ${message}`),
      });
    } catch (e) {
      problems.push((e as Error).message.replace(/^mongodb connector mapping: /, ''));
    }
    if (t.placement.kind === 'follow' && !mapping.tables.has(t.placement.targetTable)) problems.push(`tables.${name}.realm: follows '${t.placement.column}' to collection '${t.placement.targetTable}', which is not mapped`);
  }
  if (problems.length > 0) throw connectorError('CONNECTOR_MAPPING_INVALID', `mongodb connector mapping: ${problems.join('; ')}`);
  for (const c of mapping.report.conflicts) mapping.warnOnce(`conflict:${c.collection}.${c.field}`, `schema conflict: ${c.collection}.${c.field} has ${Object.entries(c.seen).map(([k, n]) => `${n} × ${k}`).join(', ')}; chose ${c.chosen} (values that do not fit are counted, left unchanged in the realm and kept in MongoDB)`, {});
  return mapping;
}

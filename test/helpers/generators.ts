/**
 * Seeded generators of replica states and valid changesets, for the merge property tests and the
 * whole-system simulation. Every changeset is built by applying each instruction to a clone as it
 * is generated, so it is valid against the state it was generated for by construction.
 */
import { apply, Instruction, ListInstruction, MemoryState, ObjectRecord } from '../../src/changeset';
import { ObjectKey, ObjectSchema, PropertySchema, Value, keyString } from '../../src/model';
import { Prng } from './prng';

export { Prng };

/** A seed from `envName` when set (to replay a printed failure), otherwise a fresh one. */
export function seedFrom(envName: string): number {
  const v = process.env[envName];
  if (v !== undefined && v !== '') return Number(v) >>> 0;
  return (Date.now() ^ Math.floor(Math.random() * 0x100000000)) >>> 0;
}

export function weighted<T extends string>(rng: Prng, weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  let total = 0;
  for (const [, w] of entries) total += w;
  let x = rng.next() * total;
  for (const [k, w] of entries) {
    if ((x -= w) < 0) return k;
  }
  return entries[entries.length - 1]![0];
}

// ---------------------------------------------------------------------------------------------
// Schema catalogue. A property name has one shape per type everywhere, so schema additions that
// different generators make concurrently are compatible (unless `incompatibleSchema` is asked for).

const PRIMARY_KEYS: Record<string, PropertySchema | null> = {
  A: { name: 'id', type: 'int', optional: false },
  B: { name: 'key', type: 'string', optional: false },
  C: null,
  D: { name: 'id', type: 'int', optional: false },
  E: null,
};

const LINK_TARGET: Record<string, [string, string]> = {
  // type: [target of `ref`, element type of `refs`]
  A: ['B', 'C'],
  B: ['C', 'A'],
  C: ['A', 'B'],
  D: ['A', 'D'],
  E: ['E', 'A'],
};

function catalogue(type: string): PropertySchema[] {
  const [refTarget, refsTarget] = LINK_TARGET[type]!;
  return [
    { name: 'n', type: 'int', optional: false },
    { name: 'm', type: 'int', optional: true },
    { name: 's', type: 'string', optional: false },
    { name: 'd', type: 'double', optional: false },
    { name: 'os', type: 'string', optional: true },
    { name: 'ref', type: 'object', objectType: refTarget, optional: true },
    { name: 'own', type: 'object', objectType: type, optional: true },
    { name: 'refs', type: 'list', objectType: refsTarget, optional: false },
    { name: 'nums', type: 'list', objectType: 'int', optional: false },
    { name: 'strs', type: 'list', objectType: 'string', optional: true },
    { name: 'x1', type: 'int', optional: false },
    { name: 'x2', type: 'string', optional: true },
    { name: 'x3', type: 'list', objectType: 'int', optional: false },
    { name: 'xl', type: 'object', objectType: 'A', optional: true },
  ];
}

const INCOMPATIBLE: PropertySchema[] = [
  { name: 'x1', type: 'string', optional: false },
  { name: 'x2', type: 'string', optional: false },
  { name: 'xl', type: 'object', objectType: 'B', optional: true },
];

const KEY_POOL_SIZE = 8;

function keyPool(type: string): ObjectKey[] {
  const out: ObjectKey[] = [];
  for (let i = 1; i <= KEY_POOL_SIZE; i++) {
    const pk = PRIMARY_KEYS[type];
    out.push(pk === null || pk === undefined ? `_${type.toLowerCase()}${i}` : pk.type === 'int' ? i : `k${i}`);
  }
  return out;
}

function addTypeInstruction(rng: Prng, type: string, base: boolean): Instruction {
  const pk = PRIMARY_KEYS[type]!;
  const all = catalogue(type);
  const chosen = all.filter((p, i) => (base ? i < 10 && (i < 3 || rng.bool(0.75)) : rng.bool(0.5)));
  if (!chosen.some((p) => p.name === 'n')) chosen.unshift(all[0]!);
  return { op: 'AddType', type, primaryKey: pk?.name ?? null, properties: pk ? [pk, ...chosen] : chosen };
}

// ---------------------------------------------------------------------------------------------
// States

export interface StateOptions {
  /** Data changesets applied after the schema (default 2). */
  rounds?: number;
}

/** A random replica: types A, B and usually C, a handful of objects, lists with some tombstones. */
export function randomState(rng: Prng, options: StateOptions = {}): MemoryState {
  const state = new MemoryState();
  const schema: Instruction[] = [addTypeInstruction(rng, 'A', true), addTypeInstruction(rng, 'B', true)];
  if (rng.bool(0.8)) schema.push(addTypeInstruction(rng, 'C', true));
  apply(state, schema);
  const creates: Instruction[] = [];
  for (const s of state.schemas()) {
    const pool = keyPool(s.name);
    const count = rng.int(1, 4);
    for (let i = 0; i < count; i++) creates.push({ op: 'Create', type: s.name, id: pool[i]!, values: { n: rng.int(-3, 3) } });
  }
  apply(state, creates);
  const fill: Instruction[] = [];
  for (const s of state.schemas()) {
    for (const r of state.objects(s.name)) {
      for (const p of listProps(s)) {
        if (!rng.bool(0.6)) continue;
        const count = rng.int(1, 4);
        for (let i = 0; i < count; i++) {
          const value = randomElement(rng, state, p);
          if (value !== undefined) fill.push({ op: 'ListInsert', type: s.name, id: r.id, property: p.name, index: i, value, prior: i });
          else break;
        }
      }
    }
  }
  apply(state, fill);
  const rounds = options.rounds ?? 2;
  for (let r = 0; r < rounds; r++) {
    randomChangeset(rng, state, { size: rng.int(3, 10), mutate: true, weights: { Clear: 0, AddType: 0, AddProperties: 0.5, Delete: 2 } });
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// Changesets

export type GenKind = Instruction['op'];

export const DEFAULT_WEIGHTS: Record<GenKind, number> = {
  Create: 10,
  Set: 14,
  AddInteger: 9,
  Delete: 5,
  Clear: 1,
  ListSet: 6,
  ListInsert: 13,
  ListErase: 7,
  ListMove: 8,
  ListClear: 2,
  AddType: 1,
  AddProperties: 2,
};

/** Objects and keys that concurrent generators should prefer, so they collide often. */
export interface Focus {
  objects: { type: string; id: ObjectKey }[];
  /** Keys that may not exist yet, for concurrent creates of the same object. */
  newKeys: { type: string; id: ObjectKey }[];
  /** Preferred list property, if the focus objects have one. */
  listProperty?: string;
}

export interface ChangesetOptions {
  size?: number;
  weights?: Partial<Record<GenKind, number>>;
  focus?: Focus;
  /** Probability of using the focus when it applies (default 0.75). */
  focusBias?: number;
  /** Sometimes add properties whose shape differs from the catalogue's. */
  incompatibleSchema?: boolean;
  /** Apply to `state` itself instead of a clone. */
  mutate?: boolean;
}

/** A random valid changeset against `state`; `after` is the state with it applied. */
export function randomChangeset(rng: Prng, state: MemoryState, options: ChangesetOptions = {}): { instructions: Instruction[]; after: MemoryState } {
  const st = options.mutate ? state : state.clone();
  const size = options.size ?? rng.int(1, 6);
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const out: Instruction[] = [];
  for (let k = 0; k < size; k++) {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ins = randomInstruction(rng, st, weighted(rng, weights), options);
      if (!ins) continue;
      try {
        apply(st, [ins]);
      } catch (e) {
        throw new Error(`generator produced an invalid instruction ${describeInstruction(ins)}: ${(e as Error).message}`);
      }
      out.push(ins);
      break;
    }
  }
  return { instructions: out, after: st };
}

/** Focus objects and keys for a pair of concurrent generators. */
export function randomFocus(rng: Prng, state: MemoryState): Focus {
  const all = allObjects(state);
  const objects: Focus['objects'] = [];
  const n = rng.int(1, 2);
  for (let i = 0; i < n && all.length > 0; i++) objects.push(rng.pick(all));
  const newKeys: Focus['newKeys'] = [];
  const types = state.schemas().map((s) => s.name);
  for (let i = 0; i < 2; i++) {
    const t = rng.pick(types);
    newKeys.push({ type: t, id: rng.pick(keyPool(t)) });
  }
  return { objects, newKeys, listProperty: rng.pick(['refs', 'nums', 'strs', 'refs']) };
}

function allObjects(state: MemoryState): { type: string; id: ObjectKey }[] {
  const out: { type: string; id: ObjectKey }[] = [];
  for (const s of state.schemas()) for (const r of state.objects(s.name)) out.push({ type: s.name, id: r.id });
  return out;
}

function pickObject(rng: Prng, st: MemoryState, options: ChangesetOptions, filter?: (s: ObjectSchema) => boolean): { schema: ObjectSchema; record: ObjectRecord } | undefined {
  if (options.focus && rng.bool(options.focusBias ?? 0.75)) {
    const live = options.focus.objects
      .map((o) => ({ schema: st.getSchema(o.type), record: st.getObject(o.type, o.id) }))
      .filter((x): x is { schema: ObjectSchema; record: ObjectRecord } => !!x.schema && !!x.record && (!filter || filter(x.schema)));
    if (live.length > 0) return rng.pick(live);
  }
  const candidates: { schema: ObjectSchema; record: ObjectRecord }[] = [];
  for (const schema of st.schemas()) {
    if (filter && !filter(schema)) continue;
    for (const record of st.objects(schema.name)) candidates.push({ schema, record });
  }
  return candidates.length > 0 ? rng.pick(candidates) : undefined;
}

function scalarProps(schema: ObjectSchema): PropertySchema[] {
  return schema.properties.filter((p) => p.name !== schema.primaryKey && p.type !== 'list' && p.type !== 'linkingObjects');
}

function listProps(schema: ObjectSchema): PropertySchema[] {
  return schema.properties.filter((p) => p.type === 'list');
}

function randomLink(rng: Prng, st: MemoryState, target: string): ObjectKey | null {
  const objects = [...st.objects(target)];
  if (objects.length === 0) return null;
  return rng.pick(objects).id;
}

function randomScalar(rng: Prng, st: MemoryState, p: PropertySchema): Value {
  if (p.optional && rng.bool(0.15)) return null;
  switch (p.type) {
    case 'int':
      return rng.int(-9, 9);
    case 'double':
      return rng.pick([0, 1.5, -2.25, 1e6]);
    case 'string':
      return rng.pick(['', 'x', 'y', 'zz']);
    case 'object':
      return st.getSchema(p.objectType!) ? randomLink(rng, st, p.objectType!) : null;
    default:
      return null;
  }
}

function randomElement(rng: Prng, st: MemoryState, p: PropertySchema): Value | undefined {
  switch (p.objectType) {
    case 'int':
      return rng.int(-9, 9);
    case 'string':
      return p.optional && rng.bool(0.2) ? null : rng.pick(['a', 'b', 'c']);
    default: {
      if (!st.getSchema(p.objectType!)) return undefined;
      return randomLink(rng, st, p.objectType!) ?? undefined;
    }
  }
}

function randomValues(rng: Prng, st: MemoryState, schema: ObjectSchema, min: number): { values: Record<string, Value>; defaults?: string[] } {
  const values: Record<string, Value> = {};
  const defaults: string[] = [];
  const props = scalarProps(schema);
  const wanted = Math.min(props.length, rng.int(min, 3));
  for (let i = 0; i < wanted; i++) {
    const p = rng.pick(props);
    values[p.name] = randomScalar(rng, st, p);
    if (rng.bool(0.15) && !defaults.includes(p.name)) defaults.push(p.name);
  }
  return defaults.length > 0 ? { values, defaults } : { values };
}

function randomInstruction(rng: Prng, st: MemoryState, kind: GenKind, options: ChangesetOptions): Instruction | undefined {
  switch (kind) {
    case 'Create': {
      let type: string;
      let id: ObjectKey;
      if (options.focus && options.focus.newKeys.length > 0 && rng.bool(options.focusBias ?? 0.75)) {
        ({ type, id } = rng.pick(options.focus.newKeys));
      } else {
        type = rng.pick(st.schemas()).name;
        id = rng.pick(keyPool(type));
      }
      const schema = st.getSchema(type);
      if (!schema) return undefined;
      const { values, defaults } = randomValues(rng, st, schema, 0);
      return defaults ? { op: 'Create', type, id, values, defaults } : { op: 'Create', type, id, values };
    }
    case 'Set': {
      const o = pickObject(rng, st, options);
      if (!o || scalarProps(o.schema).length === 0) return undefined;
      const { values, defaults } = randomValues(rng, st, o.schema, 1);
      const base = { op: 'Set' as const, type: o.schema.name, id: o.record.id, values };
      return defaults && rng.bool(0.5) ? { ...base, defaults } : base;
    }
    case 'AddInteger': {
      const o = pickObject(rng, st, options);
      if (!o) return undefined;
      const ints = scalarProps(o.schema).filter((p) => p.type === 'int');
      if (ints.length === 0) return undefined;
      return { op: 'AddInteger', type: o.schema.name, id: o.record.id, property: rng.pick(ints).name, delta: rng.int(-5, 5) };
    }
    case 'Delete': {
      const o = pickObject(rng, st, options);
      return o && { op: 'Delete', type: o.schema.name, id: o.record.id };
    }
    case 'Clear': {
      const types = st.schemas();
      if (options.focus && rng.bool(0.5) && options.focus.objects.length > 0) return { op: 'Clear', type: rng.pick(options.focus.objects).type };
      return { op: 'Clear', type: rng.pick(types).name };
    }
    case 'ListSet':
    case 'ListInsert':
    case 'ListErase':
    case 'ListMove':
    case 'ListClear':
      return randomListInstruction(rng, st, kind, options);
    case 'AddType': {
      const type = rng.pick(['C', 'D', 'E']);
      const existing = st.getSchema(type);
      const ins = addTypeInstruction(rng, type, false);
      if (existing && ins.op === 'AddType') {
        // Adding an existing type again is legal when compatible: it adds the missing properties.
        ins.properties = ins.properties.filter((p) => !existing.properties.some((q) => q.name === p.name) || p.name === existing.primaryKey);
      }
      return ins;
    }
    case 'AddProperties': {
      const schema = rng.pick(st.schemas());
      if (options.incompatibleSchema && rng.bool(0.7)) {
        const p = rng.pick(INCOMPATIBLE);
        if (!schema.properties.some((q) => q.name === p.name)) return { op: 'AddProperties', type: schema.name, properties: [p] };
      }
      const missing = catalogue(schema.name).filter((p) => !schema.properties.some((q) => q.name === p.name));
      if (missing.length === 0) return undefined;
      const props = [rng.pick(missing)];
      if (rng.bool(0.3)) {
        const extra = rng.pick(missing);
        if (extra !== props[0]) props.push(extra);
      }
      return { op: 'AddProperties', type: schema.name, properties: props };
    }
  }
}

function randomListInstruction(rng: Prng, st: MemoryState, kind: ListInstruction['op'], options: ChangesetOptions): Instruction | undefined {
  const o = pickObject(rng, st, options, (s) => listProps(s).length > 0);
  if (!o) return undefined;
  const lists = listProps(o.schema);
  const preferred = lists.find((p) => p.name === options.focus?.listProperty);
  const prop = preferred && rng.bool(0.7) ? preferred : rng.pick(lists);
  const size = (o.record.lists[prop.name] ?? []).length;
  const base = { type: o.schema.name, id: o.record.id, property: prop.name, prior: size };
  switch (kind) {
    case 'ListInsert': {
      const value = randomElement(rng, st, prop);
      if (value === undefined) return undefined;
      // Inserting at either end is common in practice and collides more often.
      const index = rng.bool(0.3) ? rng.pick([0, size]) : rng.int(0, size);
      return { ...base, op: 'ListInsert', index, value };
    }
    case 'ListSet': {
      if (size === 0) return undefined;
      const value = randomElement(rng, st, prop);
      if (value === undefined) return undefined;
      return { ...base, op: 'ListSet', index: rng.int(0, size - 1), value };
    }
    case 'ListErase':
      if (size === 0) return undefined;
      return { ...base, op: 'ListErase', index: rng.int(0, size - 1) };
    case 'ListMove':
      if (size < 2) return undefined;
      return { ...base, op: 'ListMove', from: rng.int(0, size - 1), to: rng.int(0, size - 1) };
    case 'ListClear':
      return { ...base, op: 'ListClear' };
  }
}

/** A compact one-line rendering for failure messages. */
export function describeInstruction(i: Instruction): string {
  return JSON.stringify(i, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v));
}

export function describeChangeset(instructions: readonly Instruction[]): string {
  return instructions.map((i) => '  ' + describeInstruction(i)).join('\n');
}

/** A full dump of a state, for failure messages. */
export function describeState(state: MemoryState): string {
  const lines: string[] = [];
  for (const s of state.schemas()) {
    lines.push(`type ${s.name} pk=${s.primaryKey} props=${s.properties.map((p) => `${p.name}:${p.type}${p.objectType ? `<${p.objectType}>` : ''}${p.optional ? '?' : ''}`).join(',')}`);
    for (const r of state.objects(s.name)) lines.push(`  ${keyString(r.id)} ${JSON.stringify(r.values)} ${JSON.stringify(r.lists)}`);
  }
  return lines.join('\n');
}

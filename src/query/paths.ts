import type { ObjectRecord } from '../changeset/state';
import { zeroValue } from '../changeset/state';
import { isLinkList, isPrimitiveType, ObjectSchema, PrimitiveType, PropertySchema, Value } from '../model';
import type { KeyPathExpr, Segment } from './ast';
import { aggregateValues, AggregateOp } from './aggregate-values';
import { backlinks, linkTarget, linkTargets, liveValues } from './links';
import { queryError } from './query-error';
import type { CompileContext, Operand, QueryStore, ValueType, Vars } from './types';
import { utf8Length } from './values';
import { TributaryError } from '../errors';

/** One step from an object to related objects. `many` when it may yield several (a list or backlinks). */
interface Hop {
  many: boolean;
  follow(record: ObjectRecord, store: QueryStore): ObjectRecord[] | ObjectRecord | undefined;
}

/** The end of a key path: reads values from the last object reached. */
interface Terminal {
  many: boolean;
  type: ValueType;
  /** Single: one value. Many: an array of values. */
  read(record: ObjectRecord, store: QueryStore): Value | Value[];
}

export interface ResolvedPath {
  hops: Hop[];
  terminal: Terminal;
  /** The type of the object the terminal reads from. */
  lastType: string;
}

const AGGREGATES = new Set(['sum', 'avg', 'min', 'max']);
const SIZES = new Set(['count', 'size']);

/** Resolves a key path against the schema, starting at `startType`. Throws INVALID_QUERY naming the bad segment. */
export function resolvePath(store: QueryStore, text: string, startType: string, segments: Segment[], pathOffset: number): ResolvedPath {
  const hops: Hop[] = [];
  let type = startType;
  const fail = (seg: Segment | undefined, msg: string) => queryError(text, seg?.offset ?? pathOffset, msg);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const schema = schemaOf(store, type);
    const next = segments[i + 1];
    const isLast = next === undefined;
    if (seg.at) {
      const op = seg.name.toLowerCase();
      if (op !== 'links') throw fail(seg, `'@${seg.name}' must follow a list, a string or binary property`);
      if (next?.at && SIZES.has(next.name.toLowerCase())) {
        if (segments.length > i + 2) throw fail(segments[i + 2], `nothing may follow '@links.@${next.name}'`);
        return { hops, terminal: allBacklinksCount(store, text, seg, type), lastType: type };
      }
      const typeSeg = next;
      const propSeg = segments[i + 2];
      if (!typeSeg || !propSeg || typeSeg.at || propSeg.at) throw fail(seg, "'@links' must be followed by '.Type.property' or '.@count'");
      const fromSchema = store.getSchema(typeSeg.name);
      if (!fromSchema) throw fail(typeSeg, `no object type '${typeSeg.name}' in the schema`);
      const prop = fromSchema.properties.find((p) => p.name === propSeg.name);
      if (!prop || (prop.type !== 'object' && !isLinkList(prop)) || prop.objectType !== type) {
        throw fail(propSeg, `'${typeSeg.name}.${propSeg.name}' is not a link to '${type}'`);
      }
      const collection = backlinkCollection(typeSeg.name, prop);
      i += 2;
      const end = collectionStep(store, collection, segments, i, fail);
      if (end.terminal) return { hops, terminal: end.terminal, lastType: type };
      hops.push(end.hop!);
      type = typeSeg.name;
      continue;
    }
    const prop = schema.properties.find((p) => p.name === seg.name);
    if (!prop) throw fail(seg, `'${type}' has no property '${seg.name}'`);
    if (prop.type === 'object') {
      if (isLast) return { hops, terminal: linkTerminal(prop), lastType: type };
      if (next.at) throw fail(next, `'@${next.name}' cannot follow '${seg.name}', which is a single link, not a list`);
      hops.push({ many: false, follow: (r, s) => linkTarget(r, prop.name, prop.objectType!, s) });
      type = prop.objectType!;
      continue;
    }
    if (prop.type === 'linkingObjects' || isLinkList(prop)) {
      const from = prop.type === 'linkingObjects' ? store.getSchema(prop.objectType!) : undefined;
      const origin = from?.properties.find((p) => p.name === prop.property);
      if (prop.type === 'linkingObjects' && !origin) throw fail(seg, `linkingObjects '${type}.${seg.name}' refers to a missing property`);
      const collection = prop.type === 'linkingObjects' ? backlinkCollection(prop.objectType!, origin!) : listCollection(prop);
      const end = collectionStep(store, collection, segments, i, fail);
      if (end.terminal) return { hops, terminal: end.terminal, lastType: type };
      hops.push(end.hop!);
      type = prop.objectType!;
      continue;
    }
    if (prop.type === 'list') {
      // a list of primitives
      if (isLast) return { hops, terminal: primitiveListTerminal(prop), lastType: type };
      const op = next.at ? next.name.toLowerCase() : '';
      if (segments.length > i + 2) throw fail(segments[i + 2], `nothing may follow '${seg.name}.@${next.name}'`);
      if (SIZES.has(op)) return { hops, terminal: countTerminal((r) => liveValues(r.lists[prop.name]).length), lastType: type };
      if (AGGREGATES.has(op)) {
        const el = prop.objectType as PrimitiveType;
        checkAggregate(op, el, () => fail(next, `'@${next.name}' is not supported on a list of ${el}`));
        return { hops, terminal: aggregateTerminal(op as AggregateOp, el, (r) => liveValues(r.lists[prop.name])), lastType: type };
      }
      throw fail(next, `'${seg.name}' is a list of ${prop.objectType}; only @count, @size, @sum, @avg, @min and @max may follow it`);
    }
    // a primitive property
    if (isLast) return { hops, terminal: valueTerminal(schema, prop), lastType: type };
    const op = next.at ? next.name.toLowerCase() : '';
    if (SIZES.has(op) && (prop.type === 'string' || prop.type === 'data' || prop.type === 'mixed') && segments.length === i + 2) {
      return { hops, terminal: lengthTerminal(schema, prop), lastType: type };
    }
    throw fail(next, `'${type}.${seg.name}' is ${prop.type === 'int' ? 'an' : 'a'} ${prop.type}, so '${next.at ? '@' : ''}${next.name}' cannot follow it`);
  }
  throw queryError(text, pathOffset, 'expected a property name');
}

export function schemaOf(store: QueryStore, type: string): ObjectSchema {
  const s = store.getSchema(type);
  if (!s) throw new TributaryError('INTERNAL_ERROR', `no schema for '${type}'`);
  return s;
}

// ---- collections of objects (lists of links and backlinks)

interface Collection {
  name: string;
  targetType: string;
  targets(record: ObjectRecord, store: QueryStore): ObjectRecord[];
  /** As link values (object keys), for `dogs == $0`. */
  keys(record: ObjectRecord, store: QueryStore): Value[];
}

function listCollection(prop: PropertySchema): Collection {
  const target = prop.objectType!;
  return {
    name: prop.name,
    targetType: target,
    targets: (r, s) => linkTargets(r.lists[prop.name], target, s),
    keys: (r, s) => linkTargets(r.lists[prop.name], target, s).map((t) => t.id as Value),
  };
}

function backlinkCollection(fromType: string, prop: PropertySchema): Collection {
  return {
    name: `@links.${fromType}.${prop.name}`,
    targetType: fromType,
    targets: (r, s) => backlinks(r, s, fromType, prop),
    keys: (r, s) => backlinks(r, s, fromType, prop).map((t) => t.id as Value),
  };
}

/** After a collection at segments[i]: the end of the path, `@count`, an aggregate, or a hop into the elements. */
function collectionStep(store: QueryStore, c: Collection, segments: Segment[], i: number, fail: (s: Segment | undefined, m: string) => Error): { hop?: Hop; terminal?: Terminal } {
  const next = segments[i + 1];
  if (!next) return { terminal: { many: true, type: { kind: 'link', objectType: c.targetType }, read: c.keys } };
  if (!next.at) return { hop: { many: true, follow: c.targets } };
  const op = next.name.toLowerCase();
  if (SIZES.has(op)) {
    if (segments.length > i + 2) throw fail(segments[i + 2], `nothing may follow '${c.name}.@${next.name}'`);
    return { terminal: countTerminal((r, s) => c.targets(r, s).length) };
  }
  if (!AGGREGATES.has(op)) throw fail(next, `unknown collection operator '@${next.name}'`);
  const propSeg = segments[i + 2];
  if (!propSeg || propSeg.at) throw fail(propSeg ?? next, `'@${next.name}' on a list of objects needs a property, e.g. '${c.name}.@${next.name}.age'`);
  if (segments.length > i + 3) throw fail(segments[i + 3], `only one property may follow '@${next.name}'`);
  return { terminal: elementAggregate(store, c, op as AggregateOp, propSeg, fail) };
}

function elementAggregate(store: QueryStore, c: Collection, op: AggregateOp, propSeg: Segment, fail: (s: Segment | undefined, m: string) => Error): Terminal {
  const schema = schemaOf(store, c.targetType);
  const prop = schema.properties.find((p) => p.name === propSeg.name);
  if (!prop) throw fail(propSeg, `'${c.targetType}' has no property '${propSeg.name}'`);
  if (!isPrimitiveType(prop.type)) throw fail(propSeg, `'@${op}' needs a numeric or date property, and '${c.targetType}.${propSeg.name}' is a ${prop.type}`);
  const el = prop.type as PrimitiveType;
  checkAggregate(op, el, () => fail(propSeg, `'@${op}' is not supported on ${el} property '${c.targetType}.${propSeg.name}'`));
  const read = valueReader(schema, prop);
  return {
    many: false,
    type: aggregateType(op, el),
    read: (r, s) => aggregateValues(op, c.targets(r, s).map(read)),
  };
}

function checkAggregate(op: string, el: PrimitiveType, fail: () => Error): void {
  const numeric = el === 'int' || el === 'float' || el === 'double' || el === 'decimal128';
  if (op === 'min' || op === 'max' ? !(numeric || el === 'date' || el === 'mixed') : !(numeric || el === 'mixed')) throw fail();
}

function aggregateType(op: AggregateOp, el: PrimitiveType): ValueType {
  if (op === 'avg') return { kind: el === 'decimal128' ? 'decimal128' : 'double' };
  return { kind: el };
}

// ---- terminals

function valueTerminal(schema: ObjectSchema, prop: PropertySchema): Terminal {
  return { many: false, type: { kind: prop.type as PrimitiveType }, read: valueReader(schema, prop) };
}

/** Reads a primitive property as readValue() does (primary key from the id, unset as the zero value). */
export function valueReader(schema: ObjectSchema, prop: PropertySchema): (r: ObjectRecord) => Value {
  if (schema.primaryKey === prop.name) return (r) => r.id as Value;
  const name = prop.name;
  const zero = zeroValue(prop);
  return (r) => {
    const v = r.values[name];
    return v === undefined ? zero : v;
  };
}

function linkTerminal(prop: PropertySchema): Terminal {
  const target = prop.objectType!;
  return {
    many: false,
    type: { kind: 'link', objectType: target },
    read: (r, s) => (linkTarget(r, prop.name, target, s)?.id as Value | undefined) ?? null,
  };
}

function primitiveListTerminal(prop: PropertySchema): Terminal {
  return { many: true, type: { kind: prop.objectType as PrimitiveType }, read: (r) => liveValues(r.lists[prop.name]) };
}

function countTerminal(count: (r: ObjectRecord, s: QueryStore) => number): Terminal {
  return { many: false, type: { kind: 'int' }, read: count };
}

function aggregateTerminal(op: AggregateOp, el: PrimitiveType, values: (r: ObjectRecord) => Value[]): Terminal {
  return { many: false, type: aggregateType(op, el), read: (r) => aggregateValues(op, values(r)) };
}

function lengthTerminal(schema: ObjectSchema, prop: PropertySchema): Terminal {
  const read = valueReader(schema, prop);
  return {
    many: false,
    type: { kind: 'int' },
    read: (r) => {
      const v = read(r);
      if (typeof v === 'string') return utf8Length(v);
      if (v instanceof Uint8Array) return v.length;
      return null;
    },
  };
}

function allBacklinksCount(store: QueryStore, text: string, seg: Segment, type: string): Terminal {
  if (!store.schemas) throw queryError(text, seg.offset, "'@links.@count' needs a store that can list its schemas");
  const sources: Array<{ from: string; prop: PropertySchema }> = [];
  for (const s of store.schemas()) for (const p of s.properties) if ((p.type === 'object' || isLinkList(p)) && p.objectType === type) sources.push({ from: s.name, prop: p });
  return {
    many: false,
    type: { kind: 'int' },
    read: (r, s) => {
      let n = 0;
      for (const { from, prop } of sources) n += backlinks(r, s, from, prop).length;
      return n;
    },
  };
}

// ---- operands

/**
 * A key path as an operand. Chains of single links read as one value (null when a link is null);
 * a path through a list or backlinks reads as many values (objects behind null links add none).
 */
export function pathOperand(ctx: CompileContext, path: KeyPathExpr): Operand {
  const text = ctx.text.slice(path.offset, endOf(path));
  let startType = ctx.rootType;
  let slot = -1;
  if (path.variable !== undefined) {
    const v = ctx.variables.get(path.variable);
    if (!v) throw queryError(ctx.text, path.offset, `unknown variable '$${path.variable}' (only SUBQUERY variables can be used here)`);
    startType = v.type;
    slot = v.slot;
  } else if (ctx.variables.size > 0) {
    throw queryError(ctx.text, path.offset, `key paths inside a SUBQUERY must start with its variable ('$${[...ctx.variables.keys()].pop()}.${text}')`);
  }
  if (path.segments.length === 0) {
    return { form: 'single', read: (_r, _s, vars) => vars[slot]!.id as Value, type: { kind: 'link', objectType: startType }, offset: path.offset, text };
  }
  const resolved = resolvePath(ctx.store, ctx.text, startType, path.segments, path.offset);
  const { hops, terminal } = resolved;
  const many = terminal.many || hops.some((h) => h.many);
  const fromVar = slot >= 0;
  if (!many) {
    const read = chainSingle(hops, terminal);
    return { form: 'single', read: fromVar ? (_r, s, vars) => read(vars[slot]!, s) : (r, s) => read(r, s), type: terminal.type, offset: path.offset, text };
  }
  const readAll = chainMany(hops, terminal);
  return { form: 'multi', readAll: fromVar ? (_r, s, vars: Vars) => readAll(vars[slot]!, s) : (r, s) => readAll(r, s), type: terminal.type, offset: path.offset, text };
}

function endOf(path: KeyPathExpr): number {
  const last = path.segments[path.segments.length - 1];
  return last ? last.offset + last.name.length + (last.at ? 1 : 0) : path.offset + 1 + (path.variable?.length ?? 0);
}

export function chainSingle(hops: Hop[], terminal: Terminal): (r: ObjectRecord, s: QueryStore) => Value {
  const read = terminal.read as (r: ObjectRecord, s: QueryStore) => Value;
  if (hops.length === 0) return read;
  return (r, s) => {
    let cur: ObjectRecord | undefined = r;
    for (let i = 0; i < hops.length; i++) {
      cur = hops[i]!.follow(cur, s) as ObjectRecord | undefined;
      if (!cur) return null;
    }
    return read(cur, s);
  };
}

function chainMany(hops: Hop[], terminal: Terminal): (r: ObjectRecord, s: QueryStore) => Value[] {
  return (r, s) => {
    let cur: ObjectRecord[] = [r];
    for (const hop of hops) {
      const next: ObjectRecord[] = [];
      for (const c of cur) {
        const got = hop.follow(c, s);
        if (got === undefined) continue;
        if (Array.isArray(got)) for (const g of got) next.push(g);
        else next.push(got);
      }
      cur = next;
    }
    const out: Value[] = [];
    for (const c of cur) {
      const v = terminal.read(c, s);
      if (terminal.many) for (const x of v as Value[]) out.push(x);
      else out.push(v as Value);
    }
    return out;
  };
}

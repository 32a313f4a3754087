import type { ObjectRecord } from '../changeset/state';
import { Decimal128, isLinkList, ObjectId, ObjectKey, UUID, Value } from '../model';
import type { Expr, KeyPathExpr, Predicate, Segment, SubqueryExpr } from './ast';
import { backlinks, linkTargets } from './links';
import { literalValue } from './literals';
import { chainSingle, pathOperand, resolvePath } from './paths';
import { queryError } from './query-error';
import { LinkArg, type CompileContext, type Matcher, type Operand, type QueryStore, type ValueType } from './types';

/** Compiles any expression into an operand; `compilePredicate` is passed in to compile SUBQUERY bodies. */
export function compileOperand(ctx: CompileContext, expr: Expr, compilePredicate: (ctx: CompileContext, p: Predicate) => Matcher): Operand {
  switch (expr.kind) {
    case 'keypath':
      return pathOperand(ctx, expr);
    case 'literal': {
      const v = literalValue(expr);
      if (v !== null && typeof v === 'object' && 'error' in v) throw queryError(ctx.text, expr.offset, v.error);
      return { form: 'const', value: v as Value, type: typeOfValue(v as Value), offset: expr.offset };
    }
    case 'arg':
      return argOperand(ctx, expr.index, expr.offset);
    case 'list': {
      const values: Value[] = [];
      const types: ValueType[] = [];
      for (const item of expr.items) {
        const o = compileOperand(ctx, item, compilePredicate);
        if (o.form !== 'const') throw queryError(ctx.text, o.offset, 'a list {…} may only hold literals and arguments');
        values.push(o.value);
        types.push(o.type);
      }
      return { form: 'list', values, types, offset: expr.offset };
    }
    case 'subquery':
      return subqueryOperand(ctx, expr, compilePredicate);
  }
}

export function typeOfValue(v: Value): ValueType {
  if (v === null) return { kind: 'null' };
  if (typeof v === 'number') return { kind: 'double' };
  if (typeof v === 'string') return { kind: 'string' };
  if (typeof v === 'boolean') return { kind: 'bool' };
  if (v instanceof Date) return { kind: 'date' };
  if (v instanceof Uint8Array) return { kind: 'data' };
  if (v instanceof ObjectId) return { kind: 'objectId' };
  if (v instanceof UUID) return { kind: 'uuid' };
  return { kind: 'decimal128' };
}

/** Arguments are bound as values (never parsed as query text). */
function argOperand(ctx: CompileContext, index: number, offset: number): Operand {
  if (index >= ctx.args.length) {
    throw queryError(ctx.text, offset, `argument $${index} was used but ${ctx.args.length === 0 ? 'no arguments were' : `only ${ctx.args.length} argument${ctx.args.length === 1 ? ' was' : 's were'}`} given`);
  }
  const raw = ctx.args[index];
  if (Array.isArray(raw)) {
    const values: Value[] = [];
    const types: ValueType[] = [];
    for (const item of raw) {
      const c = argValue(ctx, item, index, offset);
      values.push(c.value);
      types.push(c.type);
    }
    return { form: 'list', values, types, offset };
  }
  const c = argValue(ctx, raw, index, offset);
  return { form: 'const', value: c.value, type: c.type, offset };
}

function argValue(ctx: CompileContext, raw: unknown, index: number, offset: number): { value: Value; type: ValueType } {
  if (raw instanceof LinkArg) {
    if (!ctx.store.getSchema(raw.type)) throw queryError(ctx.text, offset, `argument $${index} is an object of unknown type '${raw.type}'`);
    return { value: raw.id as Value, type: { kind: 'link', objectType: raw.type } };
  }
  let value: Value;
  if (raw === null || raw === undefined) value = null;
  else if (typeof raw === 'bigint') value = Number(raw);
  else if (raw instanceof ArrayBuffer) value = new Uint8Array(raw);
  else if (ArrayBuffer.isView(raw) && !(raw instanceof Uint8Array)) value = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  else if (
    typeof raw === 'number' ||
    typeof raw === 'string' ||
    typeof raw === 'boolean' ||
    raw instanceof Date ||
    raw instanceof Uint8Array ||
    raw instanceof ObjectId ||
    raw instanceof UUID ||
    raw instanceof Decimal128
  ) {
    value = raw;
  } else {
    const name = typeof raw === 'object' ? (raw as object).constructor?.name ?? 'Object' : typeof raw;
    throw queryError(ctx.text, offset, `argument $${index} has an unsupported type (${name}); pass a value, an array of values or a Realm object`);
  }
  if (value instanceof Date && Number.isNaN(value.getTime())) throw queryError(ctx.text, offset, `argument $${index} is an invalid Date`);
  return { value, type: typeOfValue(value) };
}

/** `SUBQUERY(list, $x, predicate).@count`: the number of elements of `list` for which the predicate holds. */
function subqueryOperand(ctx: CompileContext, expr: SubqueryExpr, compilePredicate: (ctx: CompileContext, p: Predicate) => Matcher): Operand {
  const path = expr.collection;
  if (path.segments.length === 0) throw queryError(ctx.text, path.offset, 'SUBQUERY needs a list property as its first argument');
  const { startType, slot: fromSlot } = pathStart(ctx, path.variable, path.offset);
  const elements = collectionReader(ctx, startType, path);
  if (ctx.variables.has(expr.variable)) throw queryError(ctx.text, expr.offset, `variable '$${expr.variable}' is already in use by an enclosing SUBQUERY`);
  const slot = ctx.slots.count++;
  const inner: CompileContext = { ...ctx, variables: new Map(ctx.variables).set(expr.variable, { slot, type: elements.type }) };
  const predicate = compilePredicate(inner, expr.predicate);
  return {
    form: 'single',
    type: { kind: 'int' },
    offset: expr.offset,
    text: ctx.text.slice(expr.offset, expr.offset + 8),
    read: (r, s, vars) => {
      const list = elements.read(fromSlot >= 0 ? vars[fromSlot]! : r, s);
      if (list === null) return null;
      let n = 0;
      for (const e of list) {
        vars[slot] = e;
        if (predicate(r, s, vars)) n++;
      }
      return n;
    },
  };
}

function pathStart(ctx: CompileContext, variable: string | undefined, offset: number): { startType: string; slot: number } {
  if (variable === undefined) return { startType: ctx.rootType, slot: -1 };
  const v = ctx.variables.get(variable);
  if (!v) throw queryError(ctx.text, offset, `unknown variable '$${variable}'`);
  return { startType: v.type, slot: v.slot };
}

/** Resolves the SUBQUERY collection: single links, then a list of links or linkingObjects at the end. */
function collectionReader(ctx: CompileContext, startType: string, path: KeyPathExpr): { type: string; read: (r: ObjectRecord, s: QueryStore) => ObjectRecord[] | null } {
  const segs = path.segments;
  const last = segs[segs.length - 1]!;
  const prefix = resolvePrefix(ctx, startType, segs.slice(0, -1), path.offset);
  const schema = ctx.store.getSchema(prefix.type)!;
  const prop = last.at ? undefined : schema.properties.find((p) => p.name === last.name);
  if (!prop) throw queryError(ctx.text, last.offset, `'${prefix.type}' has no property '${last.at ? '@' : ''}${last.name}'`);
  let elementsOf: (r: ObjectRecord, s: QueryStore) => ObjectRecord[];
  if (isLinkList(prop)) elementsOf = (r, s) => linkTargets(r.lists[prop.name], prop.objectType!, s);
  else if (prop.type === 'linkingObjects') {
    const origin = ctx.store.getSchema(prop.objectType!)?.properties.find((p) => p.name === prop.property);
    if (!origin) throw queryError(ctx.text, last.offset, `linkingObjects '${prefix.type}.${prop.name}' refers to a missing property`);
    elementsOf = (r, s) => backlinks(r, s, prop.objectType!, origin);
  } else throw queryError(ctx.text, last.offset, `SUBQUERY needs a list of objects, and '${prefix.type}.${prop.name}' is ${prop.type === 'list' ? `a list of ${prop.objectType}` : `a ${prop.type}`}`);
  const follow = prefix.follow;
  return {
    type: prop.objectType!,
    read: (r, s) => {
      const at = follow(r, s);
      return at ? elementsOf(at, s) : null;
    },
  };
}

/** Follows single links only (a SUBQUERY collection cannot go through another list). */
function resolvePrefix(ctx: CompileContext, startType: string, segs: Segment[], offset: number): { type: string; follow: (r: ObjectRecord, s: QueryStore) => ObjectRecord | undefined } {
  if (segs.length === 0) return { type: startType, follow: (r) => r };
  const resolved = resolvePath(ctx.store, ctx.text, startType, segs, offset);
  if (resolved.terminal.type.kind !== 'link' || resolved.terminal.many || resolved.hops.some((h) => h.many)) {
    throw queryError(ctx.text, segs[0]!.offset, 'the SUBQUERY collection may only follow single links before its list');
  }
  const readKey = chainSingle(resolved.hops, resolved.terminal);
  const type = resolved.terminal.type.objectType!;
  const follow = (r: ObjectRecord, s: QueryStore): ObjectRecord | undefined => {
    const key = readKey(r, s);
    return key === null ? undefined : s.getObject(type, key as ObjectKey);
  };
  return { type, follow };
}

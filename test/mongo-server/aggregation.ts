/**
 * The aggregation stages a connector needs, over an array of documents: $match, $sort, $skip,
 * $limit, $project, $unset, $addFields/$set, $count, $unwind, and $group with field-path or constant
 * keys and the accumulators $sum $avg $min $max $first $last $push $addToSet $count (what
 * countDocuments sends is `[{ $match }, { $group: { _id: 1, n: { $sum: 1 } } }]`). Expressions are
 * limited to literals and field paths (`'$a.b'`, `'$$ROOT'`). Other stages are refused: known
 * MongoDB stages with NotImplemented, unknown names with mongod's 40324.
 */
import { Int32 } from 'mongodb';
import type { Document } from 'mongodb';
import { compareValues, isNumeric, isPlainDocument, toNumber } from './bson-values';
import { ErrorCode, fail, MongoCommandError } from './errors';
import { compileFilter } from './filter';
import { idKey } from './id-key';
import { getPathPlain, splitPath } from './paths';
import { compileProjection } from './projection';
import { parseSort, sortDocuments } from './sort';
import { addNumbers } from './update-arithmetic';

const KNOWN_UNIMPLEMENTED = new Set([
  '$lookup', '$graphLookup', '$facet', '$bucket', '$bucketAuto', '$sortByCount', '$replaceRoot', '$replaceWith',
  '$sample', '$out', '$merge', '$geoNear', '$indexStats', '$collStats', '$currentOp', '$listSessions', '$redact',
  '$unionWith', '$densify', '$fill', '$setWindowFields', '$documents', '$search', '$changeStreamSplitLargeEvent',
]);

type Expression = (doc: Document) => unknown;

function compileExpression(spec: unknown): Expression {
  if (typeof spec === 'string' && spec.startsWith('$')) {
    if (spec === '$$ROOT' || spec === '$$CURRENT') return (doc) => doc;
    if (spec.startsWith('$$')) fail('NotImplemented', `variables other than $$ROOT are not implemented by the test server: ${spec}`);
    const parts = splitPath(spec.slice(1));
    return (doc) => getPathPlain(doc, parts);
  }
  if (isPlainDocument(spec)) {
    const keys = Object.keys(spec);
    if (keys.length === 1 && keys[0] === '$literal') return () => spec.$literal;
    if (keys.some((k) => k.startsWith('$'))) fail('NotImplemented', `expression operators (${keys[0]}) are not implemented by the test server`);
    const fields = keys.map((k) => [k, compileExpression(spec[k])] as const);
    return (doc) => Object.fromEntries(fields.map(([k, e]) => [k, e(doc)]).filter(([, v]) => v !== undefined));
  }
  if (Array.isArray(spec)) {
    const items = spec.map(compileExpression);
    return (doc) => items.map((e) => e(doc) ?? null);
  }
  return () => spec;
}

type Stage = (docs: Document[]) => Document[];

export function compilePipeline(pipeline: Document[]): Stage[] {
  return pipeline.map((stage) => {
    if (!isPlainDocument(stage) || Object.keys(stage).length !== 1) {
      fail('FailedToParse', `A pipeline stage specification object must contain exactly one field.`);
    }
    const name = Object.keys(stage)[0]!;
    const spec = stage[name];
    switch (name) {
      case '$match': {
        const predicate = compileFilter(spec as Document);
        return (docs) => docs.filter(predicate);
      }
      case '$sort': {
        const keys = parseSort(spec as Document);
        return (docs) => sortDocuments(docs, keys);
      }
      case '$skip': {
        const n = isNumeric(spec) ? toNumber(spec) : -1;
        if (n < 0) fail('BadValue', `invalid argument to $skip stage: Expected a non-negative number in: $skip: ${String(spec)}`);
        return (docs) => docs.slice(n);
      }
      case '$limit': {
        const n = isNumeric(spec) ? toNumber(spec) : 0;
        if (n <= 0) fail('BadValue', `invalid argument to $limit stage: Expected a non-negative number in: $limit: ${String(spec)}`);
        return (docs) => docs.slice(0, n);
      }
      case '$project': {
        const project = compileProjection(spec as Document);
        return (docs) => docs.map(project);
      }
      case '$unset': {
        const fields = Array.isArray(spec) ? spec : [spec];
        const project = compileProjection(Object.fromEntries(fields.map((f) => [String(f), 0])));
        return (docs) => docs.map(project);
      }
      case '$addFields':
      case '$set': {
        if (!isPlainDocument(spec)) fail('FailedToParse', `${name} specification stage must be an object`);
        const fields = Object.keys(spec).map((k) => {
          if (k.includes('.')) fail('NotImplemented', `dotted field names in ${name} are not implemented by the test server`);
          return [k, compileExpression(spec[k])] as const;
        });
        return (docs) => docs.map((doc) => {
          const out = { ...doc };
          for (const [k, e] of fields) out[k] = e(doc);
          return out;
        });
      }
      case '$count': {
        if (typeof spec !== 'string' || spec === '' || spec.startsWith('$') || spec.includes('.')) {
          fail('BadValue', `the count field must be a non-empty string without '$' or '.'`);
        }
        return (docs) => (docs.length === 0 ? [] : [{ [spec]: new Int32(docs.length) }]);
      }
      case '$unwind':
        return compileUnwind(spec);
      case '$group':
        return compileGroup(spec);
      default:
        if (KNOWN_UNIMPLEMENTED.has(name)) fail('NotImplemented', `${name} is not implemented by the test server`);
        throw new MongoCommandError(ErrorCode.UnrecognizedStage, `Unrecognized pipeline stage name: '${name}'`);
    }
  });
}

export function runPipeline(stages: Stage[], docs: Document[]): Document[] {
  let out = docs;
  for (const stage of stages) out = stage(out);
  return out;
}

function compileUnwind(spec: unknown): Stage {
  const options = isPlainDocument(spec) ? spec : { path: spec };
  if (typeof options.path !== 'string' || !options.path.startsWith('$')) fail('BadValue', `$unwind path must be a field path starting with '$'`);
  if (options.includeArrayIndex !== undefined) fail('NotImplemented', `$unwind includeArrayIndex is not implemented by the test server`);
  const parts = splitPath(options.path.slice(1));
  if (parts.length !== 1) fail('NotImplemented', `$unwind over dotted paths is not implemented by the test server`);
  const field = parts[0]!;
  const keepEmpty = Boolean(options.preserveNullAndEmptyArrays);
  return (docs) => docs.flatMap((doc) => {
    const value = doc[field];
    if (Array.isArray(value)) {
      if (value.length === 0) return keepEmpty ? [doc] : [];
      return value.map((item) => ({ ...doc, [field]: item }));
    }
    if (value === undefined || value === null) return keepEmpty ? [doc] : [];
    return [doc];
  });
}

interface Accumulator {
  init(): unknown;
  step(state: unknown, doc: Document): unknown;
  result(state: unknown): unknown;
}

function compileAccumulator(field: string, spec: unknown): Accumulator {
  if (!isPlainDocument(spec) || Object.keys(spec).length !== 1) fail('FailedToParse', `The field '${field}' must be an accumulator object`);
  const op = Object.keys(spec)[0]!;
  const arg = spec[op];
  const expr = compileExpression(arg);
  switch (op) {
    case '$sum':
      return {
        init: () => new Int32(0),
        step: (s, doc) => {
          const v = expr(doc);
          return isNumeric(v) ? addNumbers(s, v) : s;
        },
        result: (s) => s,
      };
    case '$count':
      return { init: () => new Int32(0), step: (s) => addNumbers(s, new Int32(1)), result: (s) => s };
    case '$avg':
      return {
        init: () => ({ sum: 0, n: 0 }),
        step: (s, doc) => {
          const v = expr(doc);
          const state = s as { sum: number; n: number };
          return isNumeric(v) ? { sum: state.sum + toNumber(v), n: state.n + 1 } : state;
        },
        result: (s) => ((s as { n: number }).n === 0 ? null : (s as { sum: number }).sum / (s as { n: number }).n),
      };
    case '$min':
    case '$max':
      return {
        init: () => undefined,
        step: (s, doc) => {
          const v = expr(doc);
          if (v === undefined || v === null) return s;
          if (s === undefined) return v;
          const c = compareValues(v, s);
          return (op === '$min' ? c < 0 : c > 0) ? v : s;
        },
        result: (s) => s ?? null,
      };
    case '$first':
      return { init: () => ({ set: false, v: null }), step: (s, doc) => ((s as { set: boolean }).set ? s : { set: true, v: expr(doc) ?? null }), result: (s) => (s as { v: unknown }).v };
    case '$last':
      return { init: () => null, step: (_s, doc) => expr(doc) ?? null, result: (s) => s };
    case '$push':
      return { init: () => [], step: (s, doc) => { const v = expr(doc); if (v !== undefined) (s as unknown[]).push(v); return s; }, result: (s) => s };
    case '$addToSet':
      return {
        init: () => [],
        step: (s, doc) => {
          const v = expr(doc);
          const set = s as unknown[];
          if (v !== undefined && !set.some((x) => compareValues(x, v) === 0)) set.push(v);
          return s;
        },
        result: (s) => s,
      };
    default:
      fail('NotImplemented', `accumulator ${op} is not implemented by the test server`);
  }
}

/** Equal group keys (numbers by value, as $group compares them) map to equal strings. */
function groupKey(value: unknown): string {
  if (Array.isArray(value)) return `A[${value.map(groupKey).join(',')}]`;
  if (value instanceof RegExp || (value !== null && typeof value === 'object' && (value as { _bsontype?: string })._bsontype === 'BSONRegExp')) {
    return `R${String(value)}`;
  }
  if (isPlainDocument(value)) return `O{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${groupKey(value[k])}`).join(',')}}`;
  return idKey(value);
}

function compileGroup(spec: unknown): Stage {
  if (!isPlainDocument(spec) || !('_id' in spec)) fail('FailedToParse', `a group specification must include an _id`);
  const key = compileExpression(spec._id);
  const accumulators = Object.keys(spec).filter((k) => k !== '_id').map((k) => [k, compileAccumulator(k, spec[k])] as const);
  return (docs) => {
    const groups: Array<{ id: unknown; states: unknown[] }> = [];
    const index = new Map<string, number>();
    for (const doc of docs) {
      const id = key(doc) ?? null;
      const k = groupKey(id);
      let g = index.get(k);
      if (g === undefined) {
        g = groups.length;
        index.set(k, g);
        groups.push({ id, states: accumulators.map(([, a]) => a.init()) });
      }
      const group = groups[g]!;
      accumulators.forEach(([, a], i) => (group.states[i] = a.step(group.states[i], doc)));
    }
    return groups.map((g) => ({ _id: g.id, ...Object.fromEntries(accumulators.map(([name, a], i) => [name, a.result(g.states[i])])) }));
  };
}

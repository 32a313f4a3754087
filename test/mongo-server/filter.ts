/**
 * The query language as a compiler from a filter document to a predicate over documents. Supported:
 * equality on top-level and dotted fields (with MongoDB's array semantics: a field matches when the
 * array or any element matches), $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $nor $not $size
 * $all $elemMatch $regex/$options $type $mod, $comment. $expr, $where, $text, $jsonSchema and the
 * geo operators are refused with NotImplemented rather than silently ignored.
 */
import { BSONRegExp } from 'mongodb';
import type { Document } from 'mongodb';
import { compareValues, isNumeric, isPlainDocument, toNumber, typeName, typeOrder, TypeOrder } from './bson-values';
import { fail } from './errors';
import { collectPath, splitPath } from './paths';

export type Predicate = (doc: Document) => boolean;
type ValueTest = (value: unknown) => boolean;

const NOT_IMPLEMENTED_TOP = new Set(['$expr', '$where', '$text', '$jsonSchema', '$sampleRate']);

export function compileFilter(filter: Document | undefined | null): Predicate {
  if (filter == null) return () => true;
  if (!isPlainDocument(filter)) fail('TypeMismatch', `filter must be an object`);
  const parts: Predicate[] = [];
  for (const key of Object.keys(filter)) {
    const spec = filter[key];
    if (key.startsWith('$')) parts.push(compileTopLevel(key, spec));
    else parts.push(compileField(key, spec));
  }
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0]!;
  return (doc) => {
    for (const p of parts) if (!p(doc)) return false;
    return true;
  };
}

function compileTopLevel(op: string, spec: unknown): Predicate {
  switch (op) {
    case '$and':
    case '$or':
    case '$nor': {
      if (!Array.isArray(spec) || spec.length === 0) fail('BadValue', `${op} must be a nonempty array`);
      const subs = spec.map((s) => {
        if (!isPlainDocument(s)) fail('BadValue', `${op}/$or/$nor entries need to be full objects`);
        return compileFilter(s);
      });
      if (op === '$and') return (doc) => subs.every((p) => p(doc));
      if (op === '$or') return (doc) => subs.some((p) => p(doc));
      return (doc) => !subs.some((p) => p(doc));
    }
    case '$comment':
      return () => true;
    default:
      if (NOT_IMPLEMENTED_TOP.has(op)) fail('NotImplemented', `${op} is not implemented by the test server`);
      fail('BadValue', `unknown top level operator: ${op}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField.`);
  }
}

/** Whether `spec` is an operator document (`{ $gt: 1 }`) rather than a value to compare for equality. */
function isOperatorDocument(spec: unknown): spec is Document {
  if (!isPlainDocument(spec)) return false;
  const first = Object.keys(spec)[0];
  return first !== undefined && first.startsWith('$');
}

function compileField(path: string, spec: unknown): Predicate {
  const parts = splitPath(path);
  const test = compileValueSpec(spec);
  // $exists:false / $ne / $nin are negations over all of a path's values, handled inside the test
  // by receiving every value at once.
  if ((test as MultiTest).multi) {
    const multi = test as MultiTest;
    return (doc) => multi(collectPath(doc, parts));
  }
  if (parts.length === 1) {
    const field = parts[0]!;
    return (doc) => {
      const v = doc[field];
      if (test(v)) return true;
      if (Array.isArray(v)) for (const e of v) if (test(e)) return true;
      return false;
    };
  }
  return (doc) => {
    for (const v of collectPath(doc, parts)) {
      if (test(v)) return true;
      if (Array.isArray(v)) for (const e of v) if (test(e)) return true;
    }
    return false;
  };
}

/** A test that needs every value of the path at once (negations, $exists, $size over arrays). */
type MultiTest = ((values: unknown[]) => boolean) & { multi: true };

function multi(fn: (values: unknown[]) => boolean): ValueTest {
  const m = fn as MultiTest;
  m.multi = true;
  return m as unknown as ValueTest;
}

/** Runs a per-value test the way a field comparison does: on each value, then on each array element. */
function anyValue(values: unknown[], test: ValueTest): boolean {
  for (const v of values) {
    if (test(v)) return true;
    if (Array.isArray(v)) for (const e of v) if (test(e)) return true;
  }
  return false;
}

function asMulti(test: ValueTest): (values: unknown[]) => boolean {
  if ((test as MultiTest).multi) return test as unknown as MultiTest;
  return (values) => anyValue(values, test);
}

function compileValueSpec(spec: unknown): ValueTest {
  if (isOperatorDocument(spec)) return compileOperators(spec);
  if (spec instanceof RegExp || spec instanceof BSONRegExp) return regexTest(spec);
  return equalityTest(spec);
}

function equalityTest(operand: unknown): ValueTest {
  if (operand === null) return (v) => v === null || v === undefined;
  if (typeof operand === 'string') return (v) => v === operand;
  const order = typeOrder(operand);
  return (v) => typeOrder(v) === order && compareValues(v, operand) === 0;
}

function compileOperators(spec: Document): ValueTest {
  const tests: ValueTest[] = [];
  const keys = Object.keys(spec);
  for (const op of keys) {
    const operand = spec[op];
    let test: ValueTest;
    switch (op) {
      case '$eq':
        test = equalityTest(operand);
        break;
      case '$ne': {
        const eq = asMulti(equalityTest(operand));
        test = multi((values) => !eq(values));
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        test = comparisonTest(op, operand);
        break;
      case '$in':
        test = inTest(operand);
        break;
      case '$nin': {
        const inn = asMulti(inTest(operand, '$nin'));
        test = multi((values) => !inn(values));
        break;
      }
      case '$exists': {
        const want = truthy(operand);
        test = multi((values) => values.some((v) => v !== undefined) === want);
        break;
      }
      case '$size': {
        if (!isNumeric(operand)) fail('BadValue', `$size needs a number`);
        const n = toNumber(operand);
        test = multi((values) => values.some((v) => Array.isArray(v) && v.length === n));
        break;
      }
      case '$all':
        test = allTest(operand);
        break;
      case '$elemMatch':
        test = elemMatchTest(operand);
        break;
      case '$regex':
        test = regexTest(operand, spec.$options);
        break;
      case '$options':
        if (!('$regex' in spec)) fail('BadValue', `$options needs a $regex`);
        continue;
      case '$type':
        test = typeTest(operand);
        break;
      case '$mod':
        test = modTest(operand);
        break;
      case '$not': {
        if (!(isOperatorDocument(operand) || operand instanceof RegExp || operand instanceof BSONRegExp)) {
          fail('BadValue', `$not needs a regex or a document`);
        }
        const inner = asMulti(compileValueSpec(operand));
        test = multi((values) => !inner(values));
        break;
      }
      case '$comment':
        continue;
      case '$near':
      case '$nearSphere':
      case '$geoWithin':
      case '$geoIntersects':
      case '$bitsAllSet':
      case '$bitsAnySet':
      case '$bitsAllClear':
      case '$bitsAnyClear':
        fail('NotImplemented', `${op} is not implemented by the test server`);
      // eslint-disable-next-line no-fallthrough
      default:
        fail('BadValue', `unknown operator: ${op}`);
    }
    tests.push(test);
  }
  if (tests.length === 1) return tests[0]!;
  // Each operator must hold over the path's values independently: on an array, `{ $gt: 1, $lt: 5 }`
  // may be satisfied by different elements (only $elemMatch asks one element to satisfy all).
  const all = tests.map(asMulti);
  return multi((values) => all.every((t) => t(values)));
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (isNumeric(value)) return toNumber(value) !== 0;
  return true;
}

function comparisonTest(op: string, operand: unknown): ValueTest {
  const order = typeOrder(operand);
  const accept = (c: number): boolean =>
    op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
  if (order === TypeOrder.MinKey || order === TypeOrder.MaxKey) return (v) => accept(compareValues(v, operand));
  if (order === TypeOrder.Null) {
    const inclusive = op === '$gte' || op === '$lte';
    return (v) => inclusive && (v === null || v === undefined);
  }
  if (operand instanceof RegExp || operand instanceof BSONRegExp) return regexTest(operand);
  return (v) => typeOrder(v) === order && accept(compareValues(v, operand));
}

function inTest(operand: unknown, name = '$in'): ValueTest {
  if (!Array.isArray(operand)) fail('BadValue', `${name} needs an array`);
  const tests = operand.map((o) => {
    if (isOperatorDocument(o)) fail('BadValue', `cannot nest $ under ${name}`);
    return o instanceof RegExp || o instanceof BSONRegExp ? regexTest(o) : equalityTest(o);
  });
  return (v) => {
    for (const t of tests) if (t(v)) return true;
    return false;
  };
}

function allTest(operand: unknown): ValueTest {
  if (!Array.isArray(operand)) fail('BadValue', `$all needs an array`);
  if (operand.length === 0) return () => false;
  const tests = operand.map((o) => {
    if (isPlainDocument(o) && '$elemMatch' in o) return asMulti(elemMatchTest(o.$elemMatch));
    return asMulti(o instanceof RegExp || o instanceof BSONRegExp ? regexTest(o) : equalityTest(o));
  });
  return multi((values) => tests.every((t) => t(values)));
}

function elemMatchTest(operand: unknown): ValueTest {
  if (!isPlainDocument(operand)) fail('BadValue', `$elemMatch needs an Object`);
  const onValues = isOperatorDocument(operand) && !['$and', '$or', '$nor'].includes(Object.keys(operand)[0]!);
  const elementTest: ValueTest = onValues
    ? ((inner) => (e: unknown) => inner([e]))(asMulti(compileOperators(operand)))
    : ((pred) => (e: unknown) => isPlainDocument(e) && pred(e))(compileFilter(operand));
  return multi((values) => values.some((v) => Array.isArray(v) && v.some(elementTest)));
}

/** Builds a JS RegExp from a BSON regex: i, m, s carry over; x drops unescaped whitespace and comments. */
export function toJsRegExp(pattern: string, options: string): RegExp {
  let source = pattern;
  if (options.includes('x')) source = source.replace(/\\#/g, '\u0000').replace(/#.*$/gm, '').replace(/(?<!\\)\s+/g, '').replace(/\u0000/g, '\\#');
  const flags = [...new Set(options.split(''))].filter((f) => 'ims'.includes(f)).join('');
  try {
    return new RegExp(source, flags + 'u');
  } catch {
    try {
      return new RegExp(source, flags);
    } catch (e) {
      fail('BadValue', `Regular expression is invalid: ${(e as Error).message}`);
    }
  }
}

function regexTest(operand: unknown, options?: unknown): ValueTest {
  let re: RegExp;
  if (operand instanceof RegExp) re = options === undefined ? operand : toJsRegExp(operand.source, String(options));
  else if (operand instanceof BSONRegExp) re = toJsRegExp(operand.pattern, options === undefined ? operand.options : String(options));
  else if (typeof operand === 'string') re = toJsRegExp(operand, options === undefined ? '' : String(options));
  else fail('BadValue', `$regex has to be a string`);
  return (v) => {
    if (typeof v === 'string') {
      re.lastIndex = 0;
      return re.test(v);
    }
    // A stored regex matches a regex operand by equality, as in MongoDB.
    if (v instanceof RegExp || v instanceof BSONRegExp) return compareValues(v, operand) === 0;
    return false;
  };
}

const TYPE_ALIASES: Record<string, string[]> = {
  double: ['double'],
  string: ['string'],
  object: ['object'],
  array: ['array'],
  binData: ['binData'],
  undefined: ['undefined'],
  objectId: ['objectId'],
  bool: ['bool'],
  date: ['date'],
  null: ['null'],
  regex: ['regex'],
  javascript: ['javascript'],
  symbol: ['symbol'],
  int: ['int'],
  timestamp: ['timestamp'],
  long: ['long'],
  decimal: ['decimal'],
  minKey: ['minKey'],
  maxKey: ['maxKey'],
  number: ['double', 'int', 'long', 'decimal'],
};
const TYPE_NUMBERS: Record<number, string> = {
  1: 'double', 2: 'string', 3: 'object', 4: 'array', 5: 'binData', 6: 'undefined', 7: 'objectId', 8: 'bool',
  9: 'date', 10: 'null', 11: 'regex', 13: 'javascript', 14: 'symbol', 16: 'int', 17: 'timestamp', 18: 'long',
  19: 'decimal', [-1]: 'minKey', 127: 'maxKey',
};

function typeTest(operand: unknown): ValueTest {
  const list = Array.isArray(operand) ? operand : [operand];
  const wanted = new Set<string>();
  for (const t of list) {
    const name = isNumeric(t) ? TYPE_NUMBERS[toNumber(t)] : typeof t === 'string' ? t : undefined;
    const names = name === undefined ? undefined : TYPE_ALIASES[name];
    if (!names) fail('BadValue', `Unknown type name alias: ${String(t)}`);
    for (const n of names) wanted.add(n);
  }
  return multi((values) => {
    for (const v of values) {
      if (v === undefined) continue;
      if (wanted.has(typeName(v))) return true;
      if (Array.isArray(v) && !wanted.has('array')) for (const e of v) if (wanted.has(typeName(e))) return true;
    }
    return false;
  });
}

function modTest(operand: unknown): ValueTest {
  if (!Array.isArray(operand) || operand.length !== 2 || !operand.every(isNumeric)) {
    fail('BadValue', `malformed mod, needs to be an array of two numbers`);
  }
  const divisor = Math.trunc(toNumber(operand[0]));
  const remainder = Math.trunc(toNumber(operand[1]));
  if (divisor === 0) fail('BadValue', `divisor cannot be 0`);
  return (v) => isNumeric(v) && Math.trunc(toNumber(v)) % divisor === remainder;
}

/**
 * The equality conditions a filter pins down (`{ a: 1, 'b.c': 2, d: { $eq: 3 } }` and those under
 * `$and`): the fields an upsert seeds its new document with.
 */
export function equalityFields(filter: Document | undefined): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (!filter) return out;
  for (const key of Object.keys(filter)) {
    const spec = filter[key];
    if (key === '$and' && Array.isArray(spec)) {
      for (const s of spec) if (isPlainDocument(s)) out.push(...equalityFields(s));
    } else if (!key.startsWith('$')) {
      if (isOperatorDocument(spec)) {
        if ('$eq' in spec) out.push([key, spec.$eq]);
      } else if (!(spec instanceof RegExp || spec instanceof BSONRegExp)) out.push([key, spec]);
    }
  }
  return out;
}

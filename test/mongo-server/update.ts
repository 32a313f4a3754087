/**
 * Update documents: replacements and the operators $set $unset $inc $mul $min $max $rename
 * $currentDate $setOnInsert $push ($each $position $slice $sort) $addToSet ($each) $pop $pull
 * $pullAll. Numeric path parts (`items.3`) address array elements. Paths are applied in
 * lexicographic order (numeric parts numerically), as MongoDB 5.0+ does, so new fields are appended
 * in that order. The positional operators (`$`, `$[]`, `$[id]`), $bit and pipeline updates are
 * refused with NotImplemented. Pure: the input document is never modified.
 */
import { ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { compareValues, identical, isNumeric, isPlainDocument, toNumber, typeName } from './bson-values';
import { DocumentWriter } from './document-writer';
import { ErrorCode, fail, MongoCommandError } from './errors';
import { compileFilter, equalityFields } from './filter';
import { isArrayIndex, splitPath } from './paths';
import { sortDocuments, parseSort } from './sort';
import { addNumbers, multiplyNumbers, zeroLike } from './update-arithmetic';
import { formatValue } from './value-format';

/** A path an operator wrote, with the operator: what updateDescription is computed from. */
export interface TouchedPath {
  path: string;
  operator: string;
}

export interface UpdateOutcome {
  doc: Document;
  touched: TouchedPath[];
}

export interface UpdateOptions {
  /** The update creates a document (an upsert that matched nothing): $setOnInsert applies. */
  inserting?: boolean;
  /** What $currentDate writes ({ $type: 'timestamp' } takes the next cluster time). */
  now?: () => { date: Date; timestamp: Timestamp };
}

const OPERATORS = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$currentDate', '$setOnInsert',
  '$push', '$addToSet', '$pop', '$pull', '$pullAll',
]);

export function isOperatorUpdate(update: Document): boolean {
  const first = Object.keys(update)[0];
  return first !== undefined && first.startsWith('$');
}

/** Checks a replacement document for fields an update may not contain. */
export function validateReplacement(replacement: Document): void {
  for (const key of Object.keys(replacement)) {
    if (key.startsWith('$')) {
      throw new MongoCommandError(
        52,
        `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
        { codeName: 'DollarPrefixedFieldName' },
      );
    }
  }
}

/** The document a replacement produces: `_id` kept (and first), anything else from the replacement. */
export function applyReplacement(original: Document, replacement: Document): Document {
  validateReplacement(replacement);
  if ('_id' in replacement && !identical(replacement._id, original._id)) {
    fail('ImmutableField', `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(replacement._id)}`);
  }
  const { _id: _ignored, ...rest } = replacement;
  return { _id: original._id, ...rest };
}

function comparePathParts(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (isArrayIndex(x) && isArrayIndex(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

interface Step {
  operator: string;
  path: string;
  operand: unknown;
}

function collectSteps(update: Document, inserting: boolean): Step[] {
  const steps: Step[] = [];
  for (const operator of Object.keys(update)) {
    if (!operator.startsWith('$')) {
      fail('FailedToParse', `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (operator === '$bit') fail('NotImplemented', `$bit is not implemented by the test server`);
    if (!OPERATORS.has(operator)) {
      fail('FailedToParse', `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    const fields = update[operator];
    if (!isPlainDocument(fields)) {
      fail('FailedToParse', `Modifiers operate on fields but we found type ${typeName(fields)} instead. For example: {$mod: {<field>: ...}} not {${operator}: ${formatValue(fields)}}`);
    }
    if (operator === '$setOnInsert' && !inserting) continue;
    for (const path of Object.keys(fields)) {
      if (path === '' || path.split('.').some((p) => p === '')) fail('BadValue', `An empty update path is not valid.`);
      if (path.split('.').some((p) => p === '$' || p.startsWith('$['))) {
        fail('NotImplemented', `positional update operators ($, $[], $[<id>]) are not implemented by the test server`);
      }
      steps.push({ operator, path, operand: fields[path] });
      if (operator === '$rename') {
        const to = fields[path];
        if (typeof to !== 'string') fail('BadValue', `The 'to' field for $rename must be a string: ${path}: ${formatValue(to)}`);
        if (to === path) fail('BadValue', `The source and target field for $rename must differ: ${path}: ${JSON.stringify(to)}`);
        steps.push({ operator: '$rename:to', path: to, operand: path });
      }
    }
  }
  checkConflicts(steps);
  return steps.sort((a, b) => comparePathParts(a.path, b.path));
}

function checkConflicts(steps: Step[]): void {
  const paths = steps.map((s) => s.path).sort();
  for (let i = 1; i < paths.length; i++) {
    const a = paths[i - 1]!;
    const b = paths[i]!;
    if (a === b || b.startsWith(a + '.')) {
      fail('ConflictingUpdateOperators', `Updating the path '${b}' would create a conflict at '${a}'`);
    }
  }
}

/** Applies an operator update to `original`, returning the new document and the paths written. */
export function applyOperatorUpdate(original: Document, update: Document, options: UpdateOptions = {}): UpdateOutcome {
  const steps = collectSteps(update, options.inserting ?? false);
  const writer = new DocumentWriter(original);
  const touched: TouchedPath[] = [];
  for (const step of steps) {
    if (applyStep(writer, step, original, options)) touched.push({ path: step.path, operator: step.operator });
  }
  const doc = writer.root;
  if (steps.some((s) => s.path === '_id' || s.path.startsWith('_id.')) && !identical(doc._id, original._id)) {
    fail('ImmutableField', `Performing an update on the path '_id' would modify the immutable field '_id'`);
  }
  return { doc, touched };
}

function numericOperand(step: Step): void {
  if (!isNumeric(step.operand)) {
    const verb = step.operator === '$inc' ? 'increment' : 'multiply';
    fail('TypeMismatch', `Cannot ${verb} with non-numeric argument: {${step.path}: ${formatValue(step.operand)}}`);
  }
}

function arrayAt(writer: DocumentWriter, step: Step, original: Document): unknown[] | undefined {
  const parts = splitPath(step.path);
  const current = writer.get(parts);
  if (current === undefined) return undefined;
  if (!Array.isArray(current)) {
    if (step.operator === '$push' || step.operator === '$addToSet') {
      fail('BadValue', `The field '${step.path}' must be an array but is of type ${typeName(current)} in document {_id: ${formatValue(original._id)}}`);
    }
    fail('TypeMismatch', `Path '${step.path}' contains an element of non-array type '${typeName(current)}'`);
  }
  return writer.ownArray(parts);
}

/** Applies one operator to one path; false when it changed nothing worth reporting. */
function applyStep(writer: DocumentWriter, step: Step, original: Document, options: UpdateOptions): boolean {
  const parts = splitPath(step.path);
  switch (step.operator) {
    case '$set':
    case '$setOnInsert':
      writer.set(parts, step.operand);
      return true;
    case '$unset':
      return writer.unset(parts);
    case '$inc':
    case '$mul': {
      numericOperand(step);
      const current = writer.get(parts);
      if (current !== undefined && !isNumeric(current)) {
        fail('TypeMismatch', `Cannot apply ${step.operator} to a value of non-numeric type. {_id: ${formatValue(original._id)}} has the field '${parts[parts.length - 1]}' of non-numeric type ${typeName(current)}`);
      }
      const next = step.operator === '$inc'
        ? current === undefined ? step.operand : addNumbers(current, step.operand)
        : current === undefined ? zeroLike(step.operand) : multiplyNumbers(current, step.operand);
      writer.set(parts, next);
      return true;
    }
    case '$min':
    case '$max': {
      const current = writer.get(parts);
      const c = current === undefined ? 0 : compareValues(step.operand, current);
      if (current === undefined || (step.operator === '$min' ? c < 0 : c > 0)) {
        writer.set(parts, step.operand);
        return true;
      }
      return false;
    }
    case '$rename': {
      const value = writer.get(parts);
      if (value === undefined) return false;
      writer.unset(parts);
      return true;
    }
    case '$rename:to': {
      const value = new DocumentWriter(original).get(splitPath(step.operand as string));
      if (value === undefined) return false;
      writer.set(parts, value);
      return true;
    }
    case '$currentDate': {
      const spec = step.operand;
      const wantsTimestamp = isPlainDocument(spec) && spec.$type === 'timestamp';
      if (isPlainDocument(spec) && spec.$type !== 'date' && spec.$type !== 'timestamp') {
        fail('BadValue', `The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}`);
      }
      const now = options.now?.() ?? { date: new Date(), timestamp: new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 }) };
      writer.set(parts, wantsTimestamp ? now.timestamp : now.date);
      return true;
    }
    case '$push':
      return push(writer, step, original);
    case '$addToSet': {
      const values = isPlainDocument(step.operand) && '$each' in step.operand ? eachOf(step.operand) : [step.operand];
      const array = arrayAt(writer, step, original);
      if (!array) {
        const unique: unknown[] = [];
        for (const v of values) if (!unique.some((u) => compareValues(u, v) === 0)) unique.push(v);
        writer.set(parts, unique);
        return true;
      }
      let added = false;
      for (const v of values) {
        if (!array.some((e) => compareValues(e, v) === 0)) {
          array.push(v);
          added = true;
        }
      }
      return added;
    }
    case '$pop': {
      const array = arrayAt(writer, step, original);
      if (!array || array.length === 0) return false;
      const n = isNumeric(step.operand) ? toNumber(step.operand) : Number.NaN;
      if (n !== 1 && n !== -1) fail('FailedToParse', `$pop expects 1 or -1, found: ${formatValue(step.operand)}`);
      if (n === 1) array.pop();
      else array.shift();
      return true;
    }
    case '$pull':
    case '$pullAll': {
      const array = arrayAt(writer, step, original);
      if (!array) return false;
      const matches = step.operator === '$pullAll' ? pullAllMatcher(step) : pullMatcher(step.operand);
      const kept = array.filter((e) => !matches(e));
      if (kept.length === array.length) return false;
      array.length = 0;
      array.push(...kept);
      return true;
    }
    default:
      throw new MongoCommandError(ErrorCode.InternalError, `unhandled update operator ${step.operator}`);
  }
}

function eachOf(spec: Document): unknown[] {
  if (!Array.isArray(spec.$each)) fail('BadValue', `The argument to $each in $push must be an array but it was of type: ${typeName(spec.$each)}`);
  return spec.$each;
}

function push(writer: DocumentWriter, step: Step, original: Document): boolean {
  const spec = step.operand;
  const modifiers = isPlainDocument(spec) && '$each' in spec;
  const values = modifiers ? eachOf(spec as Document) : [spec];
  const existing = arrayAt(writer, step, original);
  const array = existing ?? [];
  if (modifiers) {
    for (const key of Object.keys(spec as Document)) {
      if (!['$each', '$position', '$slice', '$sort'].includes(key)) {
        fail('BadValue', `Unrecognized clause in $push: ${key}`);
      }
    }
  }
  const { $position: position, $slice: slice, $sort: sortSpec } = (modifiers ? spec : {}) as Document;
  let at = array.length;
  if (position !== undefined) {
    if (!isNumeric(position)) fail('BadValue', `The value for $position must be an integer value, not of type: ${typeName(position)}`);
    const p = toNumber(position);
    at = p < 0 ? Math.max(0, array.length + p) : Math.min(p, array.length);
  }
  array.splice(at, 0, ...values);
  if (sortSpec !== undefined) sortArray(array, sortSpec);
  if (slice !== undefined) {
    if (!isNumeric(slice)) fail('BadValue', `The value for $slice must be an integer value but was given type: ${typeName(slice)}`);
    const s = toNumber(slice);
    const kept = s >= 0 ? array.slice(0, s) : array.slice(Math.max(0, array.length + s));
    array.length = 0;
    array.push(...kept);
  }
  if (!existing) writer.set(splitPath(step.path), array);
  return true;
}

function sortArray(array: unknown[], spec: unknown): void {
  if (isNumeric(spec)) {
    const direction = toNumber(spec);
    array.sort((a, b) => compareValues(a, b) * direction);
    return;
  }
  if (!isPlainDocument(spec)) fail('BadValue', `The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields`);
  const docs = array.map((e) => (isPlainDocument(e) ? e : { '': e }));
  sortDocuments(docs, parseSort(spec));
  array.splice(0, array.length, ...docs.map((d) => ('' in d && Object.keys(d).length === 1 ? d[''] : d)));
}

function pullMatcher(condition: unknown): (element: unknown) => boolean {
  if (isPlainDocument(condition)) {
    const keys = Object.keys(condition);
    if (keys.length > 0 && keys[0]!.startsWith('$') && !['$and', '$or', '$nor'].includes(keys[0]!)) {
      // { $gte: 6 }: a condition on the elements themselves.
      const predicate = compileFilter({ v: condition });
      return (e) => predicate({ v: e });
    }
    // { a: 1 }: a query on document elements (non-documents never match).
    const predicate = compileFilter(condition);
    return (e) => isPlainDocument(e) && predicate(e);
  }
  if (condition instanceof RegExp) return (e) => typeof e === 'string' && condition.test(e);
  return (e) => compareValues(e, condition) === 0;
}

function pullAllMatcher(step: Step): (element: unknown) => boolean {
  if (!Array.isArray(step.operand)) fail('BadValue', `$pullAll requires an array argument but was given a ${typeName(step.operand)}`);
  const values = step.operand;
  return (e) => values.some((v) => compareValues(e, v) === 0);
}

/**
 * The document an upsert inserts when nothing matched: the query's equality fields, then the
 * update (operators with $setOnInsert, or the replacement), `_id` first and generated when absent.
 */
export function upsertDocument(query: Document | undefined, update: Document, options: UpdateOptions = {}): UpdateOutcome {
  const seed = new DocumentWriter({});
  for (const [path, value] of equalityFields(query)) {
    if (isPlainDocument(value) && Object.keys(value).some((k) => k.startsWith('$'))) continue;
    seed.set(splitPath(path), value);
  }
  let doc: Document;
  let touched: TouchedPath[] = [];
  if (isOperatorUpdate(update)) {
    const outcome = applyOperatorUpdate(seed.root, update, { ...options, inserting: true });
    doc = outcome.doc;
    touched = outcome.touched;
  } else {
    validateReplacement(update);
    doc = { ...update };
    if (!('_id' in doc) && '_id' in seed.root) doc._id = seed.root._id;
  }
  if (!('_id' in doc)) doc._id = new ObjectId();
  return { doc: idFirst(doc), touched };
}

/** MongoDB stores `_id` as the first field whatever order the client sent. */
export function idFirst(doc: Document): Document {
  for (const key in doc) {
    if (key === '_id') return doc;
    break;
  }
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}


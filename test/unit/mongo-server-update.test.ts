import { Double, Int32, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { applyOperatorUpdate, applyReplacement, upsertDocument } from '../mongo-server/update';
import { describeUpdate } from '../mongo-server/update-description';

function update(doc: Document, spec: Document): Document {
  return applyOperatorUpdate(doc, spec).doc;
}

function describe_(doc: Document, spec: Document): ReturnType<typeof describeUpdate> {
  const { doc: after, touched } = applyOperatorUpdate(doc, spec);
  return describeUpdate(doc, after, touched);
}

describe('update operators', () => {
  test('copy on write: the stored document and everything it shares are never modified', () => {
    const original = { _id: 1, a: { b: [1, 2, { c: 3 }], e: [1] }, other: { x: 1 } };
    const frozen = JSON.stringify(original);
    const after = update(original, { $set: { 'a.b.2.c': 4, 'a.d': 1 }, $push: { 'a.e': 5 } as never });
    expect(JSON.stringify(original)).toBe(frozen);
    expect(after).toEqual({ _id: 1, a: { b: [1, 2, { c: 4 }], e: [1, 5], d: 1 }, other: { x: 1 } });
    expect(after.other).toBe(original.other);
  });

  test.each<[string, Document, Document, Document]>([
    ['$set creates parents', { _id: 1 }, { $set: { 'a.b.c': 1 } }, { _id: 1, a: { b: { c: 1 } } }],
    ['$set on an array index pads with nulls', { _id: 1, l: [1] }, { $set: { 'l.3': 4 } }, { _id: 1, l: [1, null, null, 4] }],
    ['$unset of an array element nulls it', { _id: 1, l: [1, 2] }, { $unset: { 'l.0': '' } }, { _id: 1, l: [null, 2] }],
    ['new fields are added in lexicographic order', { _id: 1 }, { $set: { b: 1, a: 1 } }, { _id: 1, a: 1, b: 1 }],
    ['$inc on a missing field sets it', { _id: 1 }, { $inc: { n: 2 } }, { _id: 1, n: 2 }],
    ['$mul on a missing field writes 0 of its type', { _id: 1 }, { $mul: { n: new Int32(2) } }, { _id: 1, n: new Int32(0) }],
    ['$min/$max', { _id: 1, lo: 5, hi: 5 }, { $min: { lo: 3 }, $max: { hi: 3 } }, { _id: 1, lo: 3, hi: 5 }],
    ['$rename', { _id: 1, a: 1, b: { c: 2 } }, { $rename: { a: 'z', 'b.c': 'b.d' } }, { _id: 1, b: { d: 2 }, z: 1 }],
    ['$push $each $position $slice', { _id: 1, l: [1, 2, 3] }, { $push: { l: { $each: [8, 9], $position: 1, $slice: 4 } } }, { _id: 1, l: [1, 8, 9, 2] }],
    ['$push $sort', { _id: 1, l: [{ n: 2 }, { n: 1 }] }, { $push: { l: { $each: [{ n: 0 }], $sort: { n: 1 } } } }, { _id: 1, l: [{ n: 0 }, { n: 1 }, { n: 2 }] }],
    ['$addToSet', { _id: 1, l: [1, 2] }, { $addToSet: { l: { $each: [2, 3, 3] } } }, { _id: 1, l: [1, 2, 3] }],
    ['$pop first and last', { _id: 1, a: [1, 2, 3], b: [1, 2, 3] }, { $pop: { a: -1, b: 1 } }, { _id: 1, a: [2, 3], b: [1, 2] }],
    ['$pull by value and by condition', { _id: 1, a: [1, 2, 3, 2], b: [{ k: 1 }, { k: 2 }] }, { $pull: { a: 2, b: { k: { $gt: 1 } } } }, { _id: 1, a: [1, 3], b: [{ k: 1 }] }],
    ['$pullAll', { _id: 1, a: [1, 2, 3] }, { $pullAll: { a: [1, 3] } }, { _id: 1, a: [2] }],
  ])('%s', (_name, doc, spec, expected) => {
    expect(update(doc, spec)).toEqual(expected);
  });

  test('$inc result types: int32 stays int32 until it overflows, doubles and longs win', () => {
    const after = update(
      { _id: 1, i: new Int32(1), big: new Int32(2 ** 31 - 1), d: new Double(1), l: Long.fromNumber(1) },
      { $inc: { i: new Int32(1), big: new Int32(1), d: new Int32(1), l: new Int32(1) } },
    );
    expect(after.i).toBeInstanceOf(Int32);
    expect(after.big).toBeInstanceOf(Long);
    expect(Number(after.big)).toBe(2 ** 31);
    expect(after.d).toBeInstanceOf(Double);
    expect(after.l).toBeInstanceOf(Long);
  });

  test.each<[string, Document, Document, number]>([
    ['$inc on a string', { _id: 1, s: 'x' }, { $inc: { s: 1 } }, 14],
    ['$inc with a string', { _id: 1 }, { $inc: { n: 'x' } }, 14],
    ['changing _id', { _id: 1 }, { $set: { _id: 2 } }, 66],
    ['conflicting paths', { _id: 1 }, { $set: { a: 1 }, $inc: { 'a.b': 1 } }, 40],
    ['unknown modifier', { _id: 1 }, { $frob: { a: 1 } }, 9],
    ['$push to a non-array', { _id: 1, a: 1 }, { $push: { a: 2 } }, 2],
    ['a field under a scalar', { _id: 1, a: 5 }, { $set: { 'a.b': 1 } }, 28],
    ['positional operator', { _id: 1, a: [1] }, { $set: { 'a.$': 1 } }, 238],
  ])('%s is refused with code %#', (_name, doc, spec, code) => {
    expect(() => update(doc, spec)).toThrow(expect.objectContaining({ code }));
  });

  test('replacement keeps _id first; changing it is ImmutableField', () => {
    expect(applyReplacement({ _id: 1, a: 1 }, { b: 2 })).toEqual({ _id: 1, b: 2 });
    expect(Object.keys(applyReplacement({ _id: 1 }, { b: 2, _id: 1 }))).toEqual(['_id', 'b']);
    expect(() => applyReplacement({ _id: 1 }, { _id: 2 })).toThrow(expect.objectContaining({ code: 66 }));
  });

  test('upsert seeds the new document from the query equalities and $setOnInsert', () => {
    expect(upsertDocument({ k: 1, 'n.x': 2, r: { $gt: 5 } }, { $set: { v: 1 }, $setOnInsert: { c: true } }).doc).toMatchObject({ k: 1, n: { x: 2 }, v: 1, c: true });
    expect(upsertDocument({ _id: 7 }, { a: 1 }).doc).toEqual({ _id: 7, a: 1 });
  });
});

describe('updateDescription', () => {
  test('paths as written; missing parents at their first missing level; removed fields', () => {
    expect(describe_({ _id: 1, a: { x: 1 }, l: [1, 2, 3, 4], gone: 1 }, { $set: { 'a.y': 2, 'l.3': 9, 'n.m': 1 }, $unset: { gone: '' } })).toEqual({
      updatedFields: { 'a.y': 2, 'l.3': 9, n: { m: 1 } },
      removedFields: ['gone'],
      truncatedArrays: [],
    });
  });

  test('$push reports appended elements by index; $pop of the last is a truncation; other array changes the whole array', () => {
    expect(describe_({ _id: 1, l: [1] }, { $push: { l: { $each: [2, 3] } } }).updatedFields).toEqual({ 'l.1': 2, 'l.2': 3 });
    expect(describe_({ _id: 1, l: [1, 2, 3] }, { $pop: { l: 1 } })).toEqual({ updatedFields: {}, removedFields: [], truncatedArrays: [{ field: 'l', newSize: 2 }] });
    expect(describe_({ _id: 1, l: [1, 2, 3] }, { $pop: { l: -1 } }).updatedFields).toEqual({ l: [2, 3] });
    expect(describe_({ _id: 1, l: [1, 2, 3] }, { $pull: { l: 2 } }).updatedFields).toEqual({ l: [1, 3] });
    expect(describe_({ _id: 1, l: [1] }, { $set: { 'l.3': 4 } }).updatedFields).toEqual({ l: [1, null, null, 4] });
  });

  test('applying the description to the old document gives the new one', () => {
    const before = { _id: 1, a: { b: 1, c: [1, 2, 3] }, d: 'x', e: [5, 6, 7] };
    const spec = { $set: { 'a.b': 2, 'f.g': 1 }, $unset: { d: '' }, $push: { 'a.c': 4 }, $pop: { e: 1 } };
    const { doc: after, touched } = applyOperatorUpdate(before, spec);
    const description = describeUpdate(before, after, touched);
    const replay = applyOperatorUpdate(before, {
      $set: description.updatedFields,
      $unset: Object.fromEntries(description.removedFields.map((f) => [f, ''])),
      $push: Object.fromEntries(description.truncatedArrays.map((t) => [t.field, { $each: [], $slice: t.newSize }])),
    }).doc;
    expect(replay).toEqual(after);
  });
});

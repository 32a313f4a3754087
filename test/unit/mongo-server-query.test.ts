import { BSONRegExp, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { compareValues, identical } from '../mongo-server/bson-values';
import { MongoCommandError } from '../mongo-server/errors';
import { compileFilter } from '../mongo-server/filter';
import { idKey } from '../mongo-server/id-key';
import { compileProjection } from '../mongo-server/projection';
import { parseSort, sortDocuments } from '../mongo-server/sort';

const docs: Document[] = [
  { _id: 1, a: 5, tags: ['x', 'y'], sub: { b: 1 } },
  { _id: 2, a: new Int32(7), tags: [], items: [{ k: 1 }, { k: 3 }] },
  { _id: 3, a: null, s: 'hello' },
  { _id: 4, a: 'text', items: [{ k: 2, v: [1, 2] }] },
  { _id: 5, a: [1, 9], sub: { b: null } },
  { _id: 6 },
];
const select = (filter: Document): unknown[] => docs.filter(compileFilter(filter)).map((d) => d._id);

describe('filter semantics', () => {
  test.each<[Document, unknown[]]>([
    [{ a: 5 }, [1]],
    [{ a: new Double(7) }, [2]],
    [{ a: Long.fromNumber(5) }, [1]],
    [{ a: null }, [3, 6]],
    [{ a: { $exists: true } }, [1, 2, 3, 4, 5]],
    [{ 'sub.b': null }, [2, 3, 4, 5, 6]],
    [{ 'sub.b': { $exists: false } }, [2, 3, 4, 6]],
    [{ a: { $gt: 6 } }, [2, 5]],
    [{ a: { $gt: 1, $lt: 9 } }, [1, 2, 5]],
    [{ a: { $gte: 'a' } }, [4]],
    [{ a: { $lte: null } }, [3, 6]],
    [{ a: { $ne: 5 } }, [2, 3, 4, 5, 6]],
    [{ a: { $in: [5, 'text', null] } }, [1, 3, 4, 6]],
    [{ a: { $nin: [5, 9] } }, [2, 3, 4, 6]],
    [{ tags: 'y' }, [1]],
    [{ tags: [] }, [2]],
    [{ tags: { $size: 2 } }, [1]],
    [{ tags: { $all: ['y', 'x'] } }, [1]],
    [{ 'items.k': 3 }, [2]],
    [{ 'items.0.k': 2 }, [4]],
    [{ 'items.v': 2 }, [4]],
    [{ items: { $elemMatch: { k: { $gt: 1 }, v: { $exists: false } } } }, [2]],
    [{ a: { $elemMatch: { $gt: 5 } } }, [5]],
    [{ $or: [{ a: 5 }, { s: { $regex: '^HEL', $options: 'i' } }] }, [1, 3]],
    [{ $and: [{ a: { $exists: true } }, { a: { $type: 'number' } }] }, [1, 2, 5]],
    [{ $nor: [{ a: 5 }, { a: null }] }, [2, 4, 5]],
    [{ a: { $not: { $gt: 6 } } }, [1, 3, 4, 6]],
    [{ s: new BSONRegExp('l+o$') }, [3]],
    [{ a: { $mod: [3, 1] } }, [2, 5]],
  ])('%j', (filter, expected) => {
    expect(select(filter)).toEqual(expected);
  });

  test('unknown operators are BadValue; unsupported ones NotImplemented', () => {
    expect(() => compileFilter({ a: { $nope: 1 } })).toThrow(expect.objectContaining({ code: 2, message: 'unknown operator: $nope' }));
    expect(() => compileFilter({ $where: 'x' })).toThrow(expect.objectContaining({ code: 238 }));
    expect(() => compileFilter({ a: { $in: 5 } })).toThrow(expect.objectContaining({ code: 2, message: '$in needs an array' }));
    expect(() => compileFilter({ $or: [] })).toThrow(MongoCommandError);
  });
});

describe('BSON order and keys', () => {
  test('values of different types sort in MongoDB canonical order', () => {
    const ordered = [new MinKey(), null, new Int32(1), 2.5, Long.fromNumber(3), 'a', { a: 1 }, [1], new ObjectId('000000000000000000000000'), false, true, new Date(0), new Timestamp({ t: 1, i: 1 }), new BSONRegExp('a'), new MaxKey()];
    const shuffled = [...ordered].reverse();
    shuffled.sort(compareValues);
    expect(shuffled).toEqual(ordered);
  });

  test('1, 1.0 and Long(1) are one _id, and equal in queries, but not identical', () => {
    expect(idKey(1)).toBe(idKey(new Double(1)));
    expect(idKey(1)).toBe(idKey(Long.fromNumber(1)));
    expect(idKey('1')).not.toBe(idKey(1));
    expect(idKey({ a: 1, b: 2 })).not.toBe(idKey({ b: 2, a: 1 }));
    expect(compareValues(new Int32(1), new Double(1))).toBe(0);
    expect(identical(new Int32(1), new Double(1))).toBe(false);
    expect(() => idKey([1])).toThrow(expect.objectContaining({ code: 53 }));
  });
});

describe('sort and projection', () => {
  test('arrays sort by their smallest element ascending, largest descending; missing sorts as null', () => {
    const rows = [{ _id: 'a', v: [5, 1] }, { _id: 'b', v: 3 }, { _id: 'c' }, { _id: 'd', v: [2, 8] }];
    expect(sortDocuments([...rows], parseSort({ v: 1 })).map((r) => r._id)).toEqual(['c', 'a', 'd', 'b']);
    expect(sortDocuments([...rows], parseSort({ v: -1 })).map((r) => r._id)).toEqual(['d', 'a', 'b', 'c']);
    expect(() => parseSort({ v: 2 })).toThrow(expect.objectContaining({ code: 15975 }));
  });

  test('inclusion keeps _id unless excluded and follows arrays of documents; exclusion removes paths', () => {
    const doc = { _id: 1, a: 1, b: { c: 1, d: 2 }, list: [{ c: 1, d: 2 }, 3] };
    expect(compileProjection({ 'b.c': 1, 'list.d': 1 })(doc)).toEqual({ _id: 1, b: { c: 1 }, list: [{ d: 2 }] });
    expect(compileProjection({ a: 1, _id: 0 })(doc)).toEqual({ a: 1 });
    expect(compileProjection({ 'b.d': 0, list: 0 })(doc)).toEqual({ _id: 1, a: 1, b: { c: 1 } });
    expect(() => compileProjection({ a: 1, 'a.b': 1 })).toThrow(expect.objectContaining({ code: 31250 }));
    expect(() => compileProjection({ a: { $slice: 1 } })).toThrow(expect.objectContaining({ code: 238 }));
  });
});

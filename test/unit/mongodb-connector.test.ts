import { Binary, Decimal128 as BsonDecimal, Double, Int32, Long, ObjectId as BsonObjectId, Timestamp, UUID as BsonUUID } from 'mongodb';
import { clientOptions, redactUrl, validateConfig } from '../../connectors/mongodb/config';
import { classify, mongoErrors } from '../../connectors/mongodb/errors';
import { inferSchema } from '../../connectors/mongodb/infer';
import { after, mongoPositionCodec, resumeOptions, timePosition } from '../../connectors/mongodb/position';
import { postImage, transactionKey } from '../../connectors/mongodb/capture';
import { bsonKind, parseDeclared, toBsonValue, toRealmValue, typeOfValue, Unfit } from '../../connectors/mongodb/types';
import { Decimal128, ObjectId, UUID } from '../../src/model';
import { MongoNetworkError, MongoServerError } from 'mongodb';

/** The MongoDB connector's pure parts: positions, the type table, inference, config, error classification. */

describe('positions', () => {
  const token = (hex: string) => ({ _data: hex });
  test('resume tokens, "just after" a token and cluster times order as the stream does', () => {
    const t = new Timestamp({ t: 100, i: 2 });
    const atT = timePosition(t);
    expect(atT).toBe('82000000640000000' + '2');
    const e1 = `${atT}2B0000000000`;
    const e2 = `${atT}2B0000000100`;
    const later = `${timePosition(new Timestamp({ t: 100, i: 3 }))}2B0000000000`;
    const sorted = [later, after(e2), e2, after(e1), e1, atT].sort(mongoPositionCodec.compare);
    expect(sorted).toEqual([atT, e1, after(e1), e2, after(e2), later]);
    expect(mongoPositionCodec.parse(e1.toLowerCase())).toBe(e1);
    expect(() => mongoPositionCodec.parse('16/B374D848')).toThrow(/not a MongoDB position/);
    expect(resumeOptions(after(e1))).toEqual({ resumeAfter: token(e1) });
    expect(resumeOptions(atT)).toEqual({ startAtOperationTime: t });
  });

  test('events of one transaction share a key (lsid.id + txnNumber); other writes have none', () => {
    const lsid = { id: new Binary(Buffer.alloc(16, 7), 4) };
    expect(transactionKey({ lsid, txnNumber: Long.fromNumber(3) } as never)).toBe(`${'07'.repeat(16)}:3`);
    expect(transactionKey({ lsid, txnNumber: Long.fromNumber(4) } as never)).not.toBe(transactionKey({ lsid, txnNumber: Long.fromNumber(3) } as never));
    expect(transactionKey({} as never)).toBeNull();
  });
});

describe('post-images from pre-images', () => {
  test('updatedFields (dotted paths, array indexes), removedFields and truncatedArrays applied to the pre-image, which is left alone', () => {
    const before = { _id: 1, a: 1, sub: { x: 1, y: [1, 2, 3] }, tags: ['a', 'b', 'c', 'd'], gone: true };
    const after1 = postImage(before, { updatedFields: { a: 2, 'sub.x': 5, 'sub.y.1': 20, 'tags.1': 'B', 'new.deep': 'n' }, removedFields: ['gone', 'sub.z'], truncatedArrays: [{ field: 'tags', newSize: 2 }] });
    expect(after1).toEqual({ _id: 1, a: 2, sub: { x: 5, y: [1, 20, 3] }, tags: ['a', 'B'], new: { deep: 'n' } });
    expect(before).toEqual({ _id: 1, a: 1, sub: { x: 1, y: [1, 2, 3] }, tags: ['a', 'b', 'c', 'd'], gone: true });
  });
});

describe('the type table', () => {
  test('BSON → realm and back keeps each type', () => {
    const oid = new BsonObjectId();
    const uuid = new BsonUUID();
    const cases: [unknown, string, unknown][] = [
      [new Int32(5), 'int', 5],
      [Long.fromNumber(2 ** 40), 'int', 2 ** 40],
      [new Double(3), 'double', 3],
      [BsonDecimal.fromString('1.10'), 'decimal128', new Decimal128('1.10')],
      [oid, 'objectId', new ObjectId(oid.toHexString())],
      [uuid, 'uuid', new UUID(uuid.toHexString())],
      [new Binary(Buffer.from([1, 2])), 'data', new Uint8Array([1, 2])],
      [new Date(5), 'date', new Date(5)],
      ['s', 'string', 's'],
      [true, 'bool', true],
    ];
    for (const [bson, realm, value] of cases) {
      const t = typeOfValue(bson)!;
      expect({ bson: bsonKind(bson), realm: t.realm }).toEqual({ bson: bsonKind(bson), realm });
      expect(toRealmValue(bson, t)).toEqual(value);
      const back = toBsonValue(value, t) as { _bsontype?: string; sub_type?: number };
      expect(back?._bsontype ?? typeof back).toBe((bson as { _bsontype?: string })._bsontype === 'Long' ? 'Long' : ((bson as { _bsontype?: string })._bsontype ?? (bson instanceof Date ? 'object' : typeof bson)));
    }
    expect(toBsonValue(7, parseDeclared('int'))).toEqual(new Int32(7));
    expect(toBsonValue(2 ** 33, parseDeclared('int'))).toEqual(Long.fromNumber(2 ** 33));
    expect((toBsonValue(new UUID(uuid.toHexString()), parseDeclared('uuid')) as Binary).sub_type).toBe(4);
  });

  test('sub-documents travel as canonical Extended JSON, types kept; values that do not fit throw Unfit', () => {
    const t = typeOfValue({ a: new Int32(1), d: BsonDecimal.fromString('2.5') })!;
    expect(t).toMatchObject({ realm: 'string', json: true });
    const text = toRealmValue({ a: new Int32(1), d: BsonDecimal.fromString('2.5') }, t) as string;
    expect(JSON.parse(text)).toEqual({ a: { $numberInt: '1' }, d: { $numberDecimal: '2.5' } });
    expect(toBsonValue(text, t)).toEqual({ a: new Int32(1), d: BsonDecimal.fromString('2.5') });
    expect(() => toRealmValue('x', parseDeclared('int'))).toThrow(Unfit);
    expect(() => toRealmValue(Long.fromString('9007199254740993'), parseDeclared('int'))).toThrow(Unfit);
    expect(typeOfValue([new Int32(1), new Double(1.5)])).toEqual({ realm: 'double', list: true, optional: true });
  });
});

describe('inference', () => {
  test('one type per field; int with double is double; incompatible types are a reported conflict', () => {
    const r = inferSchema('c', [
      { _id: 1, a: new Int32(1), b: new Int32(1), c: 'x' },
      { _id: 2, a: new Int32(2), b: new Double(1.5), c: new Int32(3) },
      { _id: 3, a: null, c: 'y' },
    ]);
    expect(Object.fromEntries([...r.fields].map(([k, v]) => [k, v.realm]))).toEqual({ _id: 'int', a: 'int', b: 'double', c: 'string' });
    expect(r.conflicts).toEqual([{ collection: 'c', field: 'c', seen: { 'string?': 2, 'int?': 1 }, chosen: 'string?' }]);
  });
});

describe('config', () => {
  test('every problem at once with its path; passwords redacted', () => {
    let e: { issues: { path: string; code: string }[] } | null = null;
    try {
      validateConfig({ name: 'x', serverUrl: 'realm://h', localPath: '/tmp/x', url: 'postgres://h', tables: { a: { partition: 3, references: { f: 1 } } }, schema: { a: { f: 'integer' } } });
    } catch (x) {
      e = x as never;
    }
    expect(e!.issues.map((i) => [i.path, i.code])).toEqual(
      expect.arrayContaining([
        ['url', 'CONFIG_VALUE'],
        ['database', 'CONFIG_MISSING'],
        ['tables.a.partition', 'CONFIG_TYPE'],
        ['tables.a.references.f', 'CONFIG_TYPE'],
        ['schema.a.f', 'CONFIG_VALUE'],
      ]),
    );
    expect(redactUrl('mongodb://u:p%40ss@h1,h2/db?replicaSet=rs0')).toBe('mongodb://u:***@h1,h2/db?replicaSet=rs0');
    expect(redactUrl('mongodb+srv://u:pw@cluster0.example.net/')).toBe('mongodb+srv://u:***@cluster0.example.net/');
    expect(redactUrl('mongodb://h/')).toBe('mongodb://h/');
    expect(clientOptions('mongodb://h/?serverSelectionTimeoutMS=5')).toEqual({});
  });
});

describe('error classification', () => {
  test('by code, label and driver class, never by message', () => {
    const server = (code: number, labels: string[] = []) => new MongoServerError({ ok: 0, code, errmsg: 'whatever', errorLabels: labels } as never);
    expect(classify(server(91))).toBe('transient');
    expect(classify(server(286))).toBe('permanent');
    expect(classify(server(13))).toBe('permanent');
    expect(classify(server(99999, ['TransientTransactionError']))).toBe('transient');
    expect(classify(new MongoNetworkError('socket'))).toBe('transient');
    expect(mongoErrors.classifyApply(server(121))).toBe('refused');
    expect(mongoErrors.classifyApply(server(13))).toBe('configuration');
    expect(mongoErrors.classifyApply(server(11000))).toBe('race');
    expect(mongoErrors.classifyApply(server(112))).toBe('transient');
    // A reply read with promoteValues: false carries its code as an Int32.
    expect(mongoErrors.driverCode(Object.assign(server(1), { code: new Int32(286) }))).toBe('286');
  });
});

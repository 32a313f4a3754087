import { compositeKey, decodeCompositeKey, pgKeyText } from '../../connectors/postgres';
import { jsonSafe } from '../../connectors/postgres/dead-letters';
import { nearestName } from '../../connectors/postgres/mapping';
import { Decimal128, UUID } from '../../src/model';

test('pgKeyText prints key columns as PostgreSQL does in the connector sessions (UTC, ISO, trailing zeros of fractions dropped)', () => {
  const d = (iso: string) => new Date(iso);
  expect([
    pgKeyText.timestamptz(d('2024-05-06T07:08:09Z')),
    pgKeyText.timestamptz(d('2024-05-06T07:08:09.500Z')),
    pgKeyText.timestamptz(d('2024-05-06T07:08:09.012Z')),
    pgKeyText.timestamp(d('0999-12-31T23:59:59.100Z')),
    pgKeyText.date(d('2024-02-29T23:00:00Z')),
  ]).toEqual(['2024-05-06 07:08:09+00', '2024-05-06 07:08:09.5+00', '2024-05-06 07:08:09.012+00', '0999-12-31 23:59:59.1', '2024-02-29']);
  expect([pgKeyText.numeric(7.5, 2), pgKeyText.numeric('12', 3), pgKeyText.numeric('-0.5', 1), pgKeyText.numeric(3, 0)]).toEqual(['7.50', '12.000', '-0.5', '3']);
  expect([pgKeyText.bool(true), pgKeyText.bool(false), pgKeyText.bytea(new Uint8Array([0, 255, 16])), pgKeyText.uuid('0A1B2C3D-0000-4000-8000-00000000000F')]).toEqual(['t', 'f', '\\x00ff10', '0a1b2c3d-0000-4000-8000-00000000000f']);
  expect(() => pgKeyText.numeric('1.234', 2)).toThrow(/does not fit scale 2/);
  expect(() => pgKeyText.timestamptz(new Date(NaN))).toThrow(/valid Date/);
});

test('compositeKey escapes and joins the parts the way decodeCompositeKey reads them', () => {
  const key = compositeKey(['a|b', 'c\\d', 42, 9007199254740993n, true, pgKeyText.timestamptz(new Date('2024-01-01T00:00:00.25Z'))]);
  expect(key).toBe('a\\|b|c\\\\d|42|9007199254740993|t|2024-01-01 00:00:00.25+00');
  expect(decodeCompositeKey(key)).toEqual(['a|b', 'c\\d', '42', '9007199254740993', 't', '2024-01-01 00:00:00.25+00']);
  expect(() => compositeKey([1.5])).toThrow(/part 0 \(1\.5\).*pgKeyText/);
  expect(() => compositeKey([new Date() as never])).toThrow(/pgKeyText/);
});

test('nearestName: the same name in another case first, else the closest within a third of its length', () => {
  const tables = ['order', 'order_line', 'shelf_item', 'user', 'Customer'];
  expect([nearestName('User', tables), nearestName('customer', tables), nearestName('shelfitem', tables), nearestName('ordr', tables), nearestName('zzz', tables)]).toEqual(['user', 'Customer', 'shelf_item', 'order', null]);
});

test('jsonSafe: what a dead letter stores for realm values', () => {
  expect(jsonSafe({ type: 'SET', values: { at: new Date('2024-01-02T03:04:05.006Z'), bin: new Uint8Array([1, 2]).buffer, d: new Decimal128('-5.10'), u: new UUID('00000000-0000-4000-8000-000000000001'), n: NaN, i: 7, s: null } })).toEqual({
    type: 'SET',
    values: { at: '2024-01-02T03:04:05.006Z', bin: { base64: 'AQI=' }, d: '-5.10', u: '00000000-0000-4000-8000-000000000001', n: 'NaN', i: 7, s: null },
  });
});

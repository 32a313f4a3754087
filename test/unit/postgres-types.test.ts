import { ConversionError, parseArray, parseTimestamp, realmTypeFor } from '../../connectors/postgres/types';
import { Decimal128, UUID } from '../../src/model';

const base = (name: string) => ({ name, kind: 'b' });

describe('PostgreSQL text → realm values', () => {
  test.each([
    ['int2', '-7', 'int', -7],
    ['int4', '2147483647', 'int', 2147483647],
    ['int8', '9007199254740991', 'int', 9007199254740991],
    ['float4', '1.5', 'float', 1.5],
    ['float8', '-Infinity', 'double', -Infinity],
    ['bool', 't', 'bool', true],
    ['bool', 'f', 'bool', false],
    ['text', "it's\nhere", 'string', "it's\nhere"],
    ['varchar', '', 'string', ''],
    ['bpchar', 'English             ', 'string', 'English'],
    ['tsvector', "'academi':1 'battl':15", 'string', "'academi':1 'battl':15"],
    ['jsonb', '{"a": 1}', 'string', '{"a": 1}'],
    ['interval', '1 day 02:00:00', 'string', '1 day 02:00:00'],
  ])('%s %j → %s', (pg, text, realm, value) => {
    const t = realmTypeFor(base(pg));
    expect([t.realm, t.list, t.fromText(text)]).toEqual([realm, false, value]);
  });

  test('numeric → decimal128 without loss', () => {
    const t = realmTypeFor(base('numeric'));
    expect(t.realm).toBe('decimal128');
    const v = t.fromText('12345678901234567890.12345') as Decimal128;
    expect(v).toBeInstanceOf(Decimal128);
    expect(v.toString()).toBe('12345678901234567890.12345');
  });

  test('int8 beyond 2^53 is refused, not rounded', () => {
    expect(() => realmTypeFor(base('int8')).fromText('9007199254740993')).toThrow(ConversionError);
  });

  test('dates, timestamps (as UTC) and timestamptz with offsets', () => {
    expect(parseTimestamp('2022-02-15')).toEqual(new Date(Date.UTC(2022, 1, 15)));
    expect(parseTimestamp('2022-02-15 09:34:33')).toEqual(new Date(Date.UTC(2022, 1, 15, 9, 34, 33)));
    expect(parseTimestamp('2022-02-15 09:34:33+00')).toEqual(new Date(Date.UTC(2022, 1, 15, 9, 34, 33)));
    expect(parseTimestamp('2022-02-15 09:34:33.123456+00')).toEqual(new Date(Date.UTC(2022, 1, 15, 9, 34, 33, 123)));
    expect(parseTimestamp('2022-02-15 11:34:33+02')).toEqual(new Date(Date.UTC(2022, 1, 15, 9, 34, 33)));
    expect(parseTimestamp('2022-02-15 04:04:33-05:30')).toEqual(new Date(Date.UTC(2022, 1, 15, 9, 34, 33)));
    expect(parseTimestamp('0044-03-15 00:00:00+00 BC').getUTCFullYear()).toBe(-43);
    expect(parseTimestamp('infinity').getTime()).toBe(8.64e15);
    expect(() => parseTimestamp('yesterday')).toThrow(ConversionError);
  });

  test('bytea hex → data; uuid; enums as strings', () => {
    expect([...(realmTypeFor(base('bytea')).fromText('\\x00ff10') as Uint8Array)]).toEqual([0, 255, 16]);
    const u = realmTypeFor(base('uuid')).fromText('123e4567-e89b-12d3-a456-426614174000');
    expect(u).toBeInstanceOf(UUID);
    expect(realmTypeFor({ name: 'mpaa_rating', kind: 'e' })).toMatchObject({ realm: 'string', list: false });
    expect(realmTypeFor({ name: 'mpaa_rating', kind: 'e' }).fromText('NC-17')).toBe('NC-17');
  });

  test('arrays: text[] → string list, with quotes, escapes, NULL and empty', () => {
    const t = realmTypeFor({ name: '_text', kind: 'b', element: base('text') });
    expect([t.realm, t.list, t.pgType]).toEqual(['string', true, 'text[]']);
    expect(t.fromText('{Trailers,"Deleted Scenes","Behind the Scenes"}')).toEqual(['Trailers', 'Deleted Scenes', 'Behind the Scenes']);
    expect(t.fromText('{}')).toEqual([]);
    expect(parseArray('{a,NULL,"NULL","x\\"y","c,d",\\\\}')).toEqual(['a', null, 'NULL', 'x"y', 'c,d', '\\']);
    expect(parseArray('[0:1]={1,2}')).toEqual(['1', '2']);
    const ints = realmTypeFor({ name: '_int4', kind: 'b', element: base('int4') });
    expect(ints.fromText('{1,NULL,3}')).toEqual([1, null, 3]);
    expect(() => parseArray('{{1,2},{3,4}}')).toThrow(/multi-dimensional/);
  });

  test('unknown types keep their text form as strings', () => {
    expect(realmTypeFor(base('point'))).toMatchObject({ realm: 'string', list: false });
    expect(realmTypeFor(base('point')).fromText('(1,2)')).toBe('(1,2)');
  });
});

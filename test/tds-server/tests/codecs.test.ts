import { compare, convert, decimalToString, parseDecimal } from '../engine/convert';
import { SqlType, SqlValue } from '../engine/sql-types';
import { civilFromDays, convertTemporal, daysFromCivil, parseTemporal, formatTemporal } from '../engine/temporal';
import { ByteReader, ByteWriter } from '../protocol/bytes';
import { decodeCp1252, encodeCp1252 } from '../protocol/cp1252';
import { parseLogin7, unscramblePassword } from '../protocol/login';
import { MessageAssembler, PacketType, encodeMessage } from '../protocol/packet';
import { parseTransactionManager } from '../protocol/requests';
import { readTypeInfo, writeTypeInfo } from '../protocol/type-info';
import { bytesToGuid, guidToBytes, readValue, writeValue } from '../protocol/values';

// tedious's own LOGIN7 writer, so the parser is checked against the bytes the driver sends.
const Login7Payload = require('tedious/lib/login7-payload');

describe('packet framing', () => {
  test('a message split over packets reassembles from chunks cut at every offset', () => {
    const payload = Buffer.from(Array.from({ length: 700 }, (_, i) => i % 256));
    const wire = Buffer.concat([encodeMessage(PacketType.SQL_BATCH, payload, 512), encodeMessage(PacketType.ATTENTION, Buffer.alloc(0), 512)]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const a = new MessageAssembler();
      const messages = [...a.push(wire.subarray(0, cut)), ...a.push(wire.subarray(cut))];
      expect(messages.map((m) => m.type)).toEqual([PacketType.SQL_BATCH, PacketType.ATTENTION]);
      expect(messages[0]!.payload.equals(payload)).toBe(true);
    }
  });
});

describe('LOGIN7', () => {
  test('reads what tedious writes, password included', () => {
    const p = new Login7Payload({ tdsVersion: 0x74000004, packetSize: 4096, clientProgVer: 0, clientPid: 123, connectionId: 0, clientTimeZone: 0, clientLcid: 0x409 });
    Object.assign(p, { userName: 'sa', password: 'pä$$wörd', database: 'tributary', appName: 'node-mssql', hostname: 'h', libraryName: 'Tedious', language: 'us_english' });
    const login = parseLogin7(p.toBuffer());
    expect(login).toMatchObject({ tdsVersion: 0x74000004, packetSize: 4096, clientPid: 123, userName: 'sa', password: 'pä$$wörd', database: 'tributary', appName: 'node-mssql', integratedSecurity: false });
  });

  test('password obfuscation is nibble swap then XOR 0xA5', () => {
    expect(unscramblePassword(Buffer.from([0xb3, 0xa5]))).toBe(String.fromCharCode(0x61));
  });
});

describe('transaction manager requests', () => {
  test('the name length byte is read as tedious writes it (bytes) or as MS-TDS says (characters)', () => {
    const headers = new ByteWriter().u32(22).u32(18).u16(2).bytes(Buffer.alloc(8)).u32(1);
    const asBytes = Buffer.concat([headers.toBuffer(), new ByteWriter().u16(7).u8(4).bytes(Buffer.from('tx', 'utf16le')).u8(0).toBuffer()]);
    const asChars = Buffer.concat([new ByteWriter().u32(22).u32(18).u16(2).bytes(Buffer.alloc(8)).u32(1).toBuffer(), new ByteWriter().u16(8).u8(2).bytes(Buffer.from('tx', 'utf16le')).u8(0).toBuffer()]);
    expect(parseTransactionManager(asBytes)).toMatchObject({ operation: 'commit', name: 'tx' });
    expect(parseTransactionManager(asChars)).toMatchObject({ operation: 'rollback', name: 'tx' });
  });
});

describe('values', () => {
  const roundTrip = (type: SqlType, value: SqlValue) => {
    const w = new ByteWriter();
    writeTypeInfo(w, type);
    writeValue(w, type, value);
    const r = new ByteReader(w.toBuffer());
    return readValue(r, readTypeInfo(r));
  };

  test.each<[SqlType, SqlValue]>([
    [{ name: 'int' }, -5],
    [{ name: 'bigint' }, -(2n ** 63n)],
    [{ name: 'decimal', precision: 38, scale: 10 }, { kind: 'decimal', unscaled: -(10n ** 38n - 1n), scale: 10 }],
    [{ name: 'money' }, { kind: 'decimal', unscaled: -(2n ** 63n), scale: 4 }],
    [{ name: 'datetimeoffset', scale: 7 }, { kind: 'temporal', days: 738885, ticks: 123_456_789, offsetMinutes: -480 }],
    [{ name: 'time', scale: 3 }, { kind: 'temporal', days: null, ticks: 863_999_990_000, offsetMinutes: null }],
    [{ name: 'nvarchar', length: 'max' }, 'x'.repeat(9000)],
    [{ name: 'varbinary', length: 'max' }, null],
    [{ name: 'uniqueidentifier' }, '6F9619FF-8B86-D011-B42D-00C04FC964FF'],
  ])('%j survives its encoding', (type, value) => {
    expect(roundTrip(type, value)).toEqual(value);
  });

  test('GUIDs are mixed-endian on the wire', () => {
    expect(guidToBytes('00112233-4455-6677-8899-AABBCCDDEEFF').toString('hex')).toBe('33221100554477668899aabbccddeeff');
    expect(bytesToGuid(Buffer.from('33221100554477668899aabbccddeeff', 'hex'))).toBe('00112233-4455-6677-8899-AABBCCDDEEFF');
  });

  test('cp1252 differs from Latin-1 in 0x80–0x9F', () => {
    expect(encodeCp1252('€ŠŸé').toString('hex')).toBe('808a9fe9');
    expect(decodeCp1252(Buffer.from('808a9fe9', 'hex'))).toBe('€ŠŸé');
  });
});

describe('temporal and decimal arithmetic', () => {
  test('days since year one agree with Date across the whole range', () => {
    for (const iso of ['0001-01-01', '1753-01-01', '1900-01-01', '1970-01-01', '2000-02-29', '2024-12-31', '9999-12-31']) {
      const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
      const days = daysFromCivil(y, m, d);
      expect(civilFromDays(days)).toEqual({ year: y, month: m, day: d });
      const utc = new Date(0);
      utc.setUTCFullYear(y, m - 1, d);
      expect(days).toBe(Math.round((utc.getTime() - Date.UTC(1970, 0, 1)) / 86_400_000) + daysFromCivil(1970, 1, 1));
    }
  });

  test('datetimeoffset text keeps its offset; conversions to datetime round to 1/300 s', () => {
    const v = parseTemporal('2024-01-02 03:04:05.1234567 +05:30');
    expect(formatTemporal(v, 'datetimeoffset', 7)).toBe('2024-01-02 03:04:05.1234567 +05:30');
    expect(formatTemporal(convertTemporal(v, 'datetime2', 7), 'datetime2', 7)).toBe('2024-01-02 03:04:05.1234567');
    expect(formatTemporal(convertTemporal(parseTemporal('2024-01-01 00:00:00.999'), 'datetime', 3), 'datetime')).toBe('2024-01-01 00:00:01.000');
  });

  test('decimals parse, round half away from zero, and overflow with 8115', () => {
    expect(decimalToString(parseDecimal('-0.5e1')!)).toBe('-5');
    expect(convert({ type: { name: 'nvarchar', length: 10 }, value: '2.345' }, { name: 'decimal', precision: 5, scale: 2 })).toEqual({ kind: 'decimal', unscaled: 235n, scale: 2 });
    expect(() => convert({ type: { name: 'int' }, value: 100000 }, { name: 'decimal', precision: 4, scale: 0 })).toThrow(expect.objectContaining({ number: 8115 }));
  });

  test('strings compare case-insensitively with trailing spaces ignored, as SQL_Latin1_General_CP1_CI_AS does', () => {
    expect(compare({ type: { name: 'nvarchar', length: 5 }, value: 'Abc  ' }, { type: { name: 'varchar', length: 3 }, value: 'aBC' })).toBe(0);
  });
});

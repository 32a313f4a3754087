import { Decimal128, UUID } from '../../src/model';
import { SqlServerFixture } from '../helpers/sqlserver-fixture';

/**
 * Every SQL Server type of the connector's type table round-trips: a row loaded into a realm gives
 * each column its documented realm type and value; a realm write of every writable property
 * reaches the row exactly (read back as text where mssql would round); rowversion is never written
 * and is filled back into the realm.
 */

const COLUMNS = `id int NOT NULL PRIMARY KEY,
  c_bit bit NULL, c_tinyint tinyint NULL, c_smallint smallint NULL, c_int int NULL, c_bigint bigint NULL,
  c_decimal decimal(18, 4) NULL, c_numeric numeric(10, 2) NULL, c_money money NULL, c_smallmoney smallmoney NULL,
  c_float float NULL, c_real real NULL,
  c_nvarchar nvarchar(100) NULL, c_varchar varchar(100) NULL, c_char char(5) NULL, c_nchar nchar(5) NULL, c_text text NULL, c_ntext ntext NULL,
  c_datetime datetime NULL, c_datetime2 datetime2(3) NULL, c_smalldatetime smalldatetime NULL, c_datetimeoffset datetimeoffset(3) NULL, c_date date NULL, c_time time(3) NULL,
  c_uniqueidentifier uniqueidentifier NULL, c_varbinary varbinary(50) NULL, c_binary binary(4) NULL, c_image image NULL, c_xml xml NULL,
  c_rowversion rowversion`;

/** A value of every column, as T-SQL literals (loaded for row 1, captured live for row 2). */
const LITERALS: Record<string, string> = {
  c_bit: '1', c_tinyint: '255', c_smallint: '-32768', c_int: '-2147483648', c_bigint: '9007199254740991', c_decimal: '12345678901234.5678', c_numeric: '-12345678.91', c_money: '922337203685477.5807', c_smallmoney: '-214748.3648',
  c_float: '1.5e300', c_real: '1.5', c_nvarchar: "N'ü ñ 字 it''s'", c_varchar: "'plain'", c_char: "'ab'", c_nchar: "N'字'", c_text: "'long text'", c_ntext: "N'long ntext ü'",
  c_datetime: "'2024-01-02T03:04:05.997'", c_datetime2: "'2024-01-02T03:04:05.123'", c_smalldatetime: "'2024-01-02T03:04:00'", c_datetimeoffset: "'2024-01-02T03:04:05.123+02:00'", c_date: "'2024-01-02'", c_time: "'13:14:15.123'",
  c_uniqueidentifier: "'6F9619FF-8B86-D011-B42D-00C04FC964FF'", c_varbinary: '0x00ff10', c_binary: '0x01020304', c_image: '0xCAFE', c_xml: `N'<a b="1">x</a>'`,
};

const plain = (v: unknown): unknown => {
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Decimal128 || v instanceof UUID) return `${v.constructor.name}(${String(v)})`;
  if (v instanceof ArrayBuffer) return `hex(${Buffer.from(v).toString('hex')})`;
  if (ArrayBuffer.isView(v)) return `hex(${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')})`;
  return v;
};

describe('sqlserver connector: every type round-trips', () => {
  let f: SqlServerFixture;
  beforeAll(async () => {
    f = await SqlServerFixture.open();
  });
  afterAll(async () => {
    await f.dispose();
  });

  test('each type loads as its documented realm type and value, and realm writes reach the row exactly', async () => {
    const { server, exec } = await f.server();
    await exec(`CREATE TABLE dbo.typed (${COLUMNS})`);
    await exec('ALTER TABLE dbo.typed ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)');
    await exec(`INSERT INTO dbo.typed (id, ${Object.keys(LITERALS).join(', ')}) VALUES (1, ${Object.values(LITERALS).join(', ')})`);
    await exec('INSERT INTO dbo.typed (id) VALUES (2)');
    const connector = await f.start(f.config(server, 'types', { realm: '/types', tables: { typed: { type: 'Typed' } } }));
    const realm = await f.client('/types');
    const loaded = realm.objectForPrimaryKey<Record<string, unknown>>('Typed', 1)!;
    const props = Object.fromEntries(Object.entries(realm.schema.find((s) => s.name === 'Typed')!.properties).map(([k, p]) => [k, p.type]));
    expect(props).toEqual({
      id: 'int', c_bit: 'bool', c_tinyint: 'int', c_smallint: 'int', c_int: 'int', c_bigint: 'int', c_decimal: 'decimal128', c_numeric: 'decimal128', c_money: 'decimal128', c_smallmoney: 'decimal128',
      c_float: 'double', c_real: 'float', c_nvarchar: 'string', c_varchar: 'string', c_char: 'string', c_nchar: 'string', c_text: 'string', c_ntext: 'string',
      c_datetime: 'date', c_datetime2: 'date', c_smalldatetime: 'date', c_datetimeoffset: 'date', c_date: 'date', c_time: 'string',
      c_uniqueidentifier: 'uuid', c_varbinary: 'data', c_binary: 'data', c_image: 'data', c_xml: 'string', c_rowversion: 'data',
    });
    const valuesOf = (o: Record<string, unknown>) => Object.fromEntries(Object.keys(props).filter((k) => k !== 'id').map((k) => [k, plain(o[k])]));
    const expected = { c_bit: true, c_tinyint: 255, c_smallint: -32768, c_int: -2147483648, c_bigint: 9007199254740991,
      c_decimal: 'Decimal128(12345678901234.5678)', c_numeric: 'Decimal128(-12345678.91)', c_money: 'Decimal128(922337203685477.5807)', c_smallmoney: 'Decimal128(-214748.3648)',
      c_float: 1.5e300, c_real: 1.5, c_nvarchar: "ü ñ 字 it's", c_varchar: 'plain', c_char: 'ab   ', c_nchar: '字    ', c_text: 'long text', c_ntext: 'long ntext ü',
      c_datetime: '2024-01-02T03:04:05.997Z', c_datetime2: '2024-01-02T03:04:05.123Z', c_smalldatetime: '2024-01-02T03:04:00.000Z', c_datetimeoffset: '2024-01-02T01:04:05.123Z', c_date: '2024-01-02T00:00:00.000Z',
      c_time: '13:14:15.123', c_uniqueidentifier: 'UUID(6f9619ff-8b86-d011-b42d-00c04fc964ff)', c_varbinary: 'hex(00ff10)', c_binary: 'hex(01020304)', c_image: 'hex(cafe)', c_xml: '<a b="1">x</a>',
      c_rowversion: expect.stringMatching(/^hex\([0-9a-f]{16}\)$/),
    };
    expect(valuesOf(loaded)).toEqual(expected);
    expect(plain(realm.objectForPrimaryKey<Record<string, unknown>>('Typed', 2)!.c_decimal)).toBeNull();
    await exec(`UPDATE dbo.typed SET ${Object.entries(LITERALS).map(([c, v]) => `${c} = ${v}`).join(', ')} WHERE id = 2`);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(valuesOf(realm.objectForPrimaryKey<Record<string, unknown>>('Typed', 2)!)).toEqual(expected); // the same values through CHANGETABLE

    const before = String(plain(loaded.c_rowversion));
    realm.write(() => {
      Object.assign(loaded, {
        c_bit: false, c_tinyint: 7, c_smallint: 300, c_int: 123456, c_bigint: -9007199254740991, c_decimal: new Decimal128('-0.0001'), c_numeric: new Decimal128('99999999.99'), c_money: new Decimal128('1.2345'), c_smallmoney: new Decimal128('0.5'),
        c_float: -2.25e-300, c_real: -0.5, c_nvarchar: 'written 字', c_varchar: 'w', c_char: 'xyz  ', c_nchar: 'ü    ', c_text: 'text w', c_ntext: 'ntext 字',
        c_datetime: new Date('2030-05-06T07:08:09.003Z'), c_datetime2: new Date('2030-05-06T07:08:09.456Z'), c_smalldatetime: new Date('2030-05-06T07:08:00.000Z'), c_datetimeoffset: new Date('2030-05-06T07:08:09.789Z'), c_date: new Date('2030-05-06T00:00:00.000Z'),
        c_time: '01:02:03.456', c_uniqueidentifier: new UUID('11111111-2222-3333-4444-555555555555'), c_varbinary: new Uint8Array([9, 8, 7]).buffer, c_binary: new Uint8Array([4, 3, 2, 1]).buffer, c_image: new Uint8Array([1]).buffer, c_xml: '<b/>',
      });
      realm.create('Typed', { id: 3, c_decimal: new Decimal128('1.5'), c_nvarchar: 'new' });
    });
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    const row = (await exec(`SELECT CAST(c_decimal AS nvarchar(60)) AS c_decimal, CAST(c_numeric AS nvarchar(60)) AS c_numeric, CAST(c_money AS nvarchar(60)) AS c_money, CAST(c_smallmoney AS nvarchar(60)) AS c_smallmoney,
      CAST(c_time AS nvarchar(20)) AS c_time, c_bit, c_tinyint, c_smallint, c_int, c_bigint, c_float, c_real, c_nvarchar, c_varchar, c_char, c_nchar, c_text, c_ntext, c_datetime, c_datetime2, c_smalldatetime, c_datetimeoffset, c_date,
      c_uniqueidentifier, c_varbinary, c_binary, c_image, c_xml FROM dbo.typed WHERE id = 1`)).recordset[0]!;
    expect(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex(${v.toString('hex')})` : plain(v)]))).toEqual({
      c_decimal: '-0.0001', c_numeric: '99999999.99', c_money: '1.2345', c_smallmoney: '0.5000', c_time: '01:02:03.456', c_bit: false, c_tinyint: 7, c_smallint: 300, c_int: 123456, c_bigint: '-9007199254740991',
      c_float: -2.25e-300, c_real: -0.5, c_nvarchar: 'written 字', c_varchar: 'w', c_char: 'xyz  ', c_nchar: 'ü    ', c_text: 'text w', c_ntext: 'ntext 字',
      c_datetime: '2030-05-06T07:08:09.003Z', c_datetime2: '2030-05-06T07:08:09.456Z', c_smalldatetime: '2030-05-06T07:08:00.000Z', c_datetimeoffset: '2030-05-06T07:08:09.789Z', c_date: '2030-05-06T00:00:00.000Z',
      c_uniqueidentifier: '11111111-2222-3333-4444-555555555555', c_varbinary: 'hex(090807)', c_binary: 'hex(04030201)', c_image: 'hex(01)', c_xml: '<b/>',
    });
    expect((await exec('SELECT CAST(c_decimal AS nvarchar(60)) AS d, c_nvarchar FROM dbo.typed WHERE id = 3')).recordset).toEqual([{ d: '1.5000', c_nvarchar: 'new' }]);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(String(plain(loaded.c_rowversion))).not.toBe(before); // written by SQL Server, filled back
    expect(plain(loaded.c_smallmoney)).toBe('Decimal128(0.5000)'); // the stored scale, filled back
    expect(connector.status().apply).toMatchObject({ rejected: 0, failed: 0 });
  });
});

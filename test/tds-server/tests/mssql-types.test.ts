import sql from 'mssql';
import { Target, dropTables, openTarget } from './target';

const TABLE = 'dbo.tds_type_matrix';

const CREATE = `CREATE TABLE ${TABLE} (
  id int NOT NULL PRIMARY KEY,
  c_bit bit NULL, c_tinyint tinyint NULL, c_smallint smallint NULL, c_int int NULL, c_bigint bigint NULL,
  c_decimal decimal(38,10) NULL, c_numeric numeric(18,4) NULL, c_money money NULL, c_smallmoney smallmoney NULL,
  c_float float NULL, c_real real NULL,
  c_nvarchar nvarchar(100) NULL, c_varchar varchar(100) NULL, c_char char(5) NULL, c_nchar nchar(5) NULL,
  c_text text NULL, c_ntext ntext NULL, c_nvarchar_max nvarchar(max) NULL, c_xml xml NULL,
  c_datetime datetime NULL, c_datetime2 datetime2(7) NULL, c_smalldatetime smalldatetime NULL,
  c_dto datetimeoffset(7) NULL, c_date date NULL, c_time time(7) NULL,
  c_guid uniqueidentifier NULL, c_varbinary varbinary(max) NULL, c_binary binary(4) NULL, c_image image NULL,
  c_rv rowversion
)`;

const COLUMNS = ['c_bit', 'c_tinyint', 'c_smallint', 'c_int', 'c_bigint', 'c_decimal', 'c_numeric', 'c_money', 'c_smallmoney', 'c_float', 'c_real',
  'c_nvarchar', 'c_varchar', 'c_char', 'c_nchar', 'c_text', 'c_ntext', 'c_nvarchar_max', 'c_xml', 'c_datetime', 'c_datetime2', 'c_smalldatetime',
  'c_dto', 'c_date', 'c_time', 'c_guid', 'c_varbinary', 'c_binary', 'c_image'];

const bigBinary = Buffer.alloc(100_000);
for (let i = 0; i < bigBinary.length; i++) bigBinary[i] = (i * 7919) % 251;
const longText = 'Ω'.repeat(6_000) + 'end';
const datetime2 = Object.assign(new Date('2024-01-02T03:04:05.123Z'), { nanosecondDelta: 0.0004567 });

function typedRequest(t: Target): sql.Request {
  return t.pool.request()
    .input('id', sql.Int, 1)
    .input('c_bit', sql.Bit, true)
    .input('c_tinyint', sql.TinyInt, 255)
    .input('c_smallint', sql.SmallInt, -32768)
    .input('c_int', sql.Int, -2147483648)
    .input('c_bigint', sql.BigInt, '9223372036854775807')
    .input('c_decimal', sql.NVarChar(60), '1234567890123456789012345678.0123456789')
    .input('c_numeric', sql.Numeric(18, 4), 12345.6789)
    .input('c_money', sql.Money, -1234.5678)
    .input('c_smallmoney', sql.SmallMoney, 214748.3647)
    .input('c_float', sql.Float, 1.7976931348623157e308)
    .input('c_real', sql.Real, 3.5)
    .input('c_nvarchar', sql.NVarChar(100), 'héllo wörld — ✓ 😀')
    .input('c_varchar', sql.VarChar(100), 'café €')
    .input('c_char', sql.Char(5), 'ab')
    .input('c_nchar', sql.NChar(5), 'xy')
    .input('c_text', sql.Text, 'plain text')
    .input('c_ntext', sql.NText, 'ünïcode ntext')
    .input('c_nvarchar_max', sql.NVarChar(sql.MAX), longText)
    .input('c_xml', sql.Xml, '<a b="1">x</a>')
    .input('c_datetime', sql.DateTime, new Date('2024-02-29T12:34:56.789Z'))
    .input('c_datetime2', sql.DateTime2(7), datetime2)
    .input('c_smalldatetime', sql.SmallDateTime, new Date('2024-01-02T03:04:29Z'))
    .input('c_dto', sql.NVarChar(40), '2024-01-02 03:04:05.1234567 +05:30')
    .input('c_date', sql.Date, new Date('2024-12-31T00:00:00Z'))
    .input('c_time', sql.Time(7), new Date('1970-01-01T23:59:59.999Z'))
    .input('c_guid', sql.UniqueIdentifier, '6f9619ff-8b86-d011-b42d-00c04fc964ff')
    .input('c_varbinary', sql.VarBinary(sql.MAX), bigBinary)
    .input('c_binary', sql.VarBinary(4), Buffer.from([1, 2]))
    .input('c_image', sql.Image, Buffer.from('image bytes'));
}

describe('every type the connector needs round-trips through the real mssql driver', () => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget();
    await dropTables(t.pool, TABLE);
    await t.pool.request().batch(CREATE);
    await typedRequest(t).query(`INSERT INTO ${TABLE} (id, ${COLUMNS.join(', ')}) VALUES (@id, ${COLUMNS.map((c) => '@' + c).join(', ')})`);
    await t.pool.request().query(`INSERT INTO ${TABLE} (id) VALUES (2)`);
  });
  afterAll(async () => {
    await dropTables(t.pool, TABLE);
    await t.close();
  });

  test('values come back as tedious types them', async () => {
    const { recordset } = await t.pool.request().input('id', sql.Int, 1).query(`SELECT * FROM ${TABLE} WHERE id = @id`);
    const r = recordset[0];
    expect(r.c_bit).toBe(true);
    expect(r.c_tinyint).toBe(255);
    expect(r.c_smallint).toBe(-32768);
    expect(r.c_int).toBe(-2147483648);
    expect(r.c_bigint).toBe('9223372036854775807');
    expect(r.c_decimal).toBeCloseTo(1234567890123456789012345678.0123456789, -13);
    expect(r.c_numeric).toBe(12345.6789);
    expect(r.c_money).toBe(-1234.5678);
    expect(r.c_smallmoney).toBe(214748.3647);
    expect(r.c_float).toBe(1.7976931348623157e308);
    expect(r.c_real).toBe(3.5);
    expect(r.c_nvarchar).toBe('héllo wörld — ✓ 😀');
    expect(r.c_varchar).toBe('café €');
    expect(r.c_char).toBe('ab   ');
    expect(r.c_nchar).toBe('xy   ');
    expect(r.c_text).toBe('plain text');
    expect(r.c_ntext).toBe('ünïcode ntext');
    expect(r.c_nvarchar_max).toBe(longText);
    expect(r.c_xml).toBe('<a b="1">x</a>');
    expect(r.c_datetime.toISOString()).toBe('2024-02-29T12:34:56.790Z');
    expect(r.c_datetime2.toISOString()).toBe('2024-01-02T03:04:05.123Z');
    expect(r.c_datetime2.nanosecondsDelta).toBeCloseTo(0.0004567, 9);
    expect(r.c_smalldatetime.toISOString()).toBe('2024-01-02T03:04:00.000Z');
    expect(r.c_dto.toISOString()).toBe('2024-01-01T21:34:05.123Z');
    expect(r.c_date.toISOString()).toBe('2024-12-31T00:00:00.000Z');
    expect(r.c_time.toISOString()).toBe('1970-01-01T23:59:59.999Z');
    expect(r.c_guid).toBe('6F9619FF-8B86-D011-B42D-00C04FC964FF');
    expect(Buffer.compare(r.c_varbinary, bigBinary)).toBe(0);
    expect([...r.c_binary]).toEqual([1, 2, 0, 0]);
    expect(r.c_image.toString()).toBe('image bytes');
    expect(Buffer.isBuffer(r.c_rv) && r.c_rv.length).toBe(8);
  });

  test('exact values survive where JavaScript numbers cannot carry them (read as text)', async () => {
    const { recordset } = await t.pool.request().query(
      `SELECT CAST(c_decimal AS nvarchar(50)) AS d, CAST(c_dto AS nvarchar(40)) AS dto, CAST(c_datetime2 AS nvarchar(40)) AS dt2 FROM ${TABLE} WHERE id = 1`,
    );
    expect(recordset[0]).toEqual({ d: '1234567890123456789012345678.0123456789', dto: '2024-01-02 03:04:05.1234567 +05:30', dt2: '2024-01-02 03:04:05.1234567' });
  });

  test('NULLs of every type come back as null, and column metadata says nullable', async () => {
    const result = await t.pool.request().query(`SELECT * FROM ${TABLE} WHERE id = 2`);
    const r = result.recordset[0];
    for (const c of COLUMNS) expect([c, r[c]]).toEqual([c, null]);
    const columns = result.recordset.columns;
    expect(columns.c_int.nullable).toBe(true);
    expect(columns.id.nullable).toBe(false);
    expect(columns.c_decimal.precision).toBe(38);
    expect(columns.c_decimal.scale).toBe(10);
    expect(columns.c_datetime2.scale).toBe(7);
    // tedious reports the wire length: bytes, so nvarchar(100) is 200.
    expect(columns.c_nvarchar.length).toBe(200);
  });

  test('rowversion changes on update and compares as binary(8)', async () => {
    const before = (await t.pool.request().query(`SELECT c_rv FROM ${TABLE} WHERE id = 2`)).recordset[0].c_rv as Buffer;
    await t.pool.request().query(`UPDATE ${TABLE} SET c_int = 7 WHERE id = 2`);
    const after = (await t.pool.request().query(`SELECT c_rv FROM ${TABLE} WHERE id = 2`)).recordset[0].c_rv as Buffer;
    expect(Buffer.compare(after, before)).toBe(1);
    const newer = await t.pool.request().input('rv', sql.VarBinary(8), before).query(`SELECT id FROM ${TABLE} WHERE c_rv > @rv`);
    expect(newer.recordset.map((r) => r.id)).toEqual([2]);
  });

  test('edge dates and the datetimeoffset offset written by a Date parameter', async () => {
    await t.pool.request().query(`INSERT INTO ${TABLE} (id, c_date, c_datetime2) VALUES (3, '0001-01-01', '9999-12-31 23:59:59.9999999')`);
    await t.pool.request().input('d', sql.DateTimeOffset(7), new Date('2030-06-15T10:00:00Z')).query(`UPDATE ${TABLE} SET c_dto = @d WHERE id = 3`);
    const { recordset } = await t.pool.request().query(`SELECT c_date, c_datetime2, c_dto, CAST(c_datetime2 AS nvarchar(40)) AS text FROM ${TABLE} WHERE id = 3`);
    expect(recordset[0].c_date.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(recordset[0].text).toBe('9999-12-31 23:59:59.9999999');
    expect(recordset[0].c_dto.toISOString()).toBe('2030-06-15T10:00:00.000Z');
  });

  test('values too long for a column are refused with 2628, and bad conversions with their numbers', async () => {
    await expect(t.pool.request().input('s', sql.NVarChar(200), 'x'.repeat(101)).query(`UPDATE ${TABLE} SET c_nvarchar = @s WHERE id = 2`)).rejects.toMatchObject({ number: 2628 });
    await expect(t.pool.request().input('s', sql.NVarChar(10), 'abc').query(`UPDATE ${TABLE} SET c_int = @s WHERE id = 2`)).rejects.toMatchObject({ number: 245, class: 16 });
    await expect(t.pool.request().input('s', sql.NVarChar(10), 'abc').query(`UPDATE ${TABLE} SET c_decimal = @s WHERE id = 2`)).rejects.toMatchObject({ number: 8114 });
    const { recordset } = await t.pool.request().query(`SELECT c_int FROM ${TABLE} WHERE id = 2`);
    expect(recordset[0].c_int).toBe(7);
  });
});

import { TributaryError } from '../../src/errors';
import { decodeCompositeKey } from '../../connectors/kit/keys';
import { classify, classifyApplyError, compositeKey, poolConfig, describeDatabase, validateConfig } from '../../connectors/sqlserver';
import { versionCodec } from '../../connectors/sqlserver/position';
import * as t from '../../connectors/sqlserver/tsql';
import { parseBatch } from '../tds-server/sql/parser';

/**
 * The T-SQL the SQL Server connector generates (connectors/sqlserver/tsql.ts): the exact text of
 * each statement, and that each is one statement of a shape the scripted server's T-SQL
 * recogniser (test/tds-server/sql) accepts — no variables, blocks or CTEs. Also error
 * classification by number, config URLs, composite keys and the position codec.
 */

const shape: t.TableShape = {
  schema: 'dbo',
  table: 'order line',
  keyColumns: ['region', 'id'],
  columns: [{ name: 'region' }, { name: 'id' }, { name: 'price', select: (r) => `CAST(${r} AS nvarchar(60))` }, { name: 'odd]name' }],
};
const CTX = Buffer.from('tributary:shop').toString('hex');

const recognised = (text: string) => {
  const parsed = parseBatch(text);
  // A WITH CHANGE_TRACKING_CONTEXT statement wraps the write it tags.
  return parsed.map((p) => (p.statement.kind === 'unrecognised' ? `unrecognised: ${p.reason}` : p.statement.kind === 'withContext' ? `withContext ${(p.statement as unknown as { statement: { kind: string } }).statement.kind}` : p.statement.kind));
};

describe('sqlserver T-SQL', () => {
  test('identifiers are bracket-quoted with ] doubled; names in catalog functions are N literals', () => {
    expect(t.q('a]b')).toBe('[a]]b]');
    expect(t.qualify('dbo', 'order line')).toBe('[dbo].[order line]');
    expect(t.nstring("o'k")).toBe("N'o''k'");
  });

  test('the changes query joins CHANGETABLE to the row, reads the key from the change record, decimals as text', () => {
    expect(t.changesQuery(shape)).toBe(
      'SELECT ct.SYS_CHANGE_VERSION AS [__v], ct.SYS_CHANGE_CREATION_VERSION AS [__cv], ct.SYS_CHANGE_OPERATION AS [__op], ct.SYS_CHANGE_CONTEXT AS [__ctx], ct.[region] AS [__k0], ct.[id] AS [__k1], ' +
        'r.[region] AS [region], r.[id] AS [id], CAST(r.[price] AS nvarchar(60)) AS [price], r.[odd]]name] AS [odd]]name] ' +
        'FROM CHANGETABLE(CHANGES [dbo].[order line], @since) AS ct LEFT JOIN [dbo].[order line] AS r ON r.[region] = ct.[region] AND r.[id] = ct.[id] ORDER BY ct.SYS_CHANGE_VERSION',
    );
  });

  test('writes carry the CHANGE_TRACKING_CONTEXT and OUTPUT the stored row', () => {
    expect(t.insertStatement(shape, ['region', 'id', 'price'], CTX)).toBe(
      `WITH CHANGE_TRACKING_CONTEXT (0x${CTX}) INSERT INTO [dbo].[order line] ([region], [id], [price]) OUTPUT INSERTED.[region] AS [region], INSERTED.[id] AS [id], CAST(INSERTED.[price] AS nvarchar(60)) AS [price], INSERTED.[odd]]name] AS [odd]]name] VALUES (@v0, @v1, @v2)`,
    );
    expect(t.updateStatement(shape, [{ column: 'price' }, { column: 'odd]name', add: true }], CTX, ['odd]name'])).toBe(
      `WITH CHANGE_TRACKING_CONTEXT (0x${CTX}) UPDATE [dbo].[order line] SET [price] = @v0, [odd]]name] = [odd]]name] + @v1 OUTPUT INSERTED.[region] AS [region], INSERTED.[id] AS [id], CAST(INSERTED.[price] AS nvarchar(60)) AS [price], INSERTED.[odd]]name] AS [odd]]name], DELETED.[odd]]name] AS [__old_odd]]name] WHERE [region] = @k0 AND [id] = @k1`,
    );
    expect(t.deleteStatement(shape, CTX)).toBe(`WITH CHANGE_TRACKING_CONTEXT (0x${CTX}) DELETE FROM [dbo].[order line] WHERE [region] = @k0 AND [id] = @k1`);
    expect(t.insertStatement(shape, [], CTX)).toMatch(/ DEFAULT VALUES$/);
  });

  test('setup statements are the documented ones', () => {
    expect(t.setupStatements.databaseChangeTracking('shop')).toBe('ALTER DATABASE [shop] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);');
    expect(t.setupStatements.snapshotIsolation('shop')).toBe('ALTER DATABASE [shop] SET ALLOW_SNAPSHOT_ISOLATION ON;');
    expect(t.setupStatements.tableChangeTracking('dbo', 'order line')).toBe('ALTER TABLE [dbo].[order line] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);');
  });

  test('every generated statement is one statement the T-SQL recogniser accepts', () => {
    const statements: [string, string][] = [
      [t.changesQuery(shape), 'select'],
      [t.scanQuery(shape), 'select'],
      [t.rowQuery(shape), 'select'],
      [t.minValidQuery([shape, { schema: 'dbo', table: 'x' }]), 'select'],
      [t.CURRENT_VERSION, 'select'],
      [t.insertStatement(shape, ['region', 'id'], CTX), 'withContext insert'],
      [t.updateStatement(shape, [{ column: 'price' }], CTX), 'withContext update'],
      [t.deleteStatement(shape, CTX), 'withContext delete'],
      [t.identityInsert('dbo', 'order line', true), 'set'],
      [t.foreignChangesQuery(shape, CTX), 'select'],
      [t.mergeApplyPosition('dbo'), 'merge'],
      [t.mergeCapturePosition('dbo'), 'merge'],
      [t.mergeCounterApplied('dbo'), 'merge'],
      [t.insertApplyCommit('dbo', CTX), 'withContext insert'],
      [t.deleteOldApplyCommits('dbo', CTX), 'withContext delete'],
      [t.ownCommitsQuery('dbo'), 'select'],
      [t.DATABASE_STATE, 'select'],
      [t.TRACKED_TABLES, 'select'],
      ...t.createBookkeeping('dbo').map((s) => [s, 'if'] as [string, string]),
      [t.setupStatements.databaseChangeTracking('shop'), 'alterDatabase'],
      [t.setupStatements.snapshotIsolation('shop'), 'alterDatabase'],
      [t.setupStatements.tableChangeTracking('dbo', 't'), 'alterTableChangeTracking'],
    ];
    const kinds = statements.map(([s]) => recognised(s));
    expect(kinds).toEqual(statements.map(([, kind]) => [expect.stringContaining(kind)]));
  });
});

describe('sqlserver errors by number', () => {
  const err = (number: number) => Object.assign(new Error(`error ${number}`), { number, code: 'EREQUEST' });
  test('deadlocks, lock timeouts, snapshot conflicts and lost connections are transient', () => {
    for (const n of [1205, 1222, 3960, 40613, 10054]) expect([n, classify(err(n))]).toEqual([n, 'transient']);
    expect(classify(Object.assign(new Error('Failed to connect'), { code: 'ESOCKET' }))).toBe('transient');
    expect(classify(Object.assign(new Error('Timeout'), { code: 'ETIMEOUT' }))).toBe('transient');
    expect(classify(Object.assign(new Error('Login failed'), { code: 'ELOGIN' }))).toBe('permanent');
  });
  test('apply failures: constraint and conversion refusals, configuration errors, the rest failed', () => {
    for (const n of [515, 547, 2627, 2601, 2628, 8152, 245, 8114, 241, 8169, 271, 50001]) expect([n, classifyApplyError(err(n))]).toEqual([n, 'refused']);
    for (const n of [208, 207, 229, 3906, 22105]) expect([n, classifyApplyError(err(n))]).toEqual([n, 'configuration']);
    expect(classifyApplyError(err(1205))).toBe('transient');
    expect(classifyApplyError(err(9999))).toBe('failed');
    expect(classify(new TributaryError('SQLSERVER_CHANGE_TRACKING_OFF', 'x'))).toBe('permanent');
  });
});

describe('sqlserver config', () => {
  test('an mssql:// URL becomes a pool config whose password is not enumerable (never logged)', () => {
    const c = poolConfig('mssql://app:s%3Acret@db.example:1444/shop?encrypt=false&trustServerCertificate=true');
    expect(c).toMatchObject({ server: 'db.example', port: 1444, user: 'app', database: 'shop', options: { encrypt: false, trustServerCertificate: true } });
    expect(c.password).toBe('s:cret');
    expect(JSON.stringify(c)).not.toContain('s:cret');
    expect(describeDatabase('mssql://app:secret@db.example/shop')).toBe('app@db.example:1433/shop');
  });
  test('every problem at once, with SQL Server keys', () => {
    let e: { code: string; issues: { path: string; code: string }[] } | null = null;
    try {
      validateConfig({ name: 'x', serverUrl: 'realm://h:1', localPath: '/tmp/x', database: 'postgres://nope', tables: {}, schema: 'bad name', pollIntervalMs: 0 });
    } catch (x) {
      e = x as typeof e;
    }
    expect(e!.code).toBe('CONFIG_INVALID');
    expect(e!.issues.map((i) => [i.path, i.code]).sort()).toEqual([['database', 'CONFIG_VALUE'], ['pollIntervalMs', 'CONFIG_VALUE'], ['schema', 'CONFIG_VALUE'], ['tables', 'CONFIG_VALUE']]);
  });
});

describe('sqlserver keys and positions', () => {
  test('composite keys: the documented text form, reversible', () => {
    const key = compositeKey(['a|b\\c', 42, new Date('2024-01-02T03:04:05.000Z'), true, '6F9619FF-8B86-D011-B42D-00C04FC964FF']);
    expect(key).toBe('a\\|b\\\\c|42|2024-01-02T03:04:05.000Z|1|6f9619ff-8b86-d011-b42d-00c04fc964ff');
    expect(decodeCompositeKey(key)).toEqual(['a|b\\c', '42', '2024-01-02T03:04:05.000Z', '1', '6f9619ff-8b86-d011-b42d-00c04fc964ff']);
  });
  test('versions are bigints, ordered', () => {
    expect(versionCodec.parse('9007199254740993')).toBe(9007199254740993n);
    expect(versionCodec.compare(2n, 10n)).toBeLessThan(0);
    expect(versionCodec.format(10n)).toBe('10');
  });
});

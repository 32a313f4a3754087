import sql from 'mssql';
import { TdsTestServer, startTdsTestServer } from '../index';
import { REAL_SERVER } from './target';

const describeScripted = REAL_SERVER ? describe.skip : describe;

describeScripted('handler hooks, injected faults and cancellation (scripted server only)', () => {
  let server: TdsTestServer;
  let pool: sql.ConnectionPool;
  const seen: string[] = [];

  beforeAll(async () => {
    server = await startTdsTestServer({
      database: { changeTracking: true },
      handler: async (s) => {
        seen.push(s.sql);
        if (/^EXEC dbo\.sync_status/i.test(s.sql) || /^EXEC sync_status/i.test(s.sql)) {
          return {
            info: [{ number: 50000, message: 'status follows', class: 0 }],
            resultSets: [
              { columns: [{ name: 'node', type: 'nvarchar(20)' }, { name: 'lag', type: 'bigint' }], rows: [['a', 5n], ['b', null]] },
              { columns: [{ name: 'at', type: 'datetime2(3)' }], rows: [[new Date('2024-05-06T07:08:09.123Z')]] },
            ],
          };
        }
        if (s.sql === 'WAITFOR DELAY \'00:01:00\'') {
          await new Promise<void>((resolve) => s.signal.addEventListener('abort', () => resolve()));
          return { rowsAffected: 0 };
        }
        return undefined;
      },
    });
    pool = await new sql.ConnectionPool({ ...server.config(), requestTimeout: 5_000 }).connect();
    await pool.request().batch('CREATE TABLE dbo.accounts (id int PRIMARY KEY, balance money NOT NULL)');
    await pool.request().batch('ALTER TABLE dbo.accounts ENABLE CHANGE_TRACKING');
    await pool.request().query('INSERT INTO dbo.accounts (id, balance) VALUES (1, 100), (2, 50)');
  });
  afterAll(async () => {
    await pool.close();
    await server.stop();
  });

  test('a handler answers statements the engine does not know: result sets, INFO messages', async () => {
    const infos: number[] = [];
    const request = pool.request();
    request.on('info', (m: { number: number }) => infos.push(m.number));
    const result = await request.query('EXEC dbo.sync_status @verbose = 1');
    const sets = result.recordsets as unknown as Array<Array<Record<string, unknown>>>;
    expect(sets.length).toBe(2);
    expect(sets[0]).toEqual([{ node: 'a', lag: '5' }, { node: 'b', lag: null }]);
    expect((sets[1]![0]!.at as Date).toISOString()).toBe('2024-05-06T07:08:09.123Z');
    expect(infos).toEqual([50000]);
  });

  test('a stored procedure call by name reaches the handler as EXEC', async () => {
    const result = await pool.request().input('verbose', sql.Bit, true).execute('sync_status');
    expect(result.recordsets.length).toBe(2);
    expect(seen).toContain('EXEC sync_status');
  });

  test('an unrecognised statement is error 102 naming the statement; without a handler answer the batch stops', async () => {
    await expect(pool.request().batch("SELECT 1 AS a; FROBNICATE dbo.accounts; SELECT 2 AS b")).rejects.toMatchObject({
      number: 102, class: 15, message: expect.stringContaining('FROBNICATE dbo.accounts'),
    });
  });

  test('several result sets and row counts in one batch; SET NOCOUNT ON drops the counts', async () => {
    const r = await pool.request().batch('SELECT id FROM dbo.accounts WHERE id = 1; UPDATE dbo.accounts SET balance = balance WHERE id > 0; SELECT COUNT(*) AS n FROM dbo.accounts');
    expect(r.recordsets.length).toBe(2);
    expect(r.rowsAffected).toEqual([1, 2, 1]);
    const quiet = await pool.request().batch('SET NOCOUNT ON; UPDATE dbo.accounts SET balance = balance; SET NOCOUNT OFF;');
    expect(quiet.rowsAffected).toEqual([]);
  });

  test('an injected deadlock (1205) rolls back the mssql transaction, which then refuses to commit', async () => {
    const tx = new sql.Transaction(pool);
    let aborted: boolean | undefined;
    tx.on('rollback', (a: boolean) => { aborted = a; });
    await tx.begin();
    await new sql.Request(tx).query('UPDATE dbo.accounts SET balance = balance - 10 WHERE id = 1');
    server.faults.deadlockNext(/id = 2/);
    await expect(new sql.Request(tx).query('UPDATE dbo.accounts SET balance = balance + 10 WHERE id = 2')).rejects.toMatchObject({ number: 1205, class: 13, state: 51 });
    expect(aborted).toBe(true);
    await expect(tx.commit()).rejects.toBeDefined();
    const balances = (await pool.request().query('SELECT balance FROM dbo.accounts ORDER BY id')).recordset.map((r) => r.balance);
    expect(balances).toEqual([100, 50]);
    expect(server.database.openTransactions.size).toBe(0);
  });

  test('an injected error carries the number, state and class it was given', async () => {
    // With a pattern: mssql's pool validates each connection it lends with `SELECT 1;`, which would take an unmatched fault.
    server.faults.failNext({ number: 1222, message: 'Lock request time out period exceeded.', state: 45, class: 16 }, /AS x/);
    await expect(pool.request().query('SELECT 1 AS x')).rejects.toMatchObject({ number: 1222, state: 45, class: 16 });
    expect((await pool.request().query('SELECT 1 AS x')).recordset).toEqual([{ x: 1 }]);
  });

  test('a dropped connection fails the request with a socket error; its open transaction is rolled back; the pool recovers', async () => {
    const tx = new sql.Transaction(pool);
    await tx.begin();
    await new sql.Request(tx).query('INSERT INTO dbo.accounts (id, balance) VALUES (3, 1)');
    server.faults.dropNext(/SELECT/);
    const error = await new sql.Request(tx).query('SELECT COUNT(*) AS n FROM dbo.accounts').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/^(ESOCKET|ECONNCLOSED|ECONNRESET)$/) });
    await tx.rollback().catch(() => undefined);
    expect((await pool.request().query('SELECT COUNT(*) AS n FROM dbo.accounts')).recordset[0].n).toBe(2);
    server.faults.dropAll();
    expect((await pool.request().query('SELECT COUNT(*) AS n FROM dbo.accounts')).recordset[0].n).toBe(2);
  });

  test('cancel sends ATTENTION; the server acknowledges it and the connection stays usable', async () => {
    const single = await new sql.ConnectionPool({ ...server.config(), pool: { max: 1, min: 0 } }).connect();
    try {
      const request = single.request();
      const running = request.batch("WAITFOR DELAY '00:01:00'");
      setTimeout(() => request.cancel(), 50);
      await expect(running).rejects.toMatchObject({ code: 'ECANCEL' });
      expect(server.requests.some((r) => r.type === 'attention')).toBe(true);
      expect((await single.request().query('SELECT 2 AS y')).recordset).toEqual([{ y: 2 }]);
    } finally {
      await single.close();
    }
  });

  test('a request timeout cancels with ATTENTION too (ETIMEOUT)', async () => {
    const impatient = await new sql.ConnectionPool({ ...server.config(), requestTimeout: 100, pool: { max: 1, min: 0 } }).connect();
    try {
      await expect(impatient.request().batch("WAITFOR DELAY '00:01:00'")).rejects.toMatchObject({ code: 'ETIMEOUT' });
      expect((await impatient.request().query('SELECT 3 AS z')).recordset).toEqual([{ z: 3 }]);
    } finally {
      await impatient.close();
    }
  });

  test('prepared statements go through sp_prepare / sp_execute / sp_unprepare', async () => {
    const ps = new sql.PreparedStatement(pool);
    ps.input('id', sql.Int);
    await ps.prepare('SELECT balance FROM dbo.accounts WHERE id = @id');
    const one = await ps.execute({ id: 1 });
    const two = await ps.execute({ id: 2 });
    await ps.unprepare();
    expect([one.recordset[0].balance, two.recordset[0].balance]).toEqual([100, 50]);
    const procedures = server.requests.flatMap((r) => (r.type === 'rpc' ? [r.procedure] : []));
    expect(procedures).toEqual(expect.arrayContaining(['sp_prepare', 'sp_execute', 'sp_unprepare']));
  });

  test('parameters arrive decoded with the types tedious declares', async () => {
    const start = server.requests.length;
    await pool.request().input('n', sql.NVarChar(10), 'x').input('d', sql.Decimal(12, 3), 1.5).input('b', sql.BigInt, 7).query('SELECT @n AS n, @d AS d, @b AS b');
    const rpc = server.requests.slice(start).find((r) => r.type === 'rpc' && r.parameters.some((p) => p.name === 'd'));
    if (!rpc || rpc.type !== 'rpc') throw new Error('no rpc recorded');
    expect(rpc.procedure).toBe('sp_executesql');
    expect(rpc.parameters.map((p) => [p.name, p.type.name])).toEqual([['statement', 'nvarchar'], ['params', 'nvarchar'], ['n', 'nvarchar'], ['d', 'decimal'], ['b', 'bigint']]);
    expect(rpc.parameters[1]!.value).toBe('@n nvarchar(10), @d decimal(12, 3), @b bigint');
    expect(rpc.parameters[3]!.value).toEqual({ kind: 'decimal', unscaled: 1500n, scale: 3 });
  });
});

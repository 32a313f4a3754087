import sql from 'mssql';
import { startTdsTestServer } from '../index';
import { REAL_SERVER, Target, dropTables, enableDatabaseFeatures, openTarget, scriptedOnly } from './target';

const TABLE = 'dbo.tds_sessions';

describe('login', () => {
  scriptedOnly('a configured login is accepted and any other is refused with 18456', async () => {
    const server = await startTdsTestServer({ login: { user: 'tributary', password: 's3cret' } });
    try {
      const ok = await new sql.ConnectionPool(server.config()).connect();
      expect((await ok.request().query('SELECT 1 AS one')).recordset).toEqual([{ one: 1 }]);
      await ok.close();
      const messages: number[] = [];
      const bad = new sql.ConnectionPool({ ...server.config({ password: 'wrong' }), beforeConnect: (c) => c.on('errorMessage', (m) => messages.push(m.number)) });
      await expect(bad.connect()).rejects.toMatchObject({ code: 'ELOGIN', message: "Login failed for user 'tributary'." });
      expect(messages).toEqual([18456]);
    } finally {
      await server.stop();
    }
  });

  scriptedOnly('an unknown database is refused with 4060 then 18456', async () => {
    const server = await startTdsTestServer();
    try {
      const messages: number[] = [];
      const pool = new sql.ConnectionPool({ ...server.config({ database: 'nope' }), beforeConnect: (c) => c.on('errorMessage', (m) => messages.push(m.number)) });
      await expect(pool.connect()).rejects.toMatchObject({ code: 'ELOGIN' });
      expect(messages).toEqual([4060, 18456]);
    } finally {
      await server.stop();
    }
  });

  scriptedOnly('the server never encrypts: a client that insists gets a clear EENCRYPT error', async () => {
    const server = await startTdsTestServer();
    try {
      const pool = new sql.ConnectionPool({ ...server.config(), options: { encrypt: true, trustServerCertificate: true } });
      await expect(pool.connect()).rejects.toMatchObject({ code: 'EENCRYPT' });
    } finally {
      await server.stop();
    }
  });
});

describe('transactions through mssql.Transaction', () => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget();
    await enableDatabaseFeatures(t.pool);
    await dropTables(t.pool, TABLE);
    await t.pool.request().batch(`CREATE TABLE ${TABLE} (id int NOT NULL PRIMARY KEY, note nvarchar(40) NULL)`);
  });
  afterAll(async () => {
    await dropTables(t.pool, TABLE);
    await t.close();
  });
  const ids = async () => (await t.pool.request().query(`SELECT id FROM ${TABLE} ORDER BY id`)).recordset.map((r) => r.id);

  test('commit makes the writes visible; rollback discards them', async () => {
    const committed = new sql.Transaction(t.pool);
    await committed.begin();
    await new sql.Request(committed).input('id', sql.Int, 1).query(`INSERT INTO ${TABLE} (id, note) VALUES (@id, N'kept')`);
    await committed.commit();
    const rolledBack = new sql.Transaction(t.pool);
    await rolledBack.begin();
    await new sql.Request(rolledBack).query(`INSERT INTO ${TABLE} (id, note) VALUES (2, N'gone')`);
    expect((await new sql.Request(rolledBack).query(`SELECT COUNT(*) AS n FROM ${TABLE}`)).recordset[0].n).toBe(2);
    await rolledBack.rollback();
    expect(await ids()).toEqual([1]);
  });

  scriptedOnly('requests inside a transaction carry the descriptor of its BEGIN_TXN ENVCHANGE', async () => {
    const server = t.scripted!;
    const start = server.requests.length;
    const tx = new sql.Transaction(t.pool);
    await tx.begin(sql.ISOLATION_LEVEL.SERIALIZABLE);
    await new sql.Request(tx).query(`UPDATE ${TABLE} SET note = N'in tx' WHERE id = 1`);
    await tx.commit();
    const log = server.requests.slice(start).filter((r) => r.type === 'tm' || (r.type === 'rpc' && r.parameters[0]?.value === `UPDATE ${TABLE} SET note = N'in tx' WHERE id = 1`));
    expect(log.map((r) => r.type === 'tm' ? `${r.operation}:${r.isolationLevel ?? ''}` : 'rpc')).toEqual(['begin:4', 'rpc', 'commit:']);
    const descriptor = (log[1] as { descriptor: Buffer }).descriptor;
    expect(descriptor.equals(Buffer.alloc(8))).toBe(false);
    expect((log[2] as { descriptor: Buffer }).descriptor.equals(descriptor)).toBe(true);
    expect((log[0] as { descriptor: Buffer }).descriptor.equals(Buffer.alloc(8))).toBe(true);
  });

  test('a request inside a transaction without its descriptor is refused with 3989', async () => {
    const { Connection, Request } = require('tedious') as typeof import('tedious');
    const c = t.config;
    const connection = new Connection({ server: c.server, authentication: { type: 'default', options: { userName: c.user, password: c.password } }, options: { port: c.port, database: c.database, encrypt: false, trustServerCertificate: true } });
    await new Promise<void>((resolve, reject) => connection.connect((e) => (e ? reject(e) : resolve())));
    try {
      await new Promise<void>((resolve, reject) => connection.beginTransaction((e) => (e ? reject(e) : resolve())));
      // What a driver that forgot the BEGIN_TXN descriptor would send: tedious keeps it here.
      (connection as unknown as { transactionDescriptors: Buffer[] }).transactionDescriptors = [Buffer.alloc(8)];
      const error = await new Promise<unknown>((resolve) => connection.execSql(new Request('SELECT 1 AS one', (e) => resolve(e))));
      expect(error).toMatchObject({ number: 3989 });
    } finally {
      connection.close();
    }
  });

  test('COMMIT without BEGIN TRANSACTION is error 3902; ROLLBACK is 3903', async () => {
    await expect(t.pool.request().batch('COMMIT TRANSACTION')).rejects.toMatchObject({ number: 3902, class: 16 });
    await expect(t.pool.request().batch('ROLLBACK TRANSACTION')).rejects.toMatchObject({ number: 3903 });
  });

  test('SAVE TRANSACTION and ROLLBACK to the savepoint inside an mssql transaction', async () => {
    const tx = new sql.Transaction(t.pool);
    await tx.begin();
    await new sql.Request(tx).batch(`SAVE TRANSACTION sp1; INSERT INTO ${TABLE} (id) VALUES (3); ROLLBACK TRANSACTION sp1;`);
    await new sql.Request(tx).query(`INSERT INTO ${TABLE} (id) VALUES (4)`);
    const inside = (await new sql.Request(tx).query('SELECT @@TRANCOUNT AS n')).recordset[0].n;
    await tx.commit();
    expect(inside).toBe(1);
    expect(await ids()).toEqual([1, 4]);
  });

  test('BEGIN TRAN … COMMIT inside one batch', async () => {
    await t.pool.request().batch(`BEGIN TRANSACTION; INSERT INTO ${TABLE} (id) VALUES (8); COMMIT TRANSACTION;`);
    expect(await ids()).toContain(8);
    await t.pool.request().query(`DELETE FROM ${TABLE} WHERE id = 8`);
  });

  test('a constraint violation fails its statement only; the transaction goes on', async () => {
    const tx = new sql.Transaction(t.pool);
    await tx.begin();
    await new sql.Request(tx).query(`INSERT INTO ${TABLE} (id) VALUES (5)`);
    await expect(new sql.Request(tx).query(`INSERT INTO ${TABLE} (id) VALUES (6), (1)`)).rejects.toMatchObject({ number: 2627, class: 14 });
    await tx.commit();
    expect(await ids()).toEqual([1, 4, 5]);
  });

  test('SNAPSHOT readers keep the state of their first read while others commit', async () => {
    const reader = new sql.Transaction(t.pool);
    await reader.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
    const count = async () => (await new sql.Request(reader).query(`SELECT COUNT(*) AS n FROM ${TABLE}`)).recordset[0].n;
    const before = await count();
    await t.pool.request().query(`INSERT INTO ${TABLE} (id) VALUES (7)`);
    expect(await count()).toBe(before);
    await reader.commit();
    expect((await t.pool.request().query(`SELECT COUNT(*) AS n FROM ${TABLE}`)).recordset[0].n).toBe(before + 1);
  });

  test('snapshot isolation shows in sys.databases', async () => {
    const { recordset } = await t.pool.request().query('SELECT snapshot_isolation_state, snapshot_isolation_state_desc FROM sys.databases WHERE database_id = DB_ID()');
    expect(recordset).toEqual([{ snapshot_isolation_state: 1, snapshot_isolation_state_desc: 'ON' }]);
  });
});

describe('snapshot isolation not allowed', () => {
  scriptedOnly('a SNAPSHOT transaction fails at its first read with 3952', async () => {
    const server = await startTdsTestServer();
    const pool = await new sql.ConnectionPool(server.config()).connect();
    try {
      const tx = new sql.Transaction(pool);
      await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
      await expect(new sql.Request(tx).query('SELECT COUNT(*) AS n FROM sys.tables')).resolves.toBeDefined();
      await pool.request().batch('CREATE TABLE dbo.x (id int PRIMARY KEY)');
      await expect(new sql.Request(tx).query('SELECT COUNT(*) AS n FROM dbo.x')).rejects.toMatchObject({ number: 3952 });
      await tx.rollback();
    } finally {
      await pool.close();
      await server.stop();
    }
  });
});

if (REAL_SERVER) test('runs against the SQL Server at MSSQL_URL', () => expect(REAL_SERVER).toBeTruthy());

import { Database } from '../engine/database';
import { EngineEvent, EngineSession } from '../engine/session';
import { TypedValue } from '../engine/sql-types';
import { parseBatch } from '../sql/parser';

async function run(session: EngineSession, sql: string, params: Record<string, TypedValue> = {}): Promise<EngineEvent[]> {
  return session.run(parseBatch(sql), new Map(Object.entries(params)));
}

function rowsOf(events: EngineEvent[]): unknown[][][] {
  return events.flatMap((e) => (e.kind === 'resultSet' ? [e.rows] : []));
}

function errorNumbers(events: EngineEvent[]): number[] {
  return events.flatMap((e) => (e.kind === 'error' ? [e.error.number] : []));
}

describe('statement recogniser', () => {
  test.each([
    ['SELECT TOP (@n) * FROM dbo.t WITH (NOLOCK) WHERE (a > @a) OR (a = @a AND b > @b) ORDER BY a, b', 'select'],
    ['SELECT ct.*, t.x FROM CHANGETABLE(CHANGES [dbo].[t], @v) AS ct LEFT JOIN [dbo].[t] t ON t.id = ct.id', 'select'],
    ["SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'dbo.t'))", 'select'],
    ['INSERT INTO dbo.t (a, b) OUTPUT INSERTED.id VALUES (@p0, @p1), (@p2, DEFAULT)', 'insert'],
    ['UPDATE dbo.t SET a = @a, b += 1 OUTPUT DELETED.a, INSERTED.a WHERE id = @id', 'update'],
    ['DELETE FROM dbo.t OUTPUT DELETED.* WHERE id IN (@a, @b)', 'delete'],
    ['MERGE INTO dbo.t WITH (HOLDLOCK) AS tgt USING (SELECT @id AS id) AS src ON tgt.id = src.id WHEN NOT MATCHED BY TARGET THEN INSERT (id) VALUES (src.id) WHEN NOT MATCHED BY SOURCE AND tgt.id < 0 THEN DELETE;', 'merge'],
    ['WITH CHANGE_TRACKING_CONTEXT (0x01) DELETE FROM dbo.t WHERE id = 1', 'withContext'],
    ['SET TRANSACTION ISOLATION LEVEL SNAPSHOT', 'setIsolation'],
    ['BEGIN TRAN', 'begin'],
    ['ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)', 'alterDatabase'],
    ['ALTER TABLE dbo.t ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)', 'alterTableChangeTracking'],
  ])('%s', (sql, kind) => {
    const parsed = parseBatch(sql);
    expect(parsed.map((p) => [p.statement.kind, p.reason])).toEqual([[kind, undefined]]);
  });

  test('statements without semicolons, one per line, as tedious sends its initial options', () => {
    expect(parseBatch('set ansi_nulls on\nset textsize 2147483647\nset transaction isolation level read committed').map((p) => p.statement.kind)).toEqual(['set', 'set', 'setIsolation']);
  });

  test('an unknown shape becomes one unrecognised statement up to the next semicolon', () => {
    const parsed = parseBatch('SELECT 1; UPDATE t SET a = 1 FROM t JOIN u ON u.id = t.id; SELECT 2');
    expect(parsed.map((p) => p.statement.kind)).toEqual(['select', 'unrecognised', 'select']);
    expect(parsed[1]!.statement.text).toBe('UPDATE t SET a = 1 FROM t JOIN u ON u.id = t.id');
  });
});

describe('engine semantics', () => {
  let db: Database;
  let a: EngineSession;
  let b: EngineSession;
  beforeEach(async () => {
    db = new Database({ changeTracking: true, allowSnapshotIsolation: true });
    a = new EngineSession(db, 51);
    b = new EngineSession(db, 52);
    await run(a, 'CREATE TABLE t (id int PRIMARY KEY, v int NULL); INSERT INTO t (id, v) VALUES (1, 1), (2, 2)');
    await run(a, 'ALTER TABLE t ENABLE CHANGE_TRACKING');
  });
  const changes = async (since: number) => rowsOf(await run(a, `SELECT id, SYS_CHANGE_OPERATION, SYS_CHANGE_CREATION_VERSION FROM CHANGETABLE(CHANGES t, ${since}) AS c ORDER BY id`))[0];

  test('net operations since a version: update of a row older than tracking, insert then delete, delete then re-insert', async () => {
    await run(a, 'UPDATE t SET v = 10 WHERE id = 1');
    await run(a, 'INSERT INTO t (id) VALUES (3)');
    await run(a, 'DELETE FROM t WHERE id = 3');
    await run(a, 'DELETE FROM t WHERE id = 2');
    await run(a, 'INSERT INTO t (id) VALUES (2)');
    expect(await changes(0)).toEqual([[1, 'U', null], [2, 'I', 5n], [3, 'D', 2n]]);
    expect(await changes(4)).toEqual([[2, 'I', 5n]]);
  });

  test('a write to a row another open transaction wrote fails at once with 1222 instead of blocking', async () => {
    await run(a, 'BEGIN TRAN; UPDATE t SET v = 5 WHERE id = 1');
    expect(errorNumbers(await run(b, 'UPDATE t SET v = 6 WHERE id = 1'))).toEqual([1222]);
    await run(a, 'COMMIT');
    expect(errorNumbers(await run(b, 'UPDATE t SET v = 6 WHERE id = 1'))).toEqual([]);
  });

  test('a SNAPSHOT writer touching a row committed since its snapshot gets 3960 and loses its transaction', async () => {
    await run(b, 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRAN; SELECT COUNT(*) FROM t');
    await run(a, 'UPDATE t SET v = 7 WHERE id = 1');
    const events = await run(b, 'UPDATE t SET v = 8 WHERE id = 1');
    expect(errorNumbers(events)).toEqual([3960]);
    expect(events.some((e) => e.kind === 'rollbackTransaction')).toBe(true);
    expect(b.explicit).toBeNull();
  });

  test('XACT_ABORT ON turns a constraint error into a rollback of the whole transaction', async () => {
    const events = await run(a, 'SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO t (id) VALUES (9); INSERT INTO t (id) VALUES (1); INSERT INTO t (id) VALUES (10)');
    expect(errorNumbers(events)).toEqual([2627]);
    expect(events.some((e) => e.kind === 'rollbackTransaction')).toBe(true);
    expect(rowsOf(await run(a, 'SELECT id FROM t ORDER BY id'))[0]).toEqual([[1], [2]]);
  });

  test('a failed statement is undone whole, even part-way through a multi-row insert', async () => {
    expect(errorNumbers(await run(a, 'INSERT INTO t (id) VALUES (5), (6), (1)'))).toEqual([2627]);
    expect(rowsOf(await run(a, 'SELECT COUNT(*) AS n FROM t'))[0]).toEqual([[2]]);
  });

  test('transactions that change no tracked table do not move the version', async () => {
    await run(a, 'CREATE TABLE u (id int PRIMARY KEY)');
    const before = rowsOf(await run(a, 'SELECT CHANGE_TRACKING_CURRENT_VERSION()'))[0];
    await run(a, 'INSERT INTO u (id) VALUES (1)');
    expect(rowsOf(await run(a, 'SELECT CHANGE_TRACKING_CURRENT_VERSION()'))[0]).toEqual(before);
  });
});

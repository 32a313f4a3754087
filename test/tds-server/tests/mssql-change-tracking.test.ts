import sql from 'mssql';
import { Target, dropTables, enableDatabaseFeatures, openTarget, scriptedOnly } from './target';

const PARENT = 'dbo.tds_ct_parent';
const CHILD = 'dbo.tds_ct_child';
const PLAIN = 'dbo.tds_ct_plain';

describe('capture with Change Tracking and apply with DML, through mssql', () => {
  let t: Target;
  const q = () => t.pool.request();
  const version = async () => BigInt((await q().query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0].v);
  const changes = async (table: string, since: bigint) =>
    (await q().input('v', sql.BigInt, since).query(`SELECT ct.* FROM CHANGETABLE(CHANGES ${table}, @v) AS ct ORDER BY ct.SYS_CHANGE_VERSION`)).recordset;

  beforeAll(async () => {
    t = await openTarget();
    await enableDatabaseFeatures(t.pool);
    await dropTables(t.pool, CHILD, PARENT, PLAIN);
    await q().batch(`CREATE TABLE ${PARENT} (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, name nvarchar(50) NOT NULL, total AS (id * 10), rv rowversion)`);
    await q().batch(`CREATE TABLE ${CHILD} (parent_id int NOT NULL, seq int NOT NULL, label nvarchar(20) NULL,
      CONSTRAINT PK_tds_ct_child PRIMARY KEY (parent_id, seq),
      CONSTRAINT FK_tds_ct_child_parent FOREIGN KEY (parent_id) REFERENCES ${PARENT} (id) ON DELETE CASCADE)`);
    await q().batch(`CREATE TABLE ${PLAIN} (id int NOT NULL PRIMARY KEY, code varchar(10) NULL)`);
    await q().batch(`CREATE UNIQUE INDEX UX_tds_ct_plain_code ON ${PLAIN} (code)`);
    await q().batch(`ALTER TABLE ${PARENT} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)`);
    await q().batch(`ALTER TABLE ${CHILD} ENABLE CHANGE_TRACKING`);
  });
  afterAll(async () => {
    await dropTables(t.pool, CHILD, PARENT, PLAIN);
    await t.close();
  });

  test('OUTPUT returns the identity values (and computed columns) of the inserted rows', async () => {
    const result = await q().input('a', sql.NVarChar(50), 'alpha').input('b', sql.NVarChar(50), 'beta')
      .query(`INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id, INSERTED.name, INSERTED.total VALUES (@a), (@b); SELECT SCOPE_IDENTITY() AS last;`);
    const [inserted, last] = result.recordsets as unknown as Array<Array<Record<string, unknown>>>;
    const first = inserted![0]!.id as number;
    expect(inserted).toEqual([{ id: first, name: 'alpha', total: first * 10 }, { id: first + 1, name: 'beta', total: (first + 1) * 10 }]);
    expect(last).toEqual([{ last: first + 1 }]);
    expect(result.rowsAffected).toEqual([2, 1]);
    expect(result.recordset.columns.id.identity).toBe(true);
  });

  test('one committed transaction is one version; CHANGETABLE nets operations and carries the context', async () => {
    const v0 = await version();
    const tx = new sql.Transaction(t.pool);
    await tx.begin();
    const ids = (await new sql.Request(tx).input('ctx', sql.VarBinary(128), Buffer.from('tributary:42'))
      .query(`WITH CHANGE_TRACKING_CONTEXT (@ctx) INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id VALUES (N'gamma'), (N'delta')`)).recordset.map((r) => r.id as number);
    await new sql.Request(tx).input('id', sql.Int, ids[0]).query(`UPDATE ${PARENT} SET name = N'gamma2' WHERE id = @id`);
    await tx.commit();
    const v1 = await version();
    expect(v1).toBe(v0 + 1n);
    const rows = await changes(PARENT, v0);
    expect(rows.map((r) => [r.id, r.SYS_CHANGE_OPERATION, BigInt(r.SYS_CHANGE_VERSION)])).toEqual([[ids[0], 'I', v1], [ids[1], 'I', v1]]);
    expect(Buffer.from(rows[1].SYS_CHANGE_CONTEXT).toString()).toBe('tributary:42');
    expect(rows[0].SYS_CHANGE_CONTEXT).toBeNull();
    expect(rows[0].SYS_CHANGE_CREATION_VERSION).toBe(String(v1));

    await q().input('id', sql.Int, ids[1]).query(`UPDATE ${PARENT} SET name = N'delta2' WHERE id = @id`);
    const since = await changes(PARENT, v1);
    expect(since.map((r) => [r.id, r.SYS_CHANGE_OPERATION])).toEqual([[ids[1], 'U']]);
    const mask = await q().input('v', sql.BigInt, v1).query(
      `SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(COLUMNPROPERTY(OBJECT_ID(N'${PARENT}'), 'name', 'ColumnId'), ct.SYS_CHANGE_COLUMNS) AS name_changed,
              CHANGE_TRACKING_IS_COLUMN_IN_MASK(COLUMNPROPERTY(OBJECT_ID(N'${PARENT}'), 'id', 'ColumnId'), ct.SYS_CHANGE_COLUMNS) AS id_changed
       FROM CHANGETABLE(CHANGES ${PARENT}, @v) AS ct`);
    expect(mask.recordset).toEqual([{ name_changed: true, id_changed: false }]);
  });

  test('CHANGETABLE joined back to the table gives the current row, or NULLs for a delete', async () => {
    const v0 = await version();
    const id = (await q().query(`INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id VALUES (N'epsilon')`)).recordset[0].id as number;
    const gone = (await q().query(`INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id VALUES (N'zeta')`)).recordset[0].id as number;
    await q().input('id', sql.Int, gone).query(`DELETE FROM ${PARENT} WHERE id = @id`);
    const { recordset } = await q().input('v', sql.BigInt, v0).query(
      `SELECT ct.id, ct.SYS_CHANGE_OPERATION AS op, p.name FROM CHANGETABLE(CHANGES ${PARENT}, @v) AS ct LEFT OUTER JOIN ${PARENT} AS p ON p.id = ct.id ORDER BY ct.id`);
    expect(recordset).toEqual([{ id, op: 'I', name: 'epsilon' }, { id: gone, op: 'D', name: null }]);
  });

  test('composite keys: MERGE upserts with OUTPUT $action, and CHANGETABLE returns every key column', async () => {
    const parent = (await q().query(`INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id VALUES (N'eta')`)).recordset[0].id as number;
    const v0 = await version();
    const merge = (seq: number, label: string) => q().input('p', sql.Int, parent).input('s', sql.Int, seq).input('l', sql.NVarChar(20), label).query(
      `MERGE ${CHILD} AS tgt USING (VALUES (@p, @s, @l)) AS src (parent_id, seq, label) ON tgt.parent_id = src.parent_id AND tgt.seq = src.seq
       WHEN MATCHED THEN UPDATE SET label = src.label
       WHEN NOT MATCHED THEN INSERT (parent_id, seq, label) VALUES (src.parent_id, src.seq, src.label)
       OUTPUT $action AS action, INSERTED.parent_id, INSERTED.seq, INSERTED.label;`);
    expect((await merge(1, 'one')).recordset).toEqual([{ action: 'INSERT', parent_id: parent, seq: 1, label: 'one' }]);
    expect((await merge(2, 'two')).rowsAffected).toEqual([1]);
    expect((await merge(1, 'uno')).recordset).toEqual([{ action: 'UPDATE', parent_id: parent, seq: 1, label: 'uno' }]);
    const rows = await changes(CHILD, v0);
    expect(rows.map((r) => [r.parent_id, r.seq, r.SYS_CHANGE_OPERATION]).sort()).toEqual([[parent, 1, 'I'], [parent, 2, 'I']]);
  });

  test('ON DELETE CASCADE removes the children, and Change Tracking records their deletes', async () => {
    const parent = (await q().query(`INSERT INTO ${PARENT} (name) OUTPUT INSERTED.id VALUES (N'theta')`)).recordset[0].id as number;
    await q().input('p', sql.Int, parent).query(`INSERT INTO ${CHILD} (parent_id, seq) VALUES (@p, 1), (@p, 2)`);
    const v0 = await version();
    const deleted = await q().input('p', sql.Int, parent).query(`DELETE FROM ${PARENT} OUTPUT DELETED.id WHERE id = @p`);
    expect(deleted.recordset).toEqual([{ id: parent }]);
    expect((await q().input('p', sql.Int, parent).query(`SELECT COUNT(*) AS n FROM ${CHILD} WHERE parent_id = @p`)).recordset[0].n).toBe(0);
    const rows = await changes(CHILD, v0);
    expect(rows.map((r) => [r.parent_id, r.seq, r.SYS_CHANGE_OPERATION])).toEqual([[parent, 1, 'D'], [parent, 2, 'D']]);
  });

  test('constraint errors carry SQL Server numbers: 547 foreign key, 2627 primary key, 2601 unique index, 515 NOT NULL', async () => {
    await expect(q().query(`INSERT INTO ${CHILD} (parent_id, seq) VALUES (-1, 1)`)).rejects.toMatchObject({ number: 547, class: 16 });
    await q().query(`INSERT INTO ${PLAIN} (id, code) VALUES (1, 'a')`);
    await expect(q().query(`INSERT INTO ${PLAIN} (id, code) VALUES (1, 'b')`)).rejects.toMatchObject({ number: 2627, message: expect.stringContaining('The duplicate key value is (1).') });
    await expect(q().query(`INSERT INTO ${PLAIN} (id, code) VALUES (2, 'A')`)).rejects.toMatchObject({ number: 2601, message: expect.stringContaining("with unique index 'UX_tds_ct_plain_code'") });
    await expect(q().query(`INSERT INTO ${PARENT} (name) VALUES (NULL)`)).rejects.toMatchObject({ number: 515 });
    await expect(q().input('v', sql.BigInt, 0).query(`SELECT * FROM CHANGETABLE(CHANGES ${PLAIN}, @v) AS ct`)).rejects.toMatchObject({ number: 22105 });
    await expect(q().query('SELECT * FROM dbo.tds_no_such_table')).rejects.toMatchObject({ number: 208, message: "Invalid object name 'dbo.tds_no_such_table'." });
  });

  test('the catalog describes the set-up the connector checks', async () => {
    const tracked = await q().query(
      `SELECT t.name, ct.is_track_columns_updated_on AS cols FROM sys.change_tracking_tables ct JOIN sys.tables t ON t.object_id = ct.object_id WHERE t.name LIKE 'tds_ct_%' ORDER BY t.name`);
    expect(tracked.recordset).toEqual([{ name: 'tds_ct_child', cols: false }, { name: 'tds_ct_parent', cols: true }]);
    const db = await q().query('SELECT is_auto_cleanup_on, retention_period, retention_period_units_desc FROM sys.change_tracking_databases WHERE database_id = DB_ID()');
    expect(db.recordset).toEqual([{ is_auto_cleanup_on: true, retention_period: 2, retention_period_units_desc: 'DAYS' }]);
    const columns = await q().input('t', sql.NVarChar(128), PARENT).query(
      `SELECT c.name, ty.name AS type, c.is_nullable, c.is_identity, c.is_computed FROM sys.columns c JOIN sys.types ty ON ty.user_type_id = c.user_type_id
       WHERE c.object_id = OBJECT_ID(@t) ORDER BY c.column_id`);
    expect(columns.recordset).toEqual([
      { name: 'id', type: 'int', is_nullable: false, is_identity: true, is_computed: false },
      { name: 'name', type: 'nvarchar', is_nullable: false, is_identity: false, is_computed: false },
      { name: 'total', type: 'int', is_nullable: true, is_identity: false, is_computed: true },
      { name: 'rv', type: 'timestamp', is_nullable: false, is_identity: false, is_computed: false },
    ]);
    const key = await q().input('t', sql.NVarChar(128), CHILD).query(
      `SELECT c.name FROM sys.key_constraints k JOIN sys.index_columns ic ON ic.object_id = k.parent_object_id AND ic.index_id = k.unique_index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id WHERE k.parent_object_id = OBJECT_ID(@t) AND k.type = 'PK' ORDER BY ic.key_ordinal`);
    expect(key.recordset.map((r) => r.name)).toEqual(['parent_id', 'seq']);
    const fk = await q().query(`SELECT f.name, f.delete_referential_action_desc AS on_delete, OBJECT_NAME(f.referenced_object_id) AS parent FROM sys.foreign_keys f WHERE f.parent_object_id = OBJECT_ID(N'${CHILD}')`);
    expect(fk.recordset).toEqual([{ name: 'FK_tds_ct_child_parent', on_delete: 'CASCADE', parent: 'tds_ct_parent' }]);
  });

  scriptedOnly('cleanup moves CHANGE_TRACKING_MIN_VALID_VERSION past an old client version', async () => {
    const old = await version();
    await q().query(`INSERT INTO ${PARENT} (name) VALUES (N'iota')`);
    const minValid = async () => BigInt((await q().query(`SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'${PARENT}')) AS v`)).recordset[0].v);
    expect(await minValid()).toBeLessThanOrEqual(old);
    t.scripted!.database.cleanupChangeTracking();
    const now = await version();
    expect(await minValid()).toBe(now);
    expect(await minValid()).toBeGreaterThan(old);
    expect(await changes(PARENT, old)).toEqual([]);
  });
});

import { STATE_TYPE } from '../../connectors/kit/position';
import { loadConnectorModule } from '../../connectors/registry';
import { compositeKey } from '../../connectors/sqlserver';
import type { SqlServerConnectorStatus } from '../../connectors/sqlserver';
import { until } from '../connectors/harness';
import { SqlServerFixture } from '../helpers/sqlserver-fixture';

/**
 * What is particular to SQL Server: setup checks printing the statements to run, a tracking
 * version older than the min valid version (re-load, nothing lost), the CHANGE_TRACKING_CONTEXT
 * echo guard, composite keys, identity columns, read-only columns, refusals.
 */

type Status = SqlServerConnectorStatus;

describe('sqlserver connector', () => {
  let f: SqlServerFixture;
  beforeAll(async () => {
    f = await SqlServerFixture.open();
  });
  afterAll(async () => {
    await f.dispose();
  });

  test('setup checks: each missing piece is its own code and prints the exact statement; running it fixes the start', async () => {
    const { server, exec } = await f.server({ name: 'legacy', changeTracking: false, allowSnapshotIsolation: false });
    await exec('CREATE TABLE dbo.thing (id int NOT NULL PRIMARY KEY, label nvarchar(50) NULL)');
    const config = f.config(server, 'setup', { realm: '/setup', tables: { thing: {} } });
    const failure = async () => {
      const c = f.create(config);
      const e = (await c.start().then(() => null, (x: unknown) => x)) as { code: string; message: string } | null;
      if (!e) await c.stop();
      return e;
    };
    const statement = (message: string) => message.split('\n')[1]!.trim();

    const noTracking = (await failure())!;
    expect(noTracking.code).toBe('SQLSERVER_CHANGE_TRACKING_OFF');
    expect(statement(noTracking.message)).toBe('ALTER DATABASE [legacy] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);');
    await exec(statement(noTracking.message));

    const noSnapshot = (await failure())!;
    expect(noSnapshot.code).toBe('SQLSERVER_SNAPSHOT_ISOLATION_OFF');
    expect(statement(noSnapshot.message)).toBe('ALTER DATABASE [legacy] SET ALLOW_SNAPSHOT_ISOLATION ON;');
    await exec(statement(noSnapshot.message));

    const untracked = (await failure())!;
    expect(untracked.code).toBe('SQLSERVER_TABLE_NOT_TRACKED');
    expect(statement(untracked.message)).toBe('ALTER TABLE [dbo].[thing] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);');
    const test = await loadConnectorModule('sqlserver').testConnection(config);
    expect(test.checks.map((c) => [c.name, c.ok, c.code ?? null])).toEqual([['database', true, null], ['change tracking and snapshot isolation', true, null], ['mapping', false, 'SQLSERVER_TABLE_NOT_TRACKED']]);
    await exec(statement(untracked.message));

    expect(await failure()).toBeNull();
  });

  test('a saved tracking version older than the min valid version re-loads the table: nothing lost, deletes included, counted', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.note (id int NOT NULL PRIMARY KEY, body nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.note ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.note (id, body) VALUES (1, N'one'), (2, N'two'), (3, N'three')");
    const config = f.config(server, 'resync', { realm: '/resync', tables: { note: { type: 'Note' } } });
    let connector = await f.start(config);
    await connector.quiesce(60_000);
    await connector.stop();
    await exec("UPDATE dbo.note SET body = N'one changed' WHERE id = 1");
    await exec('DELETE FROM dbo.note WHERE id = 2');
    await exec("INSERT INTO dbo.note (id, body) VALUES (4, N'four')");
    server.database.cleanupChangeTracking(); // the retention period passed while the connector was down
    connector = await f.start(config);
    await connector.quiesce(60_000);
    const realm = await f.client('/resync');
    const notes = [...realm.objects<{ id: number; body: string }>('Note')].map((n) => ({ id: n.id, body: n.body })).sort((a, b) => a.id - b.id);
    expect(notes).toEqual([{ id: 1, body: 'one changed' }, { id: 3, body: 'three' }, { id: 4, body: 'four' }]);
    expect((connector.status() as Status).reloads).toBe(1);
    expect(f.logs.some((l) => l.includes('re-loading it'))).toBe(true);
    await exec("UPDATE dbo.note SET body = N'after' WHERE id = 3");
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(realm.objectForPrimaryKey<{ body: string }>('Note', 3)!.body).toBe('after');
    expect((connector.status() as Status).reloads).toBe(1);
    await connector.stop();
    expect((await exec("SELECT reloads FROM dbo.tributary_capture_position WHERE connector = N'resync'")).recordset).toEqual([{ reloads: '1' }]);
  });

  test('the poll interval backs off while idle, bounded by maxPollIntervalMs, and drops back while changes flow', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.tick (id int NOT NULL PRIMARY KEY)');
    await exec('ALTER TABLE dbo.tick ENABLE CHANGE_TRACKING');
    const connector = await f.start(f.config(server, 'interval', { realm: '/interval', pollIntervalMs: 10, maxPollIntervalMs: 160, tables: { tick: { type: 'Tick' } } }));
    const interval = () => (connector.status() as Status).pollIntervalMs;
    const seen = new Set<number>();
    await until(() => (seen.add(interval()), interval() === 160), 'the idle interval to reach its bound');
    expect([...seen].every((ms) => ms >= 10 && ms <= 160)).toBe(true);
    await exec('INSERT INTO dbo.tick (id) VALUES (1)');
    await until(() => interval() < 160, 'a poll that found the commit');
    await connector.caughtUp(60_000);
    const realm = await f.client('/interval');
    expect(realm.objects('Tick').length).toBe(1);
  });

  test('echo guard: the rows apply writes carry the CHANGE_TRACKING_CONTEXT tag, and capture skips them by it (the realm position does not move)', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.item (id int NOT NULL PRIMARY KEY, label nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.item ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.item (id, label) VALUES (1, N'db')");
    const connector = await f.start(f.config(server, 'echo', { realm: '/echo', tables: { item: { type: 'Item' } } }));
    await connector.quiesce(60_000);
    const realm = await f.client('/echo');
    const position = () => realm.objectForPrimaryKey<{ resumeFrom: string }>(STATE_TYPE, 'echo')!.resumeFrom;
    const at0 = position();
    const s0 = connector.status();
    const v0 = (await exec('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0]!.v as string;
    realm.write(() => {
      realm.objectForPrimaryKey<{ label: string }>('Item', 1)!.label = 'realm';
      realm.create('Item', { id: 2, label: 'created in the realm' });
    });
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    const s1 = connector.status();
    expect({ position: position(), foreign: s1.transactions - s1.skippedOwnTransactions, own: s1.skippedOwnTransactions }).toEqual({ position: at0, foreign: s0.transactions - s0.skippedOwnTransactions, own: s0.skippedOwnTransactions + 1 });
    const changes = (await exec(`SELECT ct.id, ct.SYS_CHANGE_CONTEXT AS ctx FROM CHANGETABLE(CHANGES dbo.item, ${v0}) AS ct ORDER BY ct.id`)).recordset;
    expect(changes.map((c) => [c.id, c.ctx === null ? null : Buffer.from(c.ctx as Buffer).toString('utf8')])).toEqual([[1, 'tributary:echo'], [2, 'tributary:echo']]);
    expect((await exec('SELECT id, label FROM dbo.item ORDER BY id')).recordset).toEqual([{ id: 1, label: 'realm' }, { id: 2, label: 'created in the realm' }]);
  });

  test("an own commit's other changes (ON DELETE CASCADE) reach the realm; only the rows apply wrote are skipped", async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.folder (id int NOT NULL PRIMARY KEY, name nvarchar(50) NULL)');
    await exec('CREATE TABLE dbo.doc (id int NOT NULL PRIMARY KEY, folder_id int NOT NULL, title nvarchar(50) NULL, CONSTRAINT FK_doc_folder FOREIGN KEY (folder_id) REFERENCES dbo.folder (id) ON DELETE CASCADE)');
    await exec('ALTER TABLE dbo.folder ENABLE CHANGE_TRACKING');
    await exec('ALTER TABLE dbo.doc ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.folder (id, name) VALUES (1, N'one'), (2, N'two')");
    await exec("INSERT INTO dbo.doc (id, folder_id, title) VALUES (10, 1, N'a'), (11, 1, N'b'), (20, 2, N'c')");
    const connector = await f.start(f.config(server, 'cascade', { realm: '/cascade', tables: { folder: { type: 'Folder' }, doc: { type: 'Doc' } } }));
    const realm = await f.client('/cascade');
    realm.write(() => realm.delete(realm.objectForPrimaryKey('Folder', 1)));
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect((await exec('SELECT id FROM dbo.doc ORDER BY id')).recordset).toEqual([{ id: 20 }]);
    expect([...realm.objects<{ id: number }>('Doc')].map((d) => d.id)).toEqual([20]);
    expect((connector.status() as Status).ownChanges).toBe(2);
  });

  test('a column added with a default becomes a property, its values backfilled into the existing objects', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.gadget (id int NOT NULL PRIMARY KEY, name nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.gadget ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.gadget (id, name) VALUES (1, N'one'), (2, N'two')");
    const connector = await f.start(f.config(server, 'backfill', { realm: '/backfill', tables: { gadget: { type: 'Gadget' } } }));
    const realm = await f.client('/backfill');
    const v0 = (await exec('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0]!.v;
    await exec('ALTER TABLE dbo.gadget ADD stock int NOT NULL DEFAULT 7');
    expect((await exec('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).recordset[0]!.v).toBe(v0); // no change record: only the backfill brings the values
    await exec("INSERT INTO dbo.gadget (id, name, stock) VALUES (3, N'three', 3)");
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect([...realm.objects<{ id: number; stock: number }>('Gadget')].map((g) => [g.id, g.stock]).sort()).toEqual([[1, 7], [2, 7], [3, 3]]);
    // The backfill reads the table as it is when it runs: rows 1 and 2 always, row 3 too when its
    // INSERT landed before that read (it then arrives twice, with the same value).
    const schema = (connector.status() as Status).schema as { propertiesAdded: number; backfilled: number };
    expect(schema.propertiesAdded).toBe(1);
    expect([2, 3]).toContain(schema.backfilled);
  });

  test('a column added with no row changed after it is backfilled before quiesce returns (the DDL has no Change Tracking version)', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.widget (id int NOT NULL PRIMARY KEY, name nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.widget ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.widget (id, name) VALUES (1, N'one'), (2, N'two')");
    const connector = await f.start(f.config(server, 'ddl_only', { realm: '/ddl-only', tables: { widget: { type: 'Widget' } } }));
    const realm = await f.client('/ddl-only');
    await connector.quiesce(60_000); // idle: the poll interval backs off
    const polls = (connector.status() as Status).polls;
    await exec('ALTER TABLE dbo.widget ADD weight int NOT NULL DEFAULT 5');
    await connector.quiesce(60_000);
    expect((connector.status() as Status).polls).toBeGreaterThan(polls);
    expect((connector.status() as Status).schema).toMatchObject({ propertiesAdded: 1, backfilled: 2 });
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect([...realm.objects<{ id: number; weight: number }>('Widget')].map((w) => [w.id, w.weight]).sort()).toEqual([[1, 5], [2, 5]]);
  });

  test('composite keys: one realm key in the documented text form, both ways; compositeKey builds it', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.stock (region nvarchar(10) NOT NULL, sku int NOT NULL, qty int NULL, PRIMARY KEY (region, sku))');
    await exec('ALTER TABLE dbo.stock ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.stock (region, sku, qty) VALUES (N'EU', 1, 10), (N'a|b\\c', 2, 20)");
    const connector = await f.start(f.config(server, 'composite', { realm: '/composite', tables: { stock: { type: 'Stock' } } }));
    const realm = await f.client('/composite');
    expect(compositeKey(['a|b\\c', 2])).toBe('a\\|b\\\\c|2');
    expect([...realm.objects<{ key: string; region: string; sku: number }>('Stock')].map((o) => [o.key, o.region, o.sku]).sort()).toEqual([['EU|1', 'EU', 1], ['a\\|b\\\\c|2', 'a|b\\c', 2]]);
    realm.write(() => {
      realm.create('Stock', { key: compositeKey(['US', 7]), region: 'US', sku: 7, qty: 70 });
      realm.objectForPrimaryKey<{ qty: number }>('Stock', compositeKey(['a|b\\c', 2]))!.qty = 21;
      realm.delete(realm.objectForPrimaryKey('Stock', 'EU|1'));
    });
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect((await exec('SELECT region, sku, qty FROM dbo.stock ORDER BY sku')).recordset).toEqual([{ region: 'a|b\\c', sku: 2, qty: 21 }, { region: 'US', sku: 7, qty: 70 }]);
    await exec("UPDATE dbo.stock SET qty = 71 WHERE region = N'US' AND sku = 7");
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(realm.objectForPrimaryKey<{ qty: number }>('Stock', 'US|7')!.qty).toBe(71);
  });

  test('identity columns: a realm key written with IDENTITY_INSERT; a non-key identity filled back into the realm from OUTPUT', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.ticket (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, title nvarchar(50) NULL)');
    await exec('CREATE TABLE dbo.visit (code uniqueidentifier NOT NULL PRIMARY KEY, seq int IDENTITY(100,1) NOT NULL, who nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.ticket ENABLE CHANGE_TRACKING');
    await exec('ALTER TABLE dbo.visit ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.ticket (title) VALUES (N'first')");
    const connector = await f.start(f.config(server, 'identity', { realm: '/identity', tables: { ticket: { type: 'Ticket' }, visit: { type: 'Visit' } } }));
    const realm = await f.client('/identity');
    const { UUID } = await import('../../src/model');
    const code = new UUID('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    realm.write(() => {
      realm.create('Ticket', { id: 500, title: 'from the realm' });
      realm.create('Visit', { code, who: 'ann' });
    });
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect((await exec('SELECT id, title FROM dbo.ticket ORDER BY id')).recordset).toEqual([{ id: 1, title: 'first' }, { id: 500, title: 'from the realm' }]);
    expect((await exec('SELECT seq, who FROM dbo.visit')).recordset).toEqual([{ seq: 100, who: 'ann' }]);
    expect(realm.objectForPrimaryKey<{ seq: number }>('Visit', code)!.seq).toBe(100);
    expect(connector.status().apply).toMatchObject({ rejected: 0, failed: 0 });
  });

  test('rowversion and computed columns are read-only: never written, filled back, no stall', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.line (id int NOT NULL PRIMARY KEY, qty int NOT NULL, price decimal(10, 2) NOT NULL, total AS (qty * price), rv rowversion)');
    await exec('ALTER TABLE dbo.line ENABLE CHANGE_TRACKING');
    await exec('INSERT INTO dbo.line (id, qty, price) VALUES (1, 2, 1.50)');
    const connector = await f.start(f.config(server, 'readonly', { realm: '/readonly', tables: { line: { type: 'Line' } } }));
    const realm = await f.client('/readonly');
    const line = realm.objectForPrimaryKey<Record<string, unknown>>('Line', 1)!;
    expect(String(line.total)).toBe('3.00');
    const rv0 = Buffer.from(line.rv as ArrayBuffer).toString('hex');
    const { Decimal128 } = await import('../../src/model');
    realm.write(() => {
      line.qty = 4;
      line.total = new Decimal128('999'); // a client writing a computed property: not written to SQL Server, reset to its value
      realm.create('Line', { id: 2, qty: 1, price: new Decimal128('2.25') });
    });
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect((await exec('SELECT id, qty, CAST(total AS nvarchar(40)) AS total FROM dbo.line ORDER BY id')).recordset).toEqual([{ id: 1, qty: 4, total: '6.00' }, { id: 2, qty: 1, total: '2.25' }]);
    expect(String(line.total)).toBe('6.00');
    expect(Buffer.from(line.rv as ArrayBuffer).toString('hex')).not.toBe(rv0);
    expect(String(realm.objectForPrimaryKey<Record<string, unknown>>('Line', 2)!.total)).toBe('2.25');
    expect(connector.status().apply).toMatchObject({ rejected: 0, failed: 0, retrying: 0 });
  });

  test('transient failures are retried: a deadlock victim (1205) in apply, a connection dropped under a poll; a permission error (229) stops apply with a code', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.job (id int NOT NULL PRIMARY KEY, state nvarchar(20) NULL)');
    await exec('ALTER TABLE dbo.job ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.job (id, state) VALUES (1, N'new'), (2, N'new')");
    const connector = await f.start(f.config(server, 'transient', { realm: '/transient', tables: { job: { type: 'Job' } } }));
    const realm = await f.client('/transient');
    server.faults.deadlockNext(/UPDATE \[dbo\]\.\[job\]/);
    realm.write(() => (realm.objectForPrimaryKey<{ state: string }>('Job', 1)!.state = 'running'));
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    expect((await exec('SELECT state FROM dbo.job WHERE id = 1')).recordset).toEqual([{ state: 'running' }]);
    expect(connector.status().apply).toMatchObject({ applied: 1, rejected: 0, failed: 0, lastError: expect.stringContaining('[1205]') });

    server.faults.dropNext(/CHANGETABLE\(CHANGES \[dbo\]\.\[job\]/);
    await exec("UPDATE dbo.job SET state = N'polled' WHERE id = 2");
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(realm.objectForPrimaryKey<{ state: string }>('Job', 2)!.state).toBe('polled');
    expect(server.faults.pending()).toBe(0);
    expect(connector.status().state).toBe('streaming');

    server.faults.failNext({ number: 229, message: "The UPDATE permission was denied on the object 'job'.", state: 5, class: 14 }, /UPDATE \[dbo\]\.\[job\]/);
    realm.write(() => (realm.objectForPrimaryKey<{ state: string }>('Job', 1)!.state = 'denied'));
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await until(() => connector.status().state === 'failed', 'the connector to stop');
    expect(connector.status()).toMatchObject({ lastErrorCode: 'CONNECTOR_APPLY_CONFIGURATION', lastError: expect.stringContaining('[229]') });
    expect((await exec('SELECT state FROM dbo.job WHERE id = 1')).recordset).toEqual([{ state: 'running' }]);
  });

  test('a refusal (a value too long for its column, 2628) rejects that realm transaction into a dead letter and resets its objects; later ones flow', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.tag (id int NOT NULL PRIMARY KEY, name nvarchar(5) NULL)');
    await exec('ALTER TABLE dbo.tag ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.tag (id, name) VALUES (1, N'ok')");
    const config = f.config(server, 'refused', { realm: '/refused', tables: { tag: { type: 'Tag' } } });
    const connector = await f.start(config);
    const realm = await f.client('/refused');
    realm.write(() => (realm.objectForPrimaryKey<{ name: string }>('Tag', 1)!.name = 'much too long'));
    realm.write(() => realm.create('Tag', { id: 2, name: 'fine' }));
    await realm.syncSession!.uploadAllLocalChanges(60_000);
    await connector.quiesce(60_000);
    await realm.syncSession!.downloadAllServerChanges(60_000);
    expect(realm.objectForPrimaryKey<{ name: string }>('Tag', 1)!.name).toBe('ok');
    expect((await exec('SELECT id, name FROM dbo.tag ORDER BY id')).recordset).toEqual([{ id: 1, name: 'ok' }, { id: 2, name: 'fine' }]);
    expect(connector.status().apply).toMatchObject({ rejected: 1, deadLetters: 1 });
    const letters = (await exec("SELECT code, error_number FROM dbo.tributary_dead_letter WHERE connector = N'refused'")).recordset;
    expect(letters).toEqual([{ code: 'CONNECTOR_APPLY_REFUSED', error_number: '2628' }]);
  });
});

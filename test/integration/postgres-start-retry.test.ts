import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, startWithRetry, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest, until } from '../helpers/pg-connector-fixture';
import { describePostgres, type TestDatabase } from '../helpers/postgres';

// A connector process that dies leaves its sessions to PostgreSQL for a moment: its replication
// origin (and slot) stay "active for PID n" (SQLSTATE 55006) until the server notices. A start in
// that moment — or while the database is restarting — must wait and retry, as a connection lost
// later is retried; a start that cannot succeed (a mapped table that does not exist) must not.

describePostgres('postgres connector: start retries transient failures only', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let holder: Client | null = null;
  const lines: { level: string; msg: string; code?: string; attempt?: number }[] = [];
  const log = new JsonLogger('warn', {}, (line) => lines.push(JSON.parse(line)));
  const config = (tables: PostgresConnectorConfig['tables'] = { note: { type: 'Note', realm: '/start-retry' } }): PostgresConnectorConfig => ({
    name: 'start_retry',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    tables,
  });

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('start_retry', "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note VALUES (1, 'one')"));
  });
  afterAll(async () => {
    await holder?.end().catch(() => undefined);
    await closeConnectorTest({ fx, db }, connector);
  });

  test('a replication origin still held by another session: the start waits, retries and then streams', async () => {
    // Another session holds the connector's origin, as the session of a just-killed process does.
    holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("SELECT pg_replication_origin_create('tributary_start_retry')");
    await holder.query("SELECT pg_replication_origin_session_setup('tributary_start_retry')");

    let attempts = 0;
    const started = startWithRetry({
      create: () => new PostgresConnector(config(), { adminUser: fx.admin, log }),
      log,
      initialDelayMs: 100,
      maxDelayMs: 400,
      onAttempt: (c) => {
        attempts++;
        connector = c;
      },
    });
    await until(() => attempts >= 3, 'three start attempts');
    await holder.query('SELECT pg_replication_origin_session_reset()'); // the dead session goes away
    connector = await started;

    const retries = lines.filter((l) => l.msg === 'postgres connector: start failed; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((l) => l.code === '55006')).toBe(true);
    // The failed attempts' walsender may still hold the slot for a moment: the stream retries too.
    await until(() => connector!.status().state === 'streaming', 'the stream to run');
    // The failed attempts left nothing streaming behind: one walsender, the started connector's.
    const walsenders = async () => (await db.sql.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender' AND datname = current_database()")).rows[0].n as number;
    await until(async () => (await walsenders()) === 1, 'one walsender', 20_000);
    // The slot and the load made by the failed attempts are reused, not redone.
    expect((await db.sql.query("SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = 'tributary_start_retry'")).rows[0].n).toBe(1);
    await db.sql.query("UPDATE note SET body = 'changed' WHERE id = 1");
    await connector.quiesce(60_000);
    const realm = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/start-retry' }, path: path.join(fx.dir, 'client.db') });
    try {
      expect(realm.objectForPrimaryKey<any>('Note', 1).body).toBe('changed');
    } finally {
      realm.close();
    }
    await connector.stop();
    connector = null;
    await until(async () => (await walsenders()) === 0, 'no walsender after stop', 20_000);
  }, 120_000);

  test('a permanent failure is thrown at once, with its code', async () => {
    let attempts = 0;
    const failed = startWithRetry({
      create: () => new PostgresConnector(config({ missing_table: { type: 'Missing', realm: '/start-retry' } }), { adminUser: fx.admin, log }),
      log,
      initialDelayMs: 100,
      onAttempt: () => attempts++,
    });
    await expect(failed).rejects.toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining('missing_table') });
    expect(attempts).toBe(1);
  }, 60_000);
});

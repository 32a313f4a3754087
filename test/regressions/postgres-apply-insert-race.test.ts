import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest, until } from '../helpers/pg-connector-fixture';
import { describePostgres, type TestDatabase } from '../helpers/postgres';

// Apply locks the rows a batch touches before its WAL barrier, but a lock cannot cover a row that
// does not exist yet. When a database transaction inserted the same key as a new realm object
// and committed after the lock, apply's INSERT failed with 23505 and the realm transaction was
// *rejected* as if PostgreSQL had refused its value (CI: `rejected: 1` in the concurrent-writers
// test). Such a batch is now run again, so its lock holds the row and the conflict policy decides.

describePostgres('regression: a database INSERT racing a new realm object is merged, not rejected', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let client: Realm | null = null;
  let other: Client | null = null;
  const config = (): PostgresConnectorConfig => ({
    name: 'insert_race',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    conflict: 'realm-wins',
    tables: { churn: { type: 'Churn', realm: '/insert-race' } },
  });

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('apply_insert_race', "CREATE TABLE churn (id int PRIMARY KEY, label text); INSERT INTO churn VALUES (1, 'seed')"));
  });
  afterAll(async () => {
    await other?.end().catch(() => undefined);
    await closeConnectorTest({ fx, db }, connector, client);
  });

  test('the realm object and the racing row end equal, by the policy (realm-wins), with nothing rejected', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    client = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/insert-race' }, path: path.join(fx.dir, 'client.db') });
    await client.syncSession!.downloadAllServerChanges(20_000);

    // Another session inserts key 7 and keeps its transaction open: the unique index entry is taken.
    other = new Client({ connectionString: db.url });
    await other.connect();
    await other.query('BEGIN');
    await other.query("INSERT INTO churn VALUES (7, 'db')");

    client.write(() => client!.create('Churn', { id: 7, label: 'realm' }));
    await client.syncSession!.uploadAllLocalChanges(20_000);
    // Apply locked nothing for key 7 (no row yet) and now waits in its INSERT on the open transaction.
    await until(
      async () => (await db.sql.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'tributary_insert_race_apply' AND wait_event_type = 'Lock'")).rows.length > 0,
      'apply waiting on the uncommitted row',
    );
    await other.query('COMMIT');

    await connector.quiesce(60_000);
    await client.syncSession!.downloadAllServerChanges(20_000);
    expect((await db.sql.query('SELECT label FROM churn WHERE id = 7')).rows).toEqual([{ label: 'realm' }]);
    expect(client.objectForPrimaryKey<any>('Churn', 7).label).toBe('realm');
    expect(connector!.status().apply).toMatchObject({ rejected: 0, retrying: 0 });
    expect(connector!.status().apply!.races).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

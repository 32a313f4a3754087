import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest } from '../helpers/pg-connector-fixture';
import { describePostgres, type TestDatabase } from '../helpers/postgres';

// The write-back of what PostgreSQL stored compared every column of the returned row with the
// realm's current object. When a later realm transaction had already changed a column the batch
// did not write (the crash loop: `at` set in the next transaction), the row's older value
// counted as "changed by PostgreSQL" and was written into the realm over the newer one, which
// then went to PostgreSQL too: a realm write lost.

describePostgres('regression: a batch does not write back columns it did not write', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let client: Realm | null = null;
  const config = (): PostgresConnectorConfig => ({
    name: 'unwritten',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    applyBatch: 1, // one realm transaction per PostgreSQL transaction: the first runs while the second is already in the realm
    tables: { note: { type: 'Note', realm: '/unwritten' } },
  });

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('apply_unwritten', "CREATE TABLE note (id int PRIMARY KEY, body text, score int); INSERT INTO note VALUES (1, 'old', 1)"));
  });
  afterAll(() => closeConnectorTest({ fx, db }, connector, client));

  test('a newer realm value of another column survives the earlier transaction being applied', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    client = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/unwritten' }, path: path.join(fx.dir, 'client.db') });
    await client.syncSession!.downloadAllServerChanges(20_000);
    await connector.stop();

    // While the connector is stopped: two realm transactions on different columns of one row.
    client.write(() => (client!.objectForPrimaryKey<any>('Note', 1).body = 'new body'));
    client.write(() => (client!.objectForPrimaryKey<any>('Note', 1).score = 2));
    await client.syncSession!.uploadAllLocalChanges(20_000);

    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    await connector.quiesce(60_000);
    await client.syncSession!.downloadAllServerChanges(20_000);
    expect((await db.sql.query('SELECT body, score FROM note WHERE id = 1')).rows[0]).toEqual({ body: 'new body', score: 2 });
    expect({ body: client.objectForPrimaryKey<any>('Note', 1).body, score: client.objectForPrimaryKey<any>('Note', 1).score }).toEqual({ body: 'new body', score: 2 });
    expect(connector.status().apply).toMatchObject({ applied: 2, batches: 2, rejected: 0 });
  });
});

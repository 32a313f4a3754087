import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { createTestDatabase, describePostgres, describePostgresBinaries, urlForDatabase, type TestDatabase } from '../helpers/postgres';
import { findPostgresBin, startTestCluster, stopTestCluster } from '../helpers/postgres-cluster';

describePostgres('postgres connector: configuration errors say what to change', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  const base = (over: Partial<PostgresConnectorConfig> = {}): PostgresConnectorConfig => ({
    name: 'cfg',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    tables: { thing: {} },
    ...over,
  });
  const startError = async (config: PostgresConnectorConfig): Promise<{ code: string; message: string }> => {
    const c = new PostgresConnector(config, { adminUser: fx.admin });
    try {
      await c.start();
    } catch (e) {
      return e as { code: string; message: string };
    }
    await c.stop();
    throw new Error('start() succeeded');
  };

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('config');
    await db.sql.query(`
      CREATE TABLE thing (id int PRIMARY KEY, label text);
      CREATE TABLE loose (a int, b text);
      CREATE TABLE full_loose (a int, b text); ALTER TABLE full_loose REPLICA IDENTITY FULL;
      CREATE ROLE plain LOGIN;`);
  });
  afterAll(async () => {
    await db?.sql.query('DROP ROLE IF EXISTS plain').catch(() => undefined);
    await fx?.dispose();
    await db?.dispose();
  });

  test('malformed config shapes are CONFIG_INVALID naming the field', () => {
    expect(() => new PostgresConnector({ ...base(), name: 'Bad Name' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('name') }));
    expect(() => new PostgresConnector({ ...base(), tables: { thing: { realm: 'no-slash' } } })).toThrow(/tables\.thing\.realm: a realm path must start with '\/'/);
    expect(() => new PostgresConnector({ ...base(), initialLoad: 'from-somewhere' as never })).toThrow(/initialLoad.*'from-database', 'from-realm' or 'none'/);
    expect(() => new PostgresConnector({ ...base(), conflict: 'client-wins' as never })).toThrow(/conflict.*'database-wins' or 'realm-wins'/);
  });

  test('an unknown table, column, key or follow column: CONNECTOR_MAPPING_INVALID listing what exists', async () => {
    expect(await startError(base({ tables: { nope: {} } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringMatching(/public\.nope does not exist; tables in public: .*thing/) });
    expect(await startError(base({ tables: { thing: { columns: { lable: 'name' } } } }))).toMatchObject({
      code: 'CONNECTOR_MAPPING_INVALID',
      message: expect.stringContaining("tables.thing.columns names column 'lable', which public.thing does not have; its columns: id, label"),
    });
    expect(await startError(base({ tables: { thing: { realm: '/x/{shop}' } } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining("tables.thing.realm names column 'shop'") });
    expect(await startError(base({ tables: { thing: { realm: { follow: 'label' } } } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining('not a single-column foreign key') });
  });

  test('a table without primary key or REPLICA IDENTITY FULL: PG_REPLICA_IDENTITY with the ALTER TABLE to run', async () => {
    expect(await startError(base({ tables: { loose: {} } }))).toMatchObject({ code: 'PG_REPLICA_IDENTITY', message: expect.stringContaining('ALTER TABLE public.loose REPLICA IDENTITY FULL') });
    expect(await startError(base({ tables: { full_loose: {} } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining('declare primaryKey') });
  });

  test('a role without REPLICATION: PG_REPLICATION_PRIVILEGE with the ALTER ROLE to run', async () => {
    const u = new URL(db.url);
    u.username = 'plain';
    expect(await startError(base({ database: u.toString() }))).toMatchObject({ code: 'PG_REPLICATION_PRIVILEGE', message: expect.stringContaining('ALTER ROLE "plain" WITH REPLICATION') });
  });

  describePostgresBinaries('on a cluster of its own', () => {
    test('wal_level other than logical: PG_WAL_LEVEL_NOT_LOGICAL saying what to set', async () => {
      const cluster = await startTestCluster(findPostgresBin()!, { wal_level: 'replica' });
      try {
        const c = new Client({ connectionString: cluster.url });
        await c.connect();
        await c.query('CREATE TABLE thing (id int PRIMARY KEY)');
        await c.end();
        expect(await startError(base({ database: urlForDatabase(cluster.url, 'postgres') }))).toMatchObject({
          code: 'PG_WAL_LEVEL_NOT_LOGICAL',
          message: expect.stringContaining('wal_level = replica; logical replication needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical'),
        });
      } finally {
        stopTestCluster(cluster);
      }
    });
  });

  test("one realm per schema (the default placement '/{schema}') with initialLoad 'none'", async () => {
    await db.sql.query("INSERT INTO thing VALUES (1, 'before')");
    const c = new PostgresConnector(base({ name: 'schema_mode', initialLoad: 'none', localPath: path.join(fx.dir, 'schema-mode') }), { adminUser: fx.admin });
    await c.start();
    try {
      await db.sql.query("INSERT INTO thing VALUES (2, 'after')");
      await c.caughtUp();
      const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/public' }, path: path.join(fx.dir, 'schema-client.db') });
      expect(r.objects<any>('thing').map((t: any) => [t.id, t.label])).toEqual([[2, 'after']]);
      r.close();
    } finally {
      await c.stop();
    }
  });
});

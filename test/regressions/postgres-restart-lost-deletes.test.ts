import * as path from 'node:path';
import { PostgresConnector } from '../../connectors/postgres';
import { resolveMapping } from '../../connectors/postgres/mapping';
import { validateConfig } from '../../connectors/postgres/config';
import { Realm } from '../../src/realm';
import { compareTablesWithRealms, formatComparison } from '../helpers/pg-compare';
import { closeConnectorTest, openConnectorTest, type ConnectorTest } from '../helpers/pg-connector-fixture';
import { ConnectorProcess } from '../helpers/pg-connector-process';
import { describePostgres } from '../helpers/postgres';
import { LEGACY_MAIN, LEGACY_SCHEMA, legacyConfig, legacyRegion } from '../fixtures/legacy-schema';

// The key → realm index of rows placed by template or by following a foreign key was rebuilt at
// every start from the tables as they are *now*. A delete committed while the connector was
// stopped (or not yet confirmed when it was killed) is replayed from the slot, but its row is no
// longer in the tables, so the delete found no realm and was dropped without a word: the objects
// stayed in the realms for good. So did a row moved to another realm while the connector was down,
// and a side-table list's row deleted meanwhile (its index is read from the side table at start).

const PATHS = [LEGACY_MAIN, legacyRegion(1), legacyRegion(2), legacyRegion(3)];

describePostgres('regression: deletes and moves committed while the connector is stopped or killed reach the realms', () => {
  let t: ConnectorTest;
  let connector: PostgresConnector | null = null;
  const realms = new Map<string, Realm>();
  const logs: string[] = [];
  let proc: ConnectorProcess | null = null;

  const base = () => legacyConfig({ name: 'restart', database: t.db.url, serverUrl: t.fx.realmUrl, localPath: path.join(t.fx.dir, 'connector') });
  const open = async (p: string): Promise<Realm> => {
    let r = realms.get(p);
    if (!r) {
      r = await Realm.open({ sync: { user: t.fx.admin, url: t.fx.realmUrl + p }, path: path.join(t.fx.dir, 'clients', `${p.replace(/\//g, '_')}.db`) });
      realms.set(p, r);
    }
    return r;
  };
  const compare = async () => {
    const config = base();
    const mapping = await resolveMapping(t.db.sql, config, validateConfig(config).resolved);
    const placed = new Set(['shop', 'shelf', 'shelf_item']); // the tables placed by template and by following keys
    return formatComparison((await compareTablesWithRealms(t.db.sql, mapping, open, PATHS)).filter((r) => placed.has(r.table)));
  };

  beforeAll(async () => {
    t = await openConnectorTest('restart_deletes', LEGACY_SCHEMA);
  });
  afterAll(async () => {
    await proc?.kill();
    await closeConnectorTest(t, connector, ...realms.values());
  });

  test('stopped: parents with children, followed rows and moves', async () => {
    connector = new PostgresConnector(base(), { adminUser: t.fx.admin });
    await connector.start();
    await t.db.sql.query("INSERT INTO shop VALUES (5, 1, 'North 3')");
    await connector.quiesce();
    await connector.stop();

    await t.db.sql.query('DELETE FROM shop WHERE id = 2'); // shelf 21 and its item go by cascade
    await t.db.sql.query("DELETE FROM shelf_item WHERE shelf_id = 31 AND sku = 'lime'");
    await t.db.sql.query('DELETE FROM shelf WHERE id = 12');
    await t.db.sql.query('UPDATE shop SET region = 2 WHERE id = 5');
    await t.db.sql.query("BEGIN; INSERT INTO shop VALUES (6, 3, 'East'); INSERT INTO shelf VALUES (61, 6, 'x'); INSERT INTO shelf_item VALUES (61, 'yam', 1); COMMIT");
    await t.db.sql.query('DELETE FROM shop WHERE id = 6');
    await t.db.sql.query("DELETE FROM team_tag WHERE tag = 'infra'; UPDATE team_tag SET pos = 5 WHERE tag = 'etl'"); // a side-table list's row: its delete carries only its id

    connector = new PostgresConnector(base(), { adminUser: t.fx.admin });
    try {
      await connector.start();
      await connector.quiesce();
      const main = await open(LEGACY_MAIN);
      expect({
        comparison: await compare(),
        shopsInRegion1: [...(await open(legacyRegion(1))).objects<any>('Shop')].map((s) => s.id).sort(),
        teamTags: [10, 20].map((id) => [...main.objectForPrimaryKey<any>('Team', id).tags]),
      }).toEqual({ comparison: expect.not.stringMatching(/DIFFERENT/), shopsInRegion1: [1], teamTags: [['core'], ['etl']] });
    } finally {
      await connector.stop();
      connector = null;
    }
  }, 120_000);

  test('killed: deletes committed just before SIGKILL, not yet confirmed', async () => {
    const config = { ...base(), adminToken: t.fx.adminToken };
    proc = ConnectorProcess.spawn(config as unknown as Record<string, unknown>, path.join(t.fx.dir, 'child'), logs);
    await proc.ready;
    await proc.quiesce();
    await t.db.sql.query("BEGIN; INSERT INTO shop VALUES (7, 3, 'East 2'); INSERT INTO shelf VALUES (71, 7, 'y'), (72, 7, 'z'); INSERT INTO shelf_item VALUES (71, 'oat', 1), (72, 'rye', 2); COMMIT");
    await proc.quiesce();
    await t.db.sql.query('DELETE FROM shelf WHERE id = 71');
    await t.db.sql.query('DELETE FROM shop WHERE id = 1');
    await proc.kill();
    await t.db.sql.query("DELETE FROM shelf_item WHERE shelf_id = 72");
    proc = ConnectorProcess.spawn(config as unknown as Record<string, unknown>, path.join(t.fx.dir, 'child'), logs);
    await proc.ready;
    await proc.quiesce();
    expect(await compare()).not.toMatch(/DIFFERENT/);
    expect([...(await open(legacyRegion(3))).objects<any>('Shelf')].map((s) => s.id).sort()).toEqual([72]);
    await proc.stop();
    proc = null;
  }, 120_000);
});

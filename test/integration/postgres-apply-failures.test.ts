import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, postgresConnectorStatus } from '../../connectors/postgres';
import { Decimal128 } from '../../src/model';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { tributary } from '../helpers/cli-run';
import { closeConnectorTest, openConnectorTest, until, type ConnectorTest } from '../helpers/pg-connector-fixture';
import { describePostgres } from '../helpers/postgres';
import { LEGACY_MAIN, LEGACY_SCHEMA, legacyConfig } from '../fixtures/legacy-schema';

// Realm → PostgreSQL failures, classified by code: a refusal (here a trigger's RAISE, SQLSTATE
// P0001, which is neither class 22 nor 23) is rejected into a dead-letter record and the realm's
// later transactions keep flowing; an object a client deletes while its batch runs
// (OBJECT_INVALIDATED) is a race, retried at once and not an error; a configuration problem stops
// the connector with a code and keeps the realm transactions for the next start.

describePostgres('postgres connector: apply failures (refusals, races, configuration)', () => {
  let t: ConnectorTest;
  let connector: PostgresConnector;
  let main: Realm;
  let configFile: string;
  const lines: { level: string; msg: string; [k: string]: unknown }[] = [];
  const config = () => legacyConfig({ name: 'failures', database: t.db.url, serverUrl: t.fx.realmUrl, localPath: path.join(t.fx.dir, 'connector') });
  const obj = (type: string, key: unknown) => main.objectForPrimaryKey<any>(type, key as never);
  const row = async (text: string, values: unknown[] = []) => (await t.db.sql.query(text, values)).rows[0] ?? null;
  const start = async () => {
    connector = new PostgresConnector(config(), { adminUser: t.fx.admin, log: new JsonLogger('debug', {}, (l) => lines.push(JSON.parse(l))) });
    await connector.start();
  };

  beforeAll(async () => {
    t = await openConnectorTest('apply_failures', LEGACY_SCHEMA);
    configFile = path.join(t.fx.dir, 'failures.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...config(), adminToken: t.fx.adminToken }));
    await start();
    main = await Realm.open({ sync: { user: t.fx.admin, url: t.fx.realmUrl + LEGACY_MAIN }, path: path.join(t.fx.dir, 'client.db') });
    await main.syncSession!.downloadAllServerChanges(30_000);
  }, 90_000);
  afterAll(async () => closeConnectorTest(t, connector, main));

  test('a refused transaction becomes a dead letter, its objects are reset, later transactions flow', async () => {
    main.write(() => (obj('Order', 101).total = new Decimal128('-5')));
    main.write(() => (obj('Team', 10).name = 'Platform 2'));
    await main.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await row('SELECT name FROM team WHERE id = 10')).name === 'Platform 2', 'the later transaction in PostgreSQL', 20_000);
    await connector.quiesce();
    await main.syncSession!.downloadAllServerChanges(20_000);
    expect(obj('Order', 101).total.toString()).toBe('3.00');
    expect(connector.status().apply).toMatchObject({ rejected: 1, deadLetters: 1, retrying: 0 });

    const letters = await connector.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ realmPath: LEGACY_MAIN, code: 'CONNECTOR_APPLY_REFUSED', sqlstate: 'P0001', objects: [{ type: 'Order', key: 101 }] });
    expect(letters[0].error).toMatch(/order 101: total must not be negative/);
    expect(JSON.stringify(letters[0].instructions)).toMatch(/"type":"SET".*"total":"-5"/);
    const refusal = lines.find((l) => l.code === 'CONNECTOR_APPLY_REFUSED');
    expect(refusal).toMatchObject({ level: 'warn', sqlstate: 'P0001' });

    const status = await tributary(['connector', 'postgres', 'status', '--config', configFile]);
    expect(status.stdout).toMatch(new RegExp(`^dead letters +1: #${letters[0].id} ${LEGACY_MAIN} txn \\d+ CONNECTOR_APPLY_REFUSED \\[P0001\\] order 101: total must not be negative$`, 'm'));
    expect((await postgresConnectorStatus(configFile)).status.deadLetters).toMatchObject({ count: 1, oldest: [{ id: letters[0].id, instructions: letters[0].instructions }] });
    const cleared = await tributary(['connector', 'postgres', 'clear-dead-letters', '--config', configFile, '--id', String(letters[0].id)]);
    expect([cleared.code, cleared.stdout, cleared.stderr]).toEqual([0, 'cleared 1 dead letter\n', '']);
    expect(await connector.deadLetters()).toEqual([]);
    expect((await postgresConnectorStatus(configFile)).text).toMatch(/^dead letters +none$/m);
  });

  test('an object a client deletes while its batch is being written is a race, run again at once, not an error', async () => {
    await t.db.sql.query("INSERT INTO team VALUES (40, 'Doomed', NULL)");
    await connector.caughtUp();
    await until(async () => {
      await main.syncSession!.downloadAllServerChanges(20_000);
      return obj('Team', 40);
    }, 'team 40 in the realm', 20_000);
    const connectorCopy = (connector as unknown as { sink: { realm(p: string): Realm } }).sink.realm(LEGACY_MAIN);
    const query = Client.prototype.query;
    let armed = true;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
      if (armed && typeof text === 'string' && text.startsWith('UPDATE "public"."team"')) {
        armed = false; // a client deletes team 40 after the batch read it, before the batch writes it
        return (async () => {
          main.write(() => main.delete(obj('Team', 40)));
          await main.syncSession!.uploadAllLocalChanges(20_000);
          await connectorCopy.syncSession!.downloadAllServerChanges(20_000);
          return (query as (...a: unknown[]) => unknown).apply(this, args);
        })();
      }
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    const before = lines.length;
    try {
      main.write(() => {
        obj('Team', 30).name = 'Renamed in the race';
        obj('Team', 40).name = 'Gone soon';
      });
      await main.syncSession!.uploadAllLocalChanges(20_000);
      await until(async () => (await row('SELECT count(*) AS n FROM team WHERE id = 40')).n === '0', 'team 40 deleted in PostgreSQL', 20_000);
    } finally {
      spy.mockRestore();
    }
    await connector.quiesce();
    expect(armed).toBe(false);
    expect((await row('SELECT name FROM team WHERE id = 30')).name).toBe('Renamed in the race');
    expect(lines.slice(before).filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    expect(connector.status().apply).toMatchObject({ rejected: 1, retrying: 0, races: expect.any(Number) });
    expect(connector.status().apply!.races).toBeGreaterThanOrEqual(1);
  });

  test('a configuration problem (a written column was dropped) stops the connector with a code; the next start applies the transaction', async () => {
    await t.db.sql.query('ALTER TABLE legacy_log DROP COLUMN note');
    main.write(() => (obj('LegacyLog', 'boot').note = 'the column is gone'));
    await main.syncSession!.uploadAllLocalChanges(20_000);
    await until(() => connector.status().state === 'failed', 'the connector to stop', 20_000);
    const s = connector.status();
    expect([s.lastErrorCode, s.apply?.deadLetters]).toEqual(['CONNECTOR_APPLY_CONFIGURATION', 1]); // the refusal of the first test only
    expect(s.lastError).toMatch(/legacy_log.*\[42703\]/);
    expect(lines.filter((l) => l.level === 'error' && l.code === 'CONNECTOR_APPLY_CONFIGURATION')).toHaveLength(1);
    await expect(connector.caughtUp(5_000)).rejects.toMatchObject({ code: 'CONNECTOR_APPLY_CONFIGURATION' });
    await connector.stop();

    await start(); // the mapping no longer has the column: the transaction applies, its property is reported as unmapped
    await connector.quiesce();
    expect(connector.status().apply).toMatchObject({ applied: 1, skippedInstructions: 1, deadLetters: 0 });
    expect(connector.status().state).toBe('streaming');
  });
});

import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { LEGACY_MAIN, LEGACY_SCHEMA, legacyConfig } from '../fixtures/legacy-schema';
import { closeConnectorTest, openConnectorTest, type ConnectorTest } from './pg-connector-fixture';

/**
 * A connector on the legacy schema (test/fixtures/legacy-schema.sql) with a client of its main
 * realm and every log line kept, for tests of one class of behaviour each.
 */
export interface LegacyTest {
  t: ConnectorTest;
  connector: PostgresConnector;
  /** A client of /legacy/main, downloaded. */
  main: Realm;
  /** Every connector log line ({ level, msg, …fields }). */
  lines: { level: string; msg: string; [k: string]: unknown }[];
  obj(type: string, key: unknown): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The first row of a query, or null. */
  row(text: string, values?: unknown[]): Promise<Record<string, any> | null>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Uploads the client's writes, settles the connector, downloads what came back. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function openLegacy(prefix: string, extra: Partial<PostgresConnectorConfig> = {}): Promise<LegacyTest> {
  const t = await openConnectorTest(prefix, LEGACY_SCHEMA);
  const lines: LegacyTest['lines'] = [];
  const connector = new PostgresConnector(legacyConfig({ name: prefix, database: t.db.url, serverUrl: t.fx.realmUrl, localPath: path.join(t.fx.dir, 'connector'), ...extra }), {
    adminUser: t.fx.admin,
    log: new JsonLogger('debug', {}, (l) => {
      lines.push(JSON.parse(l));
      if (process.env.TRIBUTARY_TEST_LOG) process.stderr.write(l + '\n'); // to watch a failing test's connector
    }),
  });
  await connector.start();
  const main = await Realm.open({ sync: { user: t.fx.admin, url: t.fx.realmUrl + LEGACY_MAIN }, path: path.join(t.fx.dir, 'client-main.db') });
  await main.syncSession!.downloadAllServerChanges(30_000);
  return {
    t,
    connector,
    main,
    lines,
    obj: (type, key) => main.objectForPrimaryKey(type, key as never),
    row: async (text, values = []) => (await t.db.sql.query(text, values)).rows[0] ?? null,
    async settle() {
      await main.syncSession!.uploadAllLocalChanges(20_000);
      await connector.quiesce(60_000);
      await main.syncSession!.downloadAllServerChanges(20_000);
    },
    close: () => closeConnectorTest(t, connector, main),
  };
}

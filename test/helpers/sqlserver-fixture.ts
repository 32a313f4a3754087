import * as path from 'node:path';
import sql from 'mssql';
import type { Connector } from '../../connectors/contract';
import { loadConnectorModule } from '../../connectors/registry';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { startTdsTestServer, type TdsTestServer } from '../tds-server';
import type { DatabaseOptions } from '../tds-server/engine/database';
import { adminFixture, type AdminFixture } from './admin-runtime';

/**
 * The SQL Server connector's own tests: a Tributary server, a scripted TDS server per test (or a
 * database set up by the test), connectors created through the registry, realm clients.
 */
export class SqlServerFixture {
  readonly logs: string[] = [];
  readonly log = new JsonLogger('warn', {}, (line) => this.logs.push(line));
  private readonly connectors: Connector[] = [];
  private readonly realms: Realm[] = [];
  private readonly servers: { server: TdsTestServer; pool: sql.ConnectionPool }[] = [];
  private clients = 0;

  private constructor(readonly fx: AdminFixture) {}

  static async open(): Promise<SqlServerFixture> {
    return new SqlServerFixture(await adminFixture());
  }

  /** A fresh scripted SQL Server (Change Tracking and snapshot isolation on unless said otherwise) and a pool on it. */
  async server(options: DatabaseOptions = { changeTracking: true, allowSnapshotIsolation: true }): Promise<{ server: TdsTestServer; pool: sql.ConnectionPool; exec: (text: string) => Promise<sql.IResult<Record<string, unknown>>> }> {
    const server = await startTdsTestServer({ database: options });
    const pool = await new sql.ConnectionPool(server.config()).connect();
    this.servers.push({ server, pool });
    return { server, pool, exec: (text) => pool.request().query(text) };
  }

  config(server: TdsTestServer, name: string, rest: Record<string, unknown>): Record<string, unknown> {
    return { name, serverUrl: this.fx.realmUrl, adminToken: this.fx.adminToken, localPath: path.join(this.fx.dir, `connector-${name}-${this.clients++}`), database: server.config(), pollIntervalMs: 10, maxPollIntervalMs: 100, ...rest };
  }

  create(config: Record<string, unknown>): Connector {
    const c = loadConnectorModule('sqlserver').create(config, { log: this.log });
    this.connectors.push(c);
    return c;
  }

  async start(config: Record<string, unknown>): Promise<Connector> {
    const c = this.create(config);
    await c.start();
    return c;
  }

  async client(realmPath: string, schema?: object[]): Promise<Realm> {
    const r = await Realm.open({ ...(schema ? { schema: schema as never } : {}), sync: { user: this.fx.admin, url: this.fx.realmUrl + realmPath }, path: path.join(this.fx.dir, 'clients', `c${this.clients++}.db`) });
    this.realms.push(r);
    await r.syncSession!.downloadAllServerChanges(60_000);
    return r;
  }

  async dispose(): Promise<void> {
    for (const c of this.connectors) await c.stop().catch(() => undefined);
    for (const r of this.realms) if (!r.isClosed) r.close();
    await this.fx.dispose();
    for (const s of this.servers) {
      await s.pool.close().catch(() => undefined);
      await s.server.stop();
    }
  }
}

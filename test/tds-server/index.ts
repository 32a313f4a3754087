/**
 * A scripted TDS (SQL Server wire protocol) server for connector tests, so the real `mssql` /
 * `tedious` driver can be exercised without a SQL Server. It listens on a random loopback port,
 * logs in any user (or only the configured one), answers what a connector sends from an
 * in-memory engine with Change Tracking, and lets a test script answers and inject faults.
 * Test infrastructure only: never shipped. See README.md beside this file for what it covers.
 *
 * @example
 * const server = await startTdsTestServer({ database: { changeTracking: true } });
 * const pool = await new sql.ConnectionPool(server.config()).connect();
 * await pool.request().query('CREATE TABLE t (id int PRIMARY KEY, name nvarchar(50))');
 * server.faults.deadlockNext(/UPDATE/);
 * await server.stop();
 */
import { AddressInfo, Server, Socket, createServer } from 'node:net';
import { Database, DatabaseOptions } from './engine/database';
import { SqlError, errors } from './engine/errors';
import { TdsConnection } from './server/connection';
import { ScriptedError, TdsHandler, sqlErrorOf } from './server/handler';
import { Fault, RequestRecord, ServerHooks } from './server/types';

export type { TdsAnswer, TdsHandler, TdsStatementInfo, ScriptedResultSet, ScriptedColumn, ScriptedError } from './server/handler';
export type { RequestRecord } from './server/types';
export { Database } from './engine/database';
export { SqlError } from './engine/errors';

export interface TdsTestServerOptions {
  /** Sees each statement first; may answer it, fail it, or drop the connection. */
  handler?: TdsHandler;
  /** The in-memory database, or options for a new one (name, Change Tracking, snapshot isolation). */
  database?: Database | DatabaseOptions;
  /** When set, only this user and password log in; others get error 18456. */
  login?: { user: string; password: string };
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

export interface TdsFaults {
  /** The next statement (matching `match`) fails as a deadlock victim (1205); its transaction is rolled back. */
  deadlockNext(match?: RegExp): void;
  /** The next statement (matching `match`) fails with this error. */
  failNext(error: ScriptedError | SqlError, match?: RegExp): void;
  /** The connection running the next statement (matching `match`) is dropped without an answer. */
  dropNext(match?: RegExp): void;
  /** Destroys every open connection now. */
  dropAll(): void;
  /** Faults queued and not yet used. */
  pending(): number;
}

export interface TdsTestServer {
  host: string;
  port: number;
  database: Database;
  faults: TdsFaults;
  /** Every login and request received, in order (parameters decoded). */
  requests: RequestRecord[];
  /** Open connections. */
  connectionCount(): number;
  /** A `mssql` ConnectionPool config for this server (unencrypted: the server never negotiates TLS). */
  config(overrides?: { user?: string; password?: string; database?: string }): {
    server: string; port: number; user: string; password: string; database?: string;
    options: { encrypt: false; trustServerCertificate: true };
    pool: { max: number; min: number };
  };
  stop(): Promise<void>;
}

export async function startTdsTestServer(options: TdsTestServerOptions = {}): Promise<TdsTestServer> {
  const db = options.database instanceof Database ? options.database : new Database(options.database);
  const host = options.host ?? '127.0.0.1';
  const connections = new Set<TdsConnection>();
  const sockets = new Set<Socket>();
  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  let nextSpid = 51;
  const hooks: ServerHooks = {
    handler: options.handler,
    login: options.login,
    takeFault(statement) {
      const i = faults.findIndex((f) => !f.match || f.match.test(statement));
      return i < 0 ? undefined : faults.splice(i, 1)[0];
    },
    record(r) {
      requests.push(r);
    },
    onClose(c) {
      connections.delete(c as TdsConnection);
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    connections.add(new TdsConnection(socket, db, hooks, nextSpid++));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let spidForDeadlock = 0;
  return {
    host,
    port,
    database: db,
    requests,
    faults: {
      deadlockNext(match) {
        faults.push({ kind: 'error', error: errors.deadlock(51 + (spidForDeadlock++ % 50)), match });
      },
      failNext(error, match) {
        faults.push({ kind: 'error', error: error instanceof SqlError ? error : sqlErrorOf(error), match });
      },
      dropNext(match) {
        faults.push({ kind: 'drop', match });
      },
      dropAll() {
        for (const c of [...connections]) c.close();
      },
      pending: () => faults.length,
    },
    connectionCount: () => connections.size,
    config(overrides = {}) {
      return {
        server: host, port, user: overrides.user ?? options.login?.user ?? 'sa', password: overrides.password ?? options.login?.password ?? 'unused',
        database: overrides.database ?? db.name,
        options: { encrypt: false, trustServerCertificate: true },
        pool: { max: 4, min: 0 },
      };
    },
    async stop() {
      for (const c of [...connections]) c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Where the driver-level tests run: the scripted TDS server by default, or a real SQL Server
 * when MSSQL_URL is set (mssql://user:password@host:port/database). Tests written against a
 * Target use only T-SQL, so the same file checks the scripted server against SQL Server itself;
 * tests that need the scripted server's hooks (faults, request log) skip on a real one.
 */
import sql from 'mssql';
import { TdsTestServer, TdsTestServerOptions, startTdsTestServer } from '../index';

export interface Target {
  config: sql.config;
  /** The scripted server, when the tests run against it. */
  scripted?: TdsTestServer;
  pool: sql.ConnectionPool;
  close(): Promise<void>;
}

export const REAL_SERVER = process.env.MSSQL_URL;

export function configFromUrl(url: string): sql.config {
  const u = new URL(url);
  return {
    server: u.hostname,
    port: Number(u.port || 1433),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, '') || undefined,
    options: { encrypt: false, trustServerCertificate: true },
    pool: { max: 4, min: 0 },
  };
}

export async function openTarget(options: TdsTestServerOptions = {}): Promise<Target> {
  let scripted: TdsTestServer | undefined;
  let config: sql.config;
  if (REAL_SERVER) config = configFromUrl(REAL_SERVER);
  else {
    scripted = await startTdsTestServer(options);
    config = scripted.config();
  }
  const pool = await new sql.ConnectionPool(config).connect();
  return {
    config,
    scripted,
    pool,
    async close() {
      await pool.close();
      await scripted?.stop();
    },
  };
}

/** Enables Change Tracking and snapshot isolation on the database, as the README's set-up does. */
export async function enableDatabaseFeatures(pool: sql.ConnectionPool): Promise<void> {
  await pool.request().batch(
    'IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID()) ' +
      'ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);',
  );
  await pool.request().batch('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;');
}

/** Drops the tables (children first) if they exist. */
export async function dropTables(pool: sql.ConnectionPool, ...names: string[]): Promise<void> {
  for (const n of names) await pool.request().batch(`DROP TABLE IF EXISTS ${n};`);
}

/** Runs a test only against the scripted server (it needs its hooks). */
export const scriptedOnly = REAL_SERVER ? test.skip : test;

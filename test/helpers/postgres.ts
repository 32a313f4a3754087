import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { findPostgresBin } from './postgres-cluster';

const REPO = path.resolve(__dirname, '..', '..');

/** The test PostgreSQL (from the jest globalSetup or TRIBUTARY_TEST_PG_URL), or null. */
export const testPgUrl: string | null = process.env.TRIBUTARY_TEST_PG_URL || null;

/** `describe` when `skipReason` is null, else `describe.skip` with the reason printed once. */
function describeUnless(skipReason: string | null, name: string, fn: () => void): void {
  if (skipReason === null) {
    describe(name, fn);
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`skipping PostgreSQL tests "${name}": ${skipReason}`);
  describe.skip(name, fn);
}

/** `describe` when the test PostgreSQL is there, else `describe.skip` with the reason printed once. */
export function describePostgres(name: string, fn: () => void): void {
  describeUnless(testPgUrl ? null : (process.env.TRIBUTARY_TEST_PG_SKIP ?? 'TRIBUTARY_TEST_PG_URL is not set'), name, fn);
}

/**
 * For tests that start a PostgreSQL cluster of their own (settings the shared one must not have,
 * such as `wal_level = replica`): `describe` when the binaries are on this machine, else
 * `describe.skip` saying so. The shared test PostgreSQL may come from TRIBUTARY_TEST_PG_URL
 * without any binaries here, so {@link describePostgres} alone does not promise them.
 */
export function describePostgresBinaries(name: string, fn: () => void): void {
  describeUnless(findPostgresBin() ? null : 'no PostgreSQL binaries to start a cluster with (install postgresql-15, or set TRIBUTARY_TEST_PG_BIN)', name, fn);
}

export function urlForDatabase(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = '/' + database;
  return u.toString();
}

export interface TestDatabase extends AsyncDisposable {
  name: string;
  url: string;
  /** A connected client for the test's own SQL (closed on dispose). */
  sql: Client;
  dispose(): Promise<void>;
}

let seq = 0;

/** A fresh database per test file; dispose drops its replication slots, sessions and the database. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  if (!testPgUrl) throw new Error('no test PostgreSQL');
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${seq++}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: testPgUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = urlForDatabase(testPgUrl, name);
  const sql = new Client({ connectionString: url });
  await sql.connect();
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await sql.end().catch(() => undefined);
    const c = new Client({ connectionString: testPgUrl });
    await c.connect();
    try {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      for (let i = 0; i < 50; i++) {
        const slots = await c.query('SELECT slot_name, active FROM pg_replication_slots WHERE database = $1', [name]);
        if (slots.rows.length === 0) break;
        for (const s of slots.rows) if (!s.active) await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await c.end();
    }
  };
  return { name, url, sql, dispose, [Symbol.asyncDispose]: dispose };
}

/**
 * Where the Pagila sample is looked for: the folder in TRIBUTARY_PAGILA_DIR when it is set (and
 * only there), else `../shared/data/pagila` beside the repository (where the workplace keeps it).
 */
export function pagilaLocation(): { dir: string; from: string } {
  const fromEnv = process.env.TRIBUTARY_PAGILA_DIR;
  if (fromEnv) return { dir: path.resolve(fromEnv), from: 'TRIBUTARY_PAGILA_DIR' };
  return { dir: path.resolve(REPO, '..', 'shared', 'data', 'pagila'), from: 'beside the repository' };
}

/** The Pagila sample folder (pagila-schema.sql and pagila-data.sql), or null when it is not there. */
export function pagilaDir(): string | null {
  const { dir } = pagilaLocation();
  return fs.existsSync(path.join(dir, 'pagila-schema.sql')) && fs.existsSync(path.join(dir, 'pagila-data.sql')) ? dir : null;
}

/** {@link describePostgres} for tests that load Pagila: they also need the sample and psql, else they skip saying which is missing. */
export function describePagila(name: string, fn: () => void): void {
  const { dir, from } = pagilaLocation();
  const skipReason = !testPgUrl
    ? (process.env.TRIBUTARY_TEST_PG_SKIP ?? 'TRIBUTARY_TEST_PG_URL is not set')
    : !pagilaDir()
      ? `no Pagila sample (pagila-schema.sql, pagila-data.sql) in ${dir} (${from}); set TRIBUTARY_PAGILA_DIR to its folder`
      : !hasPsql()
        ? 'psql is not installed (it loads Pagila)'
        : null;
  describeUnless(skipReason, name, fn);
}

/** Loads Pagila with psql (its data is COPY … FROM stdin, which node-postgres cannot run as text). */
export function loadPagila(url: string, dir: string): void {
  const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', path.join(dir, 'pagila-schema.sql'), '-f', path.join(dir, 'pagila-data.sql')], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`loading Pagila failed: ${r.stderr || r.error}`);
}

export function hasPsql(): boolean {
  return spawnSync('psql', ['--version'], { encoding: 'utf8' }).status === 0;
}

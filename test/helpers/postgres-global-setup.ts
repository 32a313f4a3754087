import { findPostgresBin, startTestCluster } from './postgres-cluster';

/**
 * jest globalSetup: starts the throw-away PostgreSQL for connector tests and passes its URL to the
 * workers in TRIBUTARY_TEST_PG_URL. A URL already set there is used as is (nothing is started);
 * TRIBUTARY_TEST_PG=off starts nothing. Without PostgreSQL binaries the Postgres tests skip and
 * say why (TRIBUTARY_TEST_PG_SKIP).
 */
export default async function postgresGlobalSetup(): Promise<void> {
  if (process.env.TRIBUTARY_TEST_PG_URL) return;
  if (process.env.TRIBUTARY_TEST_PG === 'off') {
    process.env.TRIBUTARY_TEST_PG_SKIP = 'TRIBUTARY_TEST_PG=off';
    return;
  }
  const bin = findPostgresBin();
  if (!bin) {
    process.env.TRIBUTARY_TEST_PG_SKIP = 'no PostgreSQL binaries (install postgresql-15, or set TRIBUTARY_TEST_PG_URL / TRIBUTARY_TEST_PG_BIN)';
    return;
  }
  try {
    const cluster = await startTestCluster(bin);
    (globalThis as { __tributaryPgCluster?: unknown }).__tributaryPgCluster = cluster;
    process.env.TRIBUTARY_TEST_PG_URL = cluster.url;
  } catch (e) {
    process.env.TRIBUTARY_TEST_PG_SKIP = `the test PostgreSQL did not start: ${(e as Error).message.split('\n')[0]}`;
  }
}

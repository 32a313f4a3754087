import type { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from './admin-runtime';
import { createTestDatabase, type TestDatabase } from './postgres';

/** What a connector test file sets up once: an in-process server with an admin user, and a fresh database. */
export interface ConnectorTest {
  fx: AdminFixture;
  db: TestDatabase;
}

/** For `beforeAll`: the server and a database named after `prefix`, with `schema` run in it. */
export async function openConnectorTest(prefix: string, schema?: string): Promise<ConnectorTest> {
  const fx = await adminFixture();
  const db = await createTestDatabase(prefix);
  if (schema) await db.sql.query(schema);
  return { fx, db };
}

/** For `afterAll`: closes the client realms, stops the connector, then disposes server and database. */
export async function closeConnectorTest(t: Partial<ConnectorTest>, connector: { stop(): Promise<void> } | null | undefined, ...realms: (Realm | null | undefined)[]): Promise<void> {
  for (const r of realms) if (r && !r.isClosed) r.close();
  await connector?.stop();
  await t.fx?.dispose();
  await t.db?.dispose();
}

/** Polls `check` until it returns a value other than false / null / undefined, and returns it. */
export async function until<T>(check: () => Promise<T | false | null | undefined> | T | false | null | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== false && v !== null && v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { createTestDatabase, describePostgres } from '../helpers/postgres';

describePostgres('postgres harness', () => {
  test('a fresh database with wal_level=logical', async () => {
    const db = await createTestDatabase('smoke');
    try {
      const r = await db.sql.query('SHOW wal_level');
      expect(r.rows[0].wal_level).toBe('logical');
    } finally {
      await db.dispose();
    }
  });
});

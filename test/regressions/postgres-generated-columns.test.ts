import { UUID } from '../../src/model';
import { until } from '../helpers/pg-connector-fixture';
import { openLegacy, type LegacyTest } from '../helpers/legacy-connector';
import { describePostgres } from '../helpers/postgres';

// pgoutput does not send GENERATED ALWAYS AS … STORED columns, so a row inserted in SQL reached
// the realm with the property null (the initial load had read its value), and an update left the
// old value. Apply wrote every mapped column, the generated one too: PostgreSQL refused the INSERT
// with 428C9, which was not counted as a refusal (only classes 22 and 23 were), so the batch was
// retried forever and every later change of that realm stalled behind it.

const uuid = (n: number) => new UUID(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);

describePostgres('regression: generated columns, both ways', () => {
  let l: LegacyTest;
  beforeAll(async () => {
    l = await openLegacy('generated');
  }, 90_000);
  afterAll(async () => l?.close());

  test('rows inserted and updated in SQL arrive with the values PostgreSQL computed', async () => {
    expect(l.obj('User', uuid(1)).display).toBe('alice (1)'); // the initial load reads it
    await l.t.db.sql.query(`INSERT INTO "user" (id, "select", "group") VALUES ($1, 'carol', 5)`, [uuid(3).toString()]);
    await l.t.db.sql.query(`UPDATE "user" SET "group" = 7 WHERE id = $1`, [uuid(2).toString()]);
    await l.settle();
    expect([l.obj('User', uuid(3))?.display, l.obj('User', uuid(2)).display]).toEqual(['carol (5)', 'it\'s "bob" (7)']);
    expect(l.connector.status().generatedReadBack).toBeGreaterThanOrEqual(2);
  });

  test('a client creates and edits such rows: PostgreSQL computes the column, the realm gets it, later transactions flow', async () => {
    l.main.write(() => {
      l.main.create('User', { id: uuid(4), select: 'dave', group: 2, display: 'set by the client' });
      l.obj('User', uuid(3)).group = 6;
    });
    l.main.write(() => (l.obj('User', uuid(1)).display = 'only the generated property'));
    l.main.write(() => (l.obj('Team', 30).name = 'Still empty'));
    await l.main.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await l.row('SELECT name FROM team WHERE id = 30'))?.name === 'Still empty', 'the later transaction in PostgreSQL', 20_000);
    await l.settle();
    expect((await l.row(`SELECT display FROM "user" WHERE id = $1`, [uuid(4).toString()]))?.display).toBe('dave (2)');
    expect([l.obj('User', uuid(4)).display, l.obj('User', uuid(3)).display, l.obj('User', uuid(1)).display]).toEqual(['dave (2)', 'carol (6)', 'alice (1)']);
    expect(l.connector.status().apply).toMatchObject({ rejected: 0, failed: 0, retrying: 0, lastError: null });
  });
});

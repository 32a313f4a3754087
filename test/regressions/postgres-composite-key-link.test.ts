import { until } from '../helpers/pg-connector-fixture';
import { openLegacy, type LegacyTest } from '../helpers/legacy-connector';
import { describePostgres } from '../helpers/postgres';

// A composite key that holds a foreign key mapped as a link (membership (team_id, employee_id),
// both links; Pagila's film_actor): apply wrote the key columns from the key and then each link's
// column again, so a client's INSERT failed with 42701 "column … specified more than once" and
// was retried forever. Key columns and link columns now merge: the key writes them, and the link
// follows the key.

describePostgres('regression: a client writes rows whose composite key holds a linked foreign key', () => {
  let l: LegacyTest;
  beforeAll(async () => {
    l = await openLegacy('composite_link');
  }, 90_000);
  afterAll(async () => l?.close());

  test('creates (links set, unset, or pointing elsewhere), edits and deletes reach PostgreSQL; the links follow the key', async () => {
    l.main.write(() => {
      l.main.create('Membership', { key: '30|4', team_id: 30, employee_id: 4, team: l.obj('Team', 30), employee: l.obj('Employee', 4), since: new Date('2024-02-03T00:00:00Z') });
      l.main.create('Membership', { key: '30|1', team_id: 30, employee_id: 1, since: new Date('2024-02-04T00:00:00Z') });
      l.main.create('Membership', { key: '20|1', team_id: 20, employee_id: 1, team: l.obj('Team', 10), since: new Date('2024-02-05T00:00:00Z') });
    });
    await l.main.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => Number((await l.row('SELECT count(*) AS n FROM membership WHERE (team_id, employee_id) IN ((30, 4), (30, 1), (20, 1))'))!.n) === 3, 'the memberships in PostgreSQL', 20_000);
    await l.settle();
    const links = (k: string) => [l.obj('Membership', k).team?.id, l.obj('Membership', k).employee?.id];
    expect([links('30|4'), links('30|1'), links('20|1')]).toEqual([[30, 4], [30, 1], [20, 1]]);

    l.main.write(() => (l.obj('Membership', '30|4').since = new Date('2025-01-01T00:00:00Z')));
    l.main.write(() => l.main.delete(l.obj('Membership', '30|1')));
    await l.settle();
    expect((await l.t.db.sql.query("SELECT team_id, employee_id, since::text FROM membership WHERE team_id = 30 ORDER BY 2")).rows).toEqual([{ team_id: 30, employee_id: 4, since: '2025-01-01' }]);
    expect(l.connector.status().apply).toMatchObject({ rejected: 0, failed: 0, retrying: 0, lastError: null });
  });
});

import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector } from '../../connectors/postgres';
import { Decimal128 } from '../../src/model';
import { Realm } from '../../src/realm';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { compareTablesWithRealms, formatComparison, normalizeDecimal } from '../helpers/pg-compare';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';

// The apply side writes with the connector's replication origin, so capture skips those
// transactions. Whatever PostgreSQL itself made of a realm write (a BEFORE trigger, a column's
// scale, a date's truncation) therefore never reached the realm: Pagila's film.last_update and
// film.fulltext stayed stale in the realm after a client edited a film.

const SCHEMA = `
  CREATE TABLE note (
    id int PRIMARY KEY,
    body text NOT NULL,
    words tsvector,
    price numeric(6,2),
    due date,
    touched timestamptz NOT NULL DEFAULT now()
  );
  CREATE FUNCTION note_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched = '2030-01-02 03:04:05.678+00'; RETURN NEW; END $$;
  CREATE TRIGGER note_touch BEFORE UPDATE ON note FOR EACH ROW EXECUTE FUNCTION note_touch();
  CREATE TRIGGER note_words BEFORE INSERT OR UPDATE ON note FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(words, 'pg_catalog.english', body);
  INSERT INTO note (id, body, price) VALUES (1, 'first note', 1.5);
`;

describePostgres('regression: values PostgreSQL changes while applying a realm write reach the realm', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector;
  let realm: Realm;

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('apply_trigger');
    await db.sql.query(SCHEMA);
    connector = new PostgresConnector(
      { name: 'notes', database: db.url, serverUrl: fx.realmUrl, localPath: path.join(fx.dir, 'connector'), heartbeatIntervalMs: 0, realm: '/notes', tables: { note: { type: 'Note' } } },
      { adminUser: fx.admin },
    );
    await connector.start();
    realm = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/notes' }, path: path.join(fx.dir, 'client.db') });
  }, 60_000);
  afterAll(async () => {
    if (realm && !realm.isClosed) realm.close();
    await connector?.stop();
    await fx?.dispose();
    await db?.dispose();
  });

  test('trigger-set columns, numeric scale and date truncation come back to the realm; tables equal the realm', async () => {
    realm.write(() => {
      const n = realm.objectForPrimaryKey<any>('Note', 1);
      n.body = 'edited by a client';
      n.price = new Decimal128('2.5');
      realm.create('Note', { id: 2, body: 'created by a client', price: new Decimal128('3'), due: new Date('2024-05-06T07:08:09Z'), touched: new Date('2024-01-01T00:00:00Z') });
    });
    await realm.syncSession!.uploadAllLocalChanges(20_000);
    await connector.quiesce();
    await realm.syncSession!.downloadAllServerChanges(20_000);

    const one = realm.objectForPrimaryKey<any>('Note', 1);
    const two = realm.objectForPrimaryKey<any>('Note', 2);
    expect([one.words, one.price.toString(), one.touched.toISOString()]).toEqual(["'client':4 'edit':1", '2.50', '2030-01-02T03:04:05.678Z']);
    expect([two.words, two.price.toString(), two.due.toISOString(), two.touched.toISOString()]).toEqual(["'client':4 'creat':1", '3.00', '2024-05-06T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);

    const results = await compareTablesWithRealms(db.sql, connector.mapping, () => realm);
    expect(results.map((r) => ({ table: r.table, rows: r.rows, objects: r.objects, equal: r.equal, firstDifferences: r.firstDifferences }))).toEqual([
      { table: 'note', rows: 2, objects: 2, equal: true, firstDifferences: [] },
    ]);
    expect(formatComparison(results)).toBe('note → Note: 2 rows, 2 objects, equal');
    expect(connector.status().apply).toMatchObject({ rejected: 0, lastError: null });
  });

  test('the comparison reports what the realm does not hold: rows written with the connector origin, which capture never delivers', async () => {
    await connector.stop(); // frees the origin for this session
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query("SELECT pg_replication_origin_session_setup('tributary_notes')");
      await other.query("UPDATE note SET body = 'behind the connector''s back', price = 9 WHERE id = 2");
      await other.query("INSERT INTO note (id, body) VALUES (3, 'unseen')");
    } finally {
      await other.end();
    }
    const [note] = await compareTablesWithRealms(db.sql, connector.mapping, () => realm);
    expect([note.rows, note.objects, note.equal, note.rowsHash === note.objectsHash]).toEqual([3, 2, false, false]);
    expect(note.firstDifferences).toHaveLength(2);
    expect(note.firstDifferences[0]).toMatch(/^\/notes number:2: body db="behind the connector's back" realm="created by a client"; price db="dec:9" realm="dec:3"; touched db=\d+ realm=\d+; words db=.* realm=.*$/);
    expect(note.firstDifferences[1]).toMatch(/^number:3: db=\["\/notes","number:3",.*"unseen".*\] realm=\(no object\)$/);
    expect(formatComparison([note])).toMatch(/^note → Note: 3 rows, 2 objects, DIFFERENT\n    \/notes number:2: /);
  });
});

test('decimals compare by value', () => {
  expect(['3.50', '3.5', '+03.500', '0.35e1', '35e-1'].map(normalizeDecimal)).toEqual(['3.5', '3.5', '3.5', '3.5', '3.5']);
  expect(['0', '-0.00', '100', '1e3', '-0.001', '12.3400e-5', 'NaN'].map(normalizeDecimal)).toEqual(['0', '0', '100', '1000', '-0.001', '0.0001234', 'NaN']);
});

import * as path from 'node:path';
import { PostgresConnector, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Realm } from '../../src/realm';
import type { AdminFixture } from '../helpers/admin-runtime';
import { closeConnectorTest, openConnectorTest } from '../helpers/pg-connector-fixture';
import { describePagila, describePostgres, loadPagila, pagilaDir, type TestDatabase } from '../helpers/postgres';
import { Prng, testSeed } from '../helpers/prng';

const SCHEMA = `
  CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE book (id int PRIMARY KEY, title text NOT NULL, code text UNIQUE);
  CREATE TABLE book_author (id serial PRIMARY KEY, book_id int NOT NULL REFERENCES book(id), author_id int NOT NULL REFERENCES author(id), position int NOT NULL, UNIQUE (book_id, position));
  CREATE TABLE book_tag (book_id int NOT NULL REFERENCES book(id), pos int NOT NULL, tag text NOT NULL, PRIMARY KEY (book_id, pos));
  CREATE TABLE book_reader (book_id int NOT NULL REFERENCES book(id), reader_id int NOT NULL REFERENCES author(id), PRIMARY KEY (book_id, reader_id));
  INSERT INTO author VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy'), (4, 'Di');
  INSERT INTO book VALUES (1, 'One', 'b1'), (2, 'Two', 'b2');
  INSERT INTO book_author (book_id, author_id, position) VALUES (1, 3, 2), (1, 1, 0), (1, 2, 1);
  INSERT INTO book_tag VALUES (1, 1, 'b'), (1, 0, 'a');
  INSERT INTO book_reader VALUES (1, 4), (1, 2);

  -- Side tables the validation refuses.
  CREATE TABLE loose (book_id int REFERENCES book(id), x int);
  CREATE TABLE by_code (book_code text REFERENCES book(code), x int, PRIMARY KEY (book_code, x));
  CREATE TABLE no_fk (book_id int, x int, PRIMARY KEY (book_id, x));
  CREATE TABLE bad_pos (book_id int REFERENCES book(id), x int, p text, PRIMARY KEY (book_id, x));
  CREATE TABLE needs (book_id int REFERENCES book(id), x int, must text NOT NULL, PRIMARY KEY (book_id, x));
`;

const LISTS = {
  authors: { table: 'book_author', owner: 'book_id', value: 'author_id', position: 'position' },
  tags: { table: 'book_tag', owner: 'book_id', value: 'tag', position: 'pos' },
  readers: { table: 'book_reader', owner: 'book_id', value: 'reader_id' },
};

async function until<T>(check: () => Promise<T | false> | T | false, what: string, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describePostgres('postgres connector: lists ↔ side tables', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let realm: Realm;

  const config = (tables: PostgresConnectorConfig['tables'] = { author: { type: 'Author', realm: '/lib/data' }, book: { type: 'Book', realm: '/lib/data', lists: LISTS } }): PostgresConnectorConfig => ({
    name: 'lists',
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, 'connector'),
    heartbeatIntervalMs: 0,
    tables,
  });
  const book = (id: number) => realm.objectForPrimaryKey<any>('Book', id);
  const authors = (id: number) => (book(id) ? Array.from(book(id).authors as Iterable<any>, (a) => a.id as number) : null);
  const tags = (id: number) => (book(id) ? Array.from(book(id).tags as Iterable<string>) : null);
  const readers = (id: number) => (book(id) ? Array.from(book(id).readers as Iterable<any>, (a) => a.id as number) : null);
  const rows = async (q: string, params: unknown[] = []) => (await db.sql.query(q, params)).rows;
  const dbAuthors = async (id: number) => rows('SELECT author_id, position FROM book_author WHERE book_id = $1 ORDER BY position', [id]);
  const dbTags = async (id: number) => rows('SELECT tag, pos FROM book_tag WHERE book_id = $1 ORDER BY pos', [id]);
  const asPositions = <T>(values: T[], name: string, pos: string) => values.map((v, i) => ({ [name]: v, [pos]: i }));
  const write = async (fn: (r: Realm) => void) => {
    realm.write(() => fn(realm));
    await realm.syncSession!.uploadAllLocalChanges(20_000);
  };
  const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const realmShows = (what: string, read: () => unknown, expected: unknown) => until(() => sameJson(read(), expected), `${what} = ${JSON.stringify(expected)} in the client (has ${JSON.stringify(read())})`);
  const dbShows = (what: string, read: () => Promise<unknown>, expected: unknown) => until(async () => sameJson(await read(), expected), `${what} = ${JSON.stringify(expected)} in PostgreSQL`);

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('lists', SCHEMA));
  });
  afterAll(() => closeConnectorTest({ fx, db }, connector, realm));

  test('the mapping is validated at start with coded errors', async () => {
    expect(() => new PostgresConnector(config({ book: { lists: { authors: { table: 'book_author', owner: 'book_id' } as never } } }), { adminUser: fx.admin })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('tables.book.lists.authors.value') }),
    );
    const refused = async (lists: Record<string, unknown>, code: string, message: string, extra: PostgresConnectorConfig['tables'] = {}) => {
      const c = new PostgresConnector(config({ author: {}, book: { lists: lists as never }, ...extra }), { adminUser: fx.admin });
      await expect(c.start()).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
    };
    await refused({ x: { table: 'nope', owner: 'book_id', value: 'x' } }, 'CONNECTOR_MAPPING_INVALID', 'table public.nope does not exist; tables in public: ');
    await refused({ x: { table: 'book_tag', owner: 'book_id', value: 'nope' } }, 'CONNECTOR_MAPPING_INVALID', "tables.book.lists.x.value names column 'nope', which public.book_tag does not have; its columns: book_id, pos, tag");
    await refused({ x: { table: 'book_tag', owner: 'book_id', value: 'tag' } }, 'CONNECTOR_MAPPING_INVALID', 'book_tag is already mapped as type book_tag', { book_tag: {} });
    await refused({ x: { table: 'no_fk', owner: 'book_id', value: 'x' } }, 'CONNECTOR_MAPPING_INVALID', 'no_fk.book_id is not a foreign key to book');
    await refused({ x: { table: 'by_code', owner: 'book_code', value: 'x' } }, 'CONNECTOR_MAPPING_INVALID', 'by_code.book_code references book(code), not its key id');
    await refused({ x: { table: 'loose', owner: 'book_id', value: 'x' } }, 'PG_REPLICA_IDENTITY', 'side table public.loose (tables.book.lists.x) has no primary key');
    await refused({ x: { table: 'bad_pos', owner: 'book_id', value: 'x', position: 'p' } }, 'CONNECTOR_MAPPING_INVALID', 'bad_pos.p is text; a position column must be smallint, integer or bigint');
    await refused({ x: { table: 'needs', owner: 'book_id', value: 'x' } }, 'CONNECTOR_MAPPING_INVALID', 'column needs.must is NOT NULL without a default');
    await refused({ title: { table: 'book_tag', owner: 'book_id', value: 'tag' } }, 'CONNECTOR_MAPPING_INVALID', "property 'title' is already a property of book");
    await refused({ x: { table: 'book_tag', owner: 'book_id', value: 'tag', position: 'pos' }, y: { table: 'book_tag', owner: 'book_id', value: 'tag' } }, 'CONNECTOR_MAPPING_INVALID', 'book_tag already backs tables.book.lists.x');
  });

  test('initial load, then database inserts / deletes / reorders reach the client list in order', async () => {
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    realm = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/lib/data' }, path: path.join(fx.dir, 'clients', 'lib.db') });
    await realm.syncSession!.downloadAllServerChanges(20_000);
    expect(authors(1)).toEqual([1, 2, 3]); // by position
    expect(tags(1)).toEqual(['a', 'b']);
    expect(readers(1)).toEqual([2, 4]); // no position column: by value
    expect(authors(2)).toEqual([]);
    expect(connector.status().indexedRows).toBe(7);

    await db.sql.query('INSERT INTO book_author (book_id, author_id, position) VALUES (1, 4, 3)');
    await realmShows('authors of 1', () => authors(1), [1, 2, 3, 4]);
    // A reorder in one transaction, through a free position (the unique index is checked row by row).
    let notifications = 0;
    const listener = () => notifications++;
    book(1).authors.addListener(listener);
    await db.sql.query('BEGIN');
    await db.sql.query('UPDATE book_author SET position = -1 WHERE book_id = 1 AND author_id = 1');
    await db.sql.query('UPDATE book_author SET position = 0 WHERE book_id = 1 AND author_id = 3');
    await db.sql.query('UPDATE book_author SET position = 2 WHERE book_id = 1 AND author_id = 1');
    await db.sql.query('COMMIT');
    await realmShows('authors of 1', () => authors(1), [3, 2, 1, 4]);
    await connector.caughtUp();
    await realm.syncSession!.downloadAllServerChanges(20_000);
    book(1).authors.removeListener(listener);
    expect(notifications).toBeGreaterThanOrEqual(1);
    expect(notifications).toBeLessThanOrEqual(2); // at most the initial call and one change: the transaction came as one
    await db.sql.query('DELETE FROM book_author WHERE book_id = 1 AND author_id = 2');
    await realmShows('authors of 1', () => authors(1), [3, 1, 4]);

    // The position is part of book_tag's key: an update of it changes the row's identity.
    await db.sql.query("UPDATE book_tag SET pos = 5 WHERE book_id = 1 AND tag = 'a'");
    await realmShows('tags of 1', () => tags(1), ['b', 'a']);
    await db.sql.query("INSERT INTO book_tag VALUES (2, 0, 'x'), (2, 1, 'y')");
    await realmShows('tags of 2', () => tags(2), ['x', 'y']);
    await db.sql.query('INSERT INTO book_reader VALUES (1, 1)');
    await realmShows('readers of 1', () => readers(1), [1, 2, 4]);
    // A new owner and its rows in one transaction; the rows come after it in the WAL.
    await db.sql.query("BEGIN; INSERT INTO book VALUES (5, 'Five', 'b5'); INSERT INTO book_author (book_id, author_id, position) VALUES (5, 2, 1), (5, 3, 0); COMMIT");
    await realmShows('authors of 5', () => authors(5), [3, 2]);
  });

  test('client list edits (push, insert, remove, move, clear) reach the side tables in order, unchanged rows untouched, without echo', async () => {
    await connector!.caughtUp();
    await realm.syncSession!.downloadAllServerChanges(20_000);
    const foreign = () => connector!.status().transactions - connector!.status().skippedOwnTransactions;
    const foreignBefore = foreign();
    const ownBefore = connector!.status().skippedOwnTransactions;
    let clientChanges = 0;
    realm.addListener('change', () => clientChanges++);
    const a = (id: number) => realm.objectForPrimaryKey<any>('Author', id);

    const versions = async () => new Map((await rows('SELECT id, position, xmin::text AS x FROM book_author WHERE book_id = 1')).map((r) => [r.id as number, `${r.position}@${r.x}`]));
    /** Rows at the same position as before were not rewritten (same xmin); returns how many. */
    const untouched = (before: Map<number, string>, after: Map<number, string>) => {
      const same = [...after].filter(([id, v]) => before.get(id)?.split('@')[0] === v.split('@')[0]);
      for (const [id, v] of same) expect(v).toBe(before.get(id));
      return same.length;
    };
    const v0 = await versions(); // positions 0, 2, 3 after the database delete: a push renumbers to 0..n-1
    await write(() => book(1).authors.push(a(2)));
    await dbShows('book_author of 1', () => dbAuthors(1), asPositions([3, 1, 4, 2], 'author_id', 'position'));
    const v1 = await versions();
    expect(untouched(v0, v1)).toBe(1);
    await write(() => book(1).authors.splice(2, 0, a(1))); // a duplicate, in the middle
    await dbShows('book_author of 1', () => dbAuthors(1), asPositions([3, 1, 1, 4, 2], 'author_id', 'position'));
    expect(untouched(v1, await versions())).toBe(2); // the two rows before the insert
    await write(() => book(1).authors.splice(0, 1));
    await dbShows('book_author of 1', () => dbAuthors(1), asPositions([1, 1, 4, 2], 'author_id', 'position'));
    await write(() => book(1).authors.move(3, 0));
    await dbShows('book_author of 1', () => dbAuthors(1), asPositions([2, 1, 1, 4], 'author_id', 'position'));
    await write(() => book(1).authors.clear());
    await dbShows('book_author of 1', () => dbAuthors(1), []);

    await write(() => book(1).tags.push('c'));
    await dbShows('book_tag of 1', () => dbTags(1), asPositions(['b', 'a', 'c'], 'tag', 'pos'));
    await write(() => book(1).tags.splice(1, 0, 'm'));
    await dbShows('book_tag of 1', () => dbTags(1), asPositions(['b', 'm', 'a', 'c'], 'tag', 'pos'));
    await write(() => book(1).tags.move(0, 3));
    await dbShows('book_tag of 1', () => dbTags(1), asPositions(['m', 'a', 'c', 'b'], 'tag', 'pos'));
    await write(() => book(1).tags.splice(1, 2));
    await dbShows('book_tag of 1', () => dbTags(1), asPositions(['m', 'b'], 'tag', 'pos'));

    await write(() => {
      book(1).readers.push(a(3));
      book(1).readers.splice(0, 1); // Ann
    });
    await dbShows('book_reader of 1', async () => (await rows('SELECT reader_id FROM book_reader WHERE book_id = 1 ORDER BY reader_id')).map((r) => r.reader_id), [2, 3, 4]);

    // A new owner with lists: its row first, then its side rows; deleting it removes the side rows before the row.
    await write((r) => r.create('Book', { id: 3, title: 'Three', authors: [a(2), a(1)], tags: ['q'], readers: [a(4)] }));
    await dbShows('book_author of 3', () => dbAuthors(3), asPositions([2, 1], 'author_id', 'position'));
    expect(await dbTags(3)).toEqual([{ tag: 'q', pos: 0 }]);
    await write((r) => r.delete(book(3)));
    await dbShows('book 3', () => rows('SELECT id FROM book WHERE id = 3'), []);
    expect(await rows('SELECT * FROM book_author WHERE book_id = 3 UNION ALL SELECT book_id, pos, 0, 0 FROM book_tag WHERE book_id = 3')).toEqual([]);
    // Deleting a linked object removes it from every list (its side rows go before its row).
    await write((r) => r.delete(a(4)));
    await dbShows('author 4', () => rows('SELECT id FROM author WHERE id = 4'), []);
    expect(await rows('SELECT reader_id FROM book_reader WHERE reader_id = 4 UNION ALL SELECT author_id FROM book_author WHERE author_id = 4')).toEqual([]);

    clientChanges = 0; // local writes notify too; from here on only a download could
    await connector!.caughtUp();
    await realm.syncSession!.downloadAllServerChanges(20_000);
    expect(clientChanges).toBe(0);
    expect(connector!.status().skippedOwnTransactions).toBeGreaterThanOrEqual(ownBefore + 13); // one per client transaction
    expect(foreign()).toBe(foreignBefore); // no applied row came back (caughtUp markers are not counted)
    expect(connector!.status().apply).toMatchObject({ lastError: null, rejected: 0 });
    expect(authors(1)).toEqual([]);
    expect(tags(1)).toEqual(['m', 'b']);
  });

  test('seeded random edits on either side converge, positions 0..n-1', async () => {
    const seed = testSeed('postgres-lists random edits');
    const rnd = new Prng(seed);
    const words = ['p', 'q', 'r', 's', 't'];
    for (let round = 0; round < 12; round++) {
      await write(() => {
        const list = book(2).tags;
        for (let k = rnd.int(1, 3); k > 0; k--) {
          const n = list.length;
          const op = n === 0 ? 0 : rnd.int(0, 3);
          if (op === 0) list.splice(rnd.int(0, n), 0, rnd.pick(words));
          else if (op === 1) list.splice(rnd.int(0, n - 1), 1);
          else if (op === 2) list.move(rnd.int(0, n - 1), rnd.int(0, n - 1));
          else list.push(rnd.pick(words));
        }
      });
      const expected = tags(2)!;
      await dbShows(`book_tag of 2 (seed=${seed}, round ${round})`, () => dbTags(2), asPositions(expected, 'tag', 'pos'));
    }
    for (let round = 0; round < 8; round++) {
      const positions = (await dbTags(2)).map((r) => r.pos as number);
      const next = positions.length === 0 ? 0 : Math.max(...positions) + 1;
      const op = positions.length === 0 ? 0 : rnd.int(0, 2);
      if (op === 0) await db.sql.query('INSERT INTO book_tag VALUES (2, $1, $2)', [next, rnd.pick(words)]);
      else if (op === 1) await db.sql.query('DELETE FROM book_tag WHERE book_id = 2 AND pos = $1', [rnd.pick(positions)]);
      else await db.sql.query('UPDATE book_tag SET pos = $1 WHERE book_id = 2 AND pos = $2', [next, rnd.pick(positions)]);
      const expected = (await dbTags(2)).map((r) => r.tag);
      await realmShows(`tags of 2 (seed=${seed}, database round ${round})`, () => tags(2), expected);
    }
  });

  test('a list edit PostgreSQL refuses is rejected: the rows stay, the client list is reset to them', async () => {
    await db.sql.query("ALTER TABLE book_tag ADD CONSTRAINT short_tag CHECK (length(tag) < 10)");
    const rowsBefore = await dbTags(1);
    const tagsBefore = tags(1);
    expect(tagsBefore).toEqual(rowsBefore.map((r) => r.tag));
    // A good edit of book 2's authors, then a refused one of book 1's tags (alone, or isolated from its batch).
    await write(() => book(2).authors.push(realm.objectForPrimaryKey('Author', 2)));
    await write(() => {
      book(1).tags.unshift('far too long for the check');
      book(1).tags.pop();
    });
    await connector!.quiesce(60_000);
    expect(connector!.status().apply).toMatchObject({ rejected: 1 });
    expect(connector!.status().apply!.lastError).toMatch(/23514/);
    expect(await dbTags(1)).toEqual(rowsBefore);
    await realmShows('tags of 1', () => tags(1), tagsBefore);
    await dbShows('book_author of 2', () => dbAuthors(2), asPositions([2], 'author_id', 'position'));
    await db.sql.query('ALTER TABLE book_tag DROP CONSTRAINT short_tag');
    await db.sql.query("INSERT INTO book_tag VALUES (1, 50, 'z')"); // the index still matches the rows
    await realmShows('tags of 1', () => tags(1), [...tagsBefore!, 'z']);
  });

  test('restart rebuilds the index: a delete that carries only the surrogate key lands in the right list', async () => {
    await connector!.quiesce(60_000);
    await connector!.stop();
    await db.sql.query('DELETE FROM book_author WHERE book_id = 2');
    await db.sql.query('INSERT INTO book_author (book_id, author_id, position) VALUES (2, 1, 0), (2, 3, 1)');
    connector = new PostgresConnector(config(), { adminUser: fx.admin });
    await connector.start();
    await realmShows('authors of 2', () => authors(2), [1, 3]);
    expect(connector.status().indexedRows).toBe(Number((await rows('SELECT (SELECT count(*) FROM book_author) + (SELECT count(*) FROM book_tag) + (SELECT count(*) FROM book_reader) AS n'))[0].n));
    const [{ id }] = await rows('SELECT id FROM book_author WHERE book_id = 2 AND author_id = 1');
    await db.sql.query('DELETE FROM book_author WHERE id = $1', [id]); // the WAL carries id only: the index knows its book
    await realmShows('authors of 2', () => authors(2), [3]);
    await write(() => book(2).authors.unshift(realm.objectForPrimaryKey('Author', 2)));
    await dbShows('book_author of 2', () => dbAuthors(2), asPositions([2, 3], 'author_id', 'position'));
    await db.sql.query('TRUNCATE book_author');
    await realmShows('authors of 2 and 5', () => [authors(2), authors(5)], [[], []]);
  });
});

const pagila = pagilaDir();

describePagila('postgres connector: Pagila film_actor as Film.actors', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector;
  let catalog: Realm;

  beforeAll(async () => {
    ({ fx, db } = await openConnectorTest('pagila_lists'));
    loadPagila(db.url, pagila!);
    connector = new PostgresConnector(
      {
        name: 'pagila_lists',
        database: db.url,
        serverUrl: fx.realmUrl,
        localPath: path.join(fx.dir, 'connector'),
        heartbeatIntervalMs: 0,
        realm: '/pagila/catalog',
        tables: {
          language: { type: 'Language' },
          actor: { type: 'Actor' },
          film: { type: 'Film', lists: { actors: { table: 'film_actor', owner: 'film_id', value: 'actor_id' } } },
        },
      },
      { adminUser: fx.admin },
    );
    await connector.start();
    catalog = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + '/pagila/catalog' }, path: path.join(fx.dir, 'clients', 'catalog.db') });
    await catalog.syncSession!.downloadAllServerChanges(60_000);
  }, 180_000);
  afterAll(() => closeConnectorTest({ fx, db }, connector, catalog));

  const actorsOf = (film: number) => Array.from(catalog.objectForPrimaryKey<any>('Film', film).actors as Iterable<any>, (a) => a.actor_id as number);
  const dbActorsOf = async (film: number) => (await db.sql.query('SELECT actor_id FROM film_actor WHERE film_id = $1 ORDER BY actor_id', [film])).rows.map((r) => r.actor_id as number);

  test('every film lists its actors (ordered by actor_id); edits go both ways as set edits', async () => {
    let total = 0;
    for (const film of catalog.objects<any>('Film')) total += film.actors.length;
    expect(total).toBe(Number((await db.sql.query('SELECT count(*) AS n FROM film_actor')).rows[0].n));
    for (const film of [1, 2, 500, 1000]) expect(actorsOf(film)).toEqual(await dbActorsOf(film));

    const film1 = await dbActorsOf(1);
    const absent = (await db.sql.query('SELECT min(actor_id) AS a FROM actor WHERE actor_id <> ALL($1)', [film1])).rows[0].a as number;
    await db.sql.query('INSERT INTO film_actor (actor_id, film_id) VALUES ($1, 1)', [absent]);
    await until(() => sameSet(actorsOf(1), [...film1, absent]) && actorsOf(1).join() === [...film1, absent].sort((a, b) => a - b).join(), 'the new actor of film 1 in the realm');

    catalog.write(() => catalog.objectForPrimaryKey<any>('Film', 1).actors.splice(0, 1));
    await catalog.syncSession!.uploadAllLocalChanges(20_000);
    const expected = [...film1, absent].sort((a, b) => a - b).slice(1);
    await until(async () => (await dbActorsOf(1)).join() === expected.join(), 'the removed actor gone from film_actor');
    catalog.write(() => catalog.objectForPrimaryKey<any>('Film', 2).actors.push(catalog.objectForPrimaryKey('Actor', absent)));
    await catalog.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await dbActorsOf(2)).includes(absent), 'the pushed actor in film_actor');
    await connector.quiesce(60_000);
    expect(connector.status().apply).toMatchObject({ lastError: null, rejected: 0 });
  });
});

function sameSet(a: number[], b: number[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

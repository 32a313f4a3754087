import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestDatabase, describePagila, loadPagila, pagilaDir, type TestDatabase } from '../helpers/postgres';

const REPO = path.resolve(__dirname, '..', '..');
const DEMO = path.join(REPO, 'examples', 'legacy-postgres-bridge', 'demo.ts');
const TSX = pathToFileURL(path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const NAME = `pagila_demo_${process.pid}`;

const pagila = pagilaDir();

describePagila('examples/legacy-postgres-bridge/demo.ts', () => {
  let db: TestDatabase;
  let cwd: string;

  beforeAll(async () => {
    db = await createTestDatabase('pagila_demo');
    loadPagila(db.url, pagila!);
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-pagila-demo-'));
  }, 120_000);
  afterAll(async () => {
    await db?.dispose();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  /** Runs the demo as a user would (its own server in ./pagila-demo of the working directory). */
  const runDemo = () =>
    new Promise<{ code: number; lines: string[]; stderr: string }>((resolve) => {
      // Slot and replication origin names are per cluster: this run's own, apart from other Pagila tests.
      const env: NodeJS.ProcessEnv = { ...process.env, PAGILA_URL: db.url, PAGILA_CONNECTOR_NAME: NAME };
      for (const k of ['TRIBUTARY_URL', 'TRIBUTARY_ADMIN_TOKEN', 'TRIBUTARY_ADMIN_TOKEN_FILE', 'PAGILA_DEMO_DIR', 'PAGILA_LOG']) delete env[k];
      execFile(process.execPath, ['--import', TSX, DEMO], { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, lines: stdout.trim().split('\n'), stderr });
      });
    });
  const line = (lines: string[], prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? `(no line starting with "${prefix}" in:\n${lines.join('\n')})`;

  test('loads Pagila, a SQL change reaches a client, client edits (incl. a list) reach PostgreSQL; a second run resumes', async () => {
    const first = await runDemo();
    // eslint-disable-next-line no-console
    console.log(first.lines.join('\n'));
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const { lines } = first;
    expect(line(lines, 'connector: loaded 15 tables')).toMatch(/film 1000.*payment 16049/);
    expect(line(lines, 'client /pagila/catalog:')).toBe('client /pagila/catalog: 1000 films; film 1 "ACADEMY DINOSAUR" in English, special_features [Deleted Scenes, Behind the Scenes]');
    expect(line(lines, 'client sees: film 1')).toBe('client sees: film 1 special_features [Trailers, Commentaries]');
    const payment = (await db.sql.query("SELECT payment_id, rental_id FROM payment WHERE payment_date = '2022-06-01 10:05:00+00' ORDER BY payment_id")).rows;
    expect(payment).toHaveLength(1);
    expect(line(lines, 'SQL: INSERT INTO rental')).toContain(`(partition payment_p2022_06)`);
    expect(line(lines, 'client sees: payment')).toMatch(new RegExp(`^client sees: payment ${payment[0].payment_id} of 4.99 for rental ${payment[0].rental_id} \\(film \\d+, customer [A-Z]+ [A-Z]+\\)$`));
    expect(line(lines, 'client: film 1 title')).toContain('→ [Behind the Scenes, Trailers, Commentaries]');

    // What the demo printed as PostgreSQL's state is what PostgreSQL holds.
    const film = (await db.sql.query('SELECT title, special_features, fulltext::text FROM film WHERE film_id = 1')).rows[0];
    expect(film).toMatchObject({ title: 'ACADEMY DINOSAUR (REMASTERED)', special_features: ['Behind the Scenes', 'Trailers', 'Commentaries'] });
    expect(line(lines, 'PostgreSQL: film 1')).toBe("PostgreSQL: film 1 title 'ACADEMY DINOSAUR (REMASTERED)', special_features {Behind the Scenes,Trailers,Commentaries}");
    const paid = (await db.sql.query('SELECT p.amount::text, r.return_date FROM payment p JOIN rental r USING (rental_id) WHERE payment_id = $1', [payment[0].payment_id])).rows[0];
    expect([paid.amount, paid.return_date.toISOString()]).toEqual(['5.49', '2022-06-03T09:30:00.000Z']);
    expect(line(lines, 'client sees Pagila')).toContain(`fulltext ${film.fulltext}`);
    expect(line(lines, 'connector: ')).not.toContain('(no line');
    expect(lines).toContain('connector: stopped (the slot is kept: the next run resumes)');
    expect(lines[lines.length - 1]).toBe('done');

    const second = await runDemo();
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.lines).toContain(`connector: resumed from slot tributary_${NAME} (no load needed)`);
    expect(second.lines.some((l) => l.startsWith('connector: loaded'))).toBe(false);
    expect(line(second.lines, 'client /pagila/catalog:')).toBe('client /pagila/catalog: 1000 films; film 1 "ACADEMY DINOSAUR (REMASTERED)" in English, special_features [Behind the Scenes, Trailers, Commentaries]');
    expect(line(second.lines, 'client sees: film 1')).toBe('client sees: film 1 special_features [Trailers, Commentaries]');
    expect((await db.sql.query("SELECT count(*)::int AS n FROM payment WHERE payment_date = '2022-06-01 10:05:00+00'")).rows[0].n).toBe(2);
    expect((await db.sql.query('SELECT special_features FROM film WHERE film_id = 1')).rows[0].special_features).toEqual(['Behind the Scenes', 'Trailers', 'Commentaries']);
    expect(second.lines[second.lines.length - 1]).toBe('done');
  }, 600_000);
});

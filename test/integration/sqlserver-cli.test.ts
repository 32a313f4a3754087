import * as fs from 'node:fs';
import * as path from 'node:path';
import { tributary } from '../helpers/cli-run';
import { SqlServerFixture } from '../helpers/sqlserver-fixture';

/**
 * `tributary connector sqlserver …` (and its alias `mssql`) from a config file: test, run until
 * SIGTERM (a clean stop, exit 0), status, realm-schema, reset --yes.
 */
describe('tributary connector sqlserver', () => {
  let f: SqlServerFixture;
  beforeAll(async () => {
    f = await SqlServerFixture.open();
  });
  afterAll(async () => {
    await f.dispose();
  });

  test('test, run, status, realm-schema and reset from a config file; passwords never printed', async () => {
    const { server, exec } = await f.server();
    await exec('CREATE TABLE dbo.part (id int NOT NULL PRIMARY KEY, name nvarchar(50) NULL)');
    await exec('ALTER TABLE dbo.part ENABLE CHANGE_TRACKING');
    await exec("INSERT INTO dbo.part (id, name) VALUES (1, N'bolt')");
    const config = f.config(server, 'cli', { realm: '/cli', tables: { part: { type: 'Part' } } });
    const file = path.join(f.fx.dir, 'sqlserver-cli.json');
    fs.writeFileSync(file, JSON.stringify(config));
    const password = (config.database as { password: string }).password;

    const test = await tributary(['connector', 'sqlserver', 'test', '--config', file]);
    expect({ code: test.code, out: test.stdout }).toEqual({ code: 0, out: expect.stringMatching(/^ok +database .*\nok +change tracking and snapshot isolation .*\nok +mapping .*part.*\nok +sync server /) });

    let signalled = false;
    const run = await tributary(['connector', 'mssql', 'run', '--config', file], {
      onStdout: (out, child) => {
        if (signalled || !out.includes('sqlserver connector streaming')) return;
        signalled = true;
        child.kill('SIGTERM');
      },
    });
    expect(run.code).toBe(0);
    const realm = await f.client('/cli');
    expect(realm.objectForPrimaryKey<{ name: string }>('Part', 1)?.name).toBe('bolt');

    const status = await tributary(['connector', 'sqlserver', 'status', '--config', file]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/capture position {2}\d+ \(tables re-loaded: 0\)/);
    const schema = await tributary(['connector', 'sqlserver', 'realm-schema', '--config', file, '--realm', '/cli']);
    expect({ code: schema.code, schema: JSON.parse(schema.stdout) }).toEqual({ code: 0, schema: [{ name: 'Part', primaryKey: 'id', properties: { id: { type: 'int', optional: false }, name: { type: 'string', optional: true } } }] });
    const reset = await tributary(['connector', 'sqlserver', 'reset', '--yes', '--config', file]);
    expect({ code: reset.code, out: reset.stdout }).toEqual({ code: 0, out: expect.stringContaining('capture position deleted') });
    for (const r of [test, run, status, schema, reset]) expect(r.stdout + r.stderr).not.toContain(password);
  });
});

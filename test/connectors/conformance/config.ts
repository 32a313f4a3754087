import type { ConfigIssue } from '../../../connectors/kit/config-schema';
import type { DriverDatabase } from '../driver';
import type { Harness } from '../harness';

/**
 * Bad configs: every shape problem reported at once, each with a code and the path of its key,
 * unknown keys named; a mapping that does not match the database refused at start with
 * CONNECTOR_MAPPING_INVALID naming what is wrong; testConnection stopping at the first failed
 * check with its code; an unreachable database classified transient.
 */
export function configTests(h: () => Harness): void {
  let db: DriverDatabase;
  const issuesOf = (fn: () => unknown): { code: string; issues: ConfigIssue[]; message: string } => {
    try {
      fn();
    } catch (e) {
      return e as { code: string; issues: ConfigIssue[]; message: string };
    }
    throw new Error('the config was accepted');
  };
  const startError = async (config: Record<string, unknown>) => {
    const c = h().create(config);
    try {
      await c.start();
    } catch (e) {
      return e as { code: string; message: string };
    }
    await c.stop();
    throw new Error('start() succeeded');
  };

  beforeAll(async () => {
    db = await h().database('config');
    await db.createTable({ name: 'thing', key: ['id'], columns: [{ name: 'id', type: 'int' }, { name: 'label', type: 'string' }] });
  });

  test('every shape problem at once, each with a code and the path of its key; unknown keys named', () => {
    const good = h().config(db, { name: 'cf_config', realm: '/cf/config', tables: { thing: { type: 'Thing' } } });
    expect(() => h().module.create(good)).not.toThrow();
    const e = issuesOf(() => h().module.create({ ...good, name: 'Bad Name', serverUrl: 'ftp://x', conflict: 'client-wins', colour: 'blue', applyBatch: 0, tables: { thing: { type: 'Thing', realm: 'no-slash', typo: 1 } } }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.issues.map((i) => [i.path, i.code])).toEqual(
      expect.arrayContaining([
        ['name', 'CONFIG_VALUE'],
        ['serverUrl', 'CONFIG_VALUE'],
        ['conflict', 'CONFIG_VALUE'],
        ['applyBatch', 'CONFIG_VALUE'],
        ['colour', 'CONFIG_UNKNOWN_KEY'],
        ['tables.thing.realm', 'CONFIG_VALUE'],
        ['tables.thing.typo', 'CONFIG_UNKNOWN_KEY'],
      ]),
    );
    expect(e.issues).toHaveLength(7);
    for (const i of e.issues) expect(e.message).toContain(`${i.path}: ${i.message}`);
    expect(e.issues.find((i) => i.path === 'colour')!.message).toMatch(/unknown option; expected .*serverUrl.*tables/);

    const missing = issuesOf(() => h().module.create({}));
    expect(missing.issues.filter((i) => i.code === 'CONFIG_MISSING').map((i) => i.path)).toEqual(expect.arrayContaining(['name', 'serverUrl', 'localPath', 'tables']));
  });

  test('a mapping that does not match the database is refused at start, naming what is wrong', async () => {
    const base = (tables: Record<string, { type: string; realm?: string }>) => h().config(db, { name: 'cf_config', realm: '/cf/config', tables });
    expect(await startError(base({ nope: { type: 'Nope' } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining('nope') });
    expect(await startError(base({ thing: { type: 'Thing', realm: '/cf/config/{shelf}' } }))).toMatchObject({ code: 'CONNECTOR_MAPPING_INVALID', message: expect.stringContaining('shelf') });
  });

  test('testConnection checks the database, its prerequisites, the mapping and the sync server without starting; the first failure ends it with its code', async () => {
    const good = h().config(db, { name: 'cf_config', realm: '/cf/config', tables: { thing: { type: 'Thing' } } });
    const ok = await h().module.testConnection(good);
    expect(ok.ok).toBe(true);
    expect(ok.checks.every((c) => c.ok)).toBe(true);
    expect(ok.checks[0]!.name).toBe('database');
    expect(ok.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['mapping', 'sync server']));
    expect(ok.text).toMatch(/^ok {2}/m);
    const failed = async (config: Record<string, unknown>) => {
      const r = await h().module.testConnection(config);
      const last = r.checks[r.checks.length - 1]!;
      return { ok: r.ok, failedAt: last.ok ? null : last.name, code: last.code };
    };
    expect(await failed({ ...good, ...h().driver.unreachableConfig() })).toEqual({ ok: false, failedAt: 'database', code: 'CONNECTOR_SOURCE_UNAVAILABLE' });
    expect(await failed({ ...good, tables: { nope: { type: 'Nope' } } })).toEqual({ ok: false, failedAt: 'mapping', code: 'CONNECTOR_MAPPING_INVALID' });
    expect(await failed({ ...good, adminToken: 'not-a-token' })).toEqual({ ok: false, failedAt: 'sync server', code: 'AUTH_FAILED' });
  });

  test('an unreachable database fails the start with a transient, coded error (the run retries it)', async () => {
    const config = { ...h().config(db, { name: 'cf_config', realm: '/cf/config', tables: { thing: { type: 'Thing' } } }), ...h().driver.unreachableConfig() };
    const e = await startError(config);
    expect(e.code).toBe('CONNECTOR_SOURCE_UNAVAILABLE');
    expect(h().module.classify(e)).toBe('transient');
  });
}

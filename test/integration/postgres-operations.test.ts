import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresConnector, controlRealmPath, type PostgresConnectorConfig } from '../../connectors/postgres';
import { Adapter, type AdapterInstruction } from '../../src/adapter';
import { TributaryError } from '../../src/errors';
import { Realm } from '../../src/realm';
import { Server, silentLogger } from '../../src/server';
import type { LogFields, Logger } from '../../src/shared/logger';
import { adminFixture, waitFor, type AdminFixture } from '../helpers/admin-runtime';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/postgres';
import { until } from '../helpers/pg-connector-fixture';
import { tributary, type Run } from '../helpers/cli-run';
import { Prng, testSeed } from '../helpers/prng';


interface LogLine {
  level: string;
  msg: string;
  fields: LogFields;
  /** The connector's state when the line was written (logging is synchronous with the state change). */
  state: string | null;
}

/** A logger that keeps every line, with the connector's state at the moment it was written. */
function recordingLogger(stateOf: () => string | null): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (base: LogFields): Logger => {
    const at = (level: string) => (msg: string, fields: LogFields = {}) => {
      lines.push({ level, msg, fields: { ...base, ...fields }, state: stateOf() });
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => make({ ...base, ...f }) };
  };
  return Object.assign(make({}), { lines });
}


const SCHEMA = `CREATE TABLE item (id int PRIMARY KEY, title text NOT NULL);`;

describePostgres('postgres connector: operations (status, slot warnings, reset, retries, clean stop)', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let admin: Client;
  const running: PostgresConnector[] = [];
  const realms: Realm[] = [];

  const config = (name: string, over: Partial<PostgresConnectorConfig> = {}): PostgresConnectorConfig => ({
    name,
    database: db.url,
    serverUrl: fx.realmUrl,
    localPath: path.join(fx.dir, `connector-${name}`),
    heartbeatIntervalMs: 0,
    tables: { item: { type: 'Item', realm: `/ops/${name}` } },
    ...over,
  });
  const connector = (name: string, over: Partial<PostgresConnectorConfig> = {}, onProgress?: () => void) => {
    let c: PostgresConnector | null = null;
    const log = recordingLogger(() => c?.status().state ?? null);
    c = new PostgresConnector(config(name, over), { adminUser: fx.admin, log, onProgress });
    running.push(c);
    return { connector: c, log };
  };
  const client = async (realmPath: string): Promise<Realm> => {
    const r = await Realm.open({ sync: { user: fx.admin, url: fx.realmUrl + realmPath }, path: path.join(fx.dir, 'clients', `${realms.length}.db`) });
    realms.push(r);
    return r;
  };
  const slotRow = async (slot: string) => (await admin.query('SELECT active, active_pid, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0] as { active: boolean; active_pid: number | null; confirmed: string } | undefined;
  const insertRows = async (from: number, to: number, prefix = 'row') => {
    for (let id = from; id <= to; id++) await db.sql.query('INSERT INTO item VALUES ($1, $2)', [id, `${prefix} ${id}`]);
  };
  const titles = (r: Realm) =>
    r
      .objects<{ id: number; title: string }>('Item')
      .sorted('id')
      .map((o) => `${o.id}:${o.title}`);
  const dbTitles = async () => (await db.sql.query('SELECT id, title FROM item ORDER BY id')).rows.map((r) => `${r.id}:${r.title}`);

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('operations');
    await db.sql.query(SCHEMA);
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    for (const r of realms) if (!r.isClosed) r.close();
    for (const c of running) await c.stop().catch(() => undefined);
    await admin?.end();
    await fx?.dispose();
    await db?.dispose();
  });

  test('status and inspect(): slot figures, lag, commit time, apply positions; the slot check warns over budget at start and periodically', async () => {
    const { connector: c, log } = connector('stat', { retainedWalWarnBytes: 1, slotCheckIntervalMs: 100 });
    await c.start();
    const before = c.status();
    expect(before).toMatchObject({ state: 'streaming', slot: 'tributary_stat', lag: { transactions: 0, seconds: 0 }, lastError: null, lastErrorCode: null });
    // A fresh slot is reported at start only if it existed before: none here.
    expect(log.lines.filter((l) => /was inactive/.test(l.msg))).toEqual([]);

    const t0 = (await db.sql.query('SELECT now() AS t')).rows[0].t as Date;
    await insertRows(1, 5);
    await c.caughtUp();
    const s = c.status();
    expect(s.lag).toEqual({ transactions: 0, seconds: 0 });
    expect(new Date(s.lastCommitTime!).getTime()).toBeGreaterThanOrEqual(t0.getTime());
    expect(s.transactions).toBeGreaterThanOrEqual(5);

    // Every check finds more than the 1-byte budget retained, and says so loudly, every time.
    await waitFor(() => log.lines.filter((l) => l.level === 'error' && l.fields.kind === 'retained-over-budget').length >= 2, 60_000, 'two periodic over-budget warnings');
    const loud = log.lines.find((l) => l.fields.kind === 'retained-over-budget')!;
    expect(loud.msg).toMatch(/WAL RETENTION WARNING: replication slot tributary_stat retains .* of WAL, over the retainedWalWarnBytes budget of 1 bytes \(the connector is behind\)/);
    expect(loud.fields).toMatchObject({ slot: 'tributary_stat', walStatus: 'reserved', budgetBytes: 1 });
    expect(c.status().warnings.join('\n')).toMatch(/over the retainedWalWarnBytes budget/);

    const realm = await client('/ops/stat');
    realm.write(() => realm.create('Item', { id: 100, title: 'from a client' }));
    await realm.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await dbTitles()).includes('100:from a client'), 'client write applied');

    const r = await c.inspect();
    const current = (await admin.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const row = await slotRow('tributary_stat');
    expect(r.state).toBe('streaming');
    expect(r.database.slot).toMatchObject({ name: 'tributary_stat', exists: true, active: true, activePid: row!.active_pid, walStatus: 'reserved', safeWalSize: null });
    expect(r.database.slot.retainedBytes).toBeGreaterThan(0);
    expect(r.database.slot.lagBytes).toBeGreaterThanOrEqual(0);
    const lsn = (t: string) => BigInt('0x' + t.split('/')[0]) * 2n ** 32n + BigInt('0x' + t.split('/')[1]);
    expect(lsn(r.database.currentWalLsn)).toBeLessThanOrEqual(lsn(current));
    expect(r.database.publication).toEqual({ name: 'tributary_stat', exists: true, tables: ['public.item'] });
    expect(r.database.applyPositions.map((p) => p.realmPath)).toEqual(['/ops/stat']);
    expect(r.database.applyPositions[0]!.txn).toBeGreaterThan(0);
    expect(r.database.warnings.map((w) => w.kind)).toEqual(['retained-over-budget']);

    await c.stop();
    // Stopped: inspect() opens its own connection and sees the slot inactive.
    const stopped = await c.inspect();
    expect(stopped.state).toBe('stopped');
    expect(stopped.database.slot).toMatchObject({ exists: true, active: false, activePid: null });
    expect(stopped.database.warnings.map((w) => w.kind)).toEqual(['retained-over-budget', 'inactive']);
  }, 180_000);

  test('a slot left inactive while the connector was down: the start says how much WAL it held', async () => {
    const first = connector('idle');
    await first.connector.start();
    await first.connector.caughtUp();
    await first.connector.stop();
    const before = (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
    await db.sql.query("INSERT INTO item SELECT g, repeat('x', 200) FROM generate_series(1000, 3999) g");
    const written = Number((await admin.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text AS d', [before])).rows[0].d);
    expect(written).toBeGreaterThan(100_000);

    const second = connector('idle', { retainedWalWarnBytes: 64 * 1024 });
    await second.connector.start();
    const inactive = second.log.lines.filter((l) => /was inactive while the connector was down/.test(l.msg));
    expect(inactive).toHaveLength(1);
    expect(inactive[0]!.level).toBe('warn');
    expect(inactive[0]!.fields.retainedBytes as number).toBeGreaterThanOrEqual(written);
    expect(inactive[0]!.msg).toMatch(/retains \d+\.\d (KiB|MiB) of WAL/);
    // Over the 64 KiB budget too: an error-level line at start, before streaming.
    const over = second.log.lines.filter((l) => l.fields.kind === 'retained-over-budget');
    expect(over.length).toBeGreaterThanOrEqual(1);
    expect(over[0]!.level).toBe('error');
    expect(over[0]!.state).toBe('starting');
    await second.connector.caughtUp();
    const realm = await client('/ops/idle');
    await realm.syncSession!.downloadAllServerChanges(30_000);
    expect(realm.objects('Item').filtered('id >= 1000 AND id <= 3999').length).toBe(3000);
    await second.connector.stop();
    await db.sql.query('DELETE FROM item WHERE id >= 1000');
  }, 240_000);

  test("reset refuses a slot of the same name that belongs to another database (another connector's)", async () => {
    const other = await createTestDatabase('operations_other');
    try {
      await other.sql.query("SELECT pg_create_logical_replication_slot('tributary_foreign', 'pgoutput')");
      const refused = await PostgresConnector.reset(config('foreign'), { adminUser: fx.admin }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: 'PG_SLOT_INVALID', message: expect.stringMatching(new RegExp(`tributary_foreign belongs to database ${other.name}, not ${db.name}`)) });
      expect((await slotRow('tributary_foreign'))?.active).toBe(false); // still there
    } finally {
      await other.dispose();
    }
  });

  test('reset: refused while streaming (PG_SLOT_ACTIVE); when stopped it drops the slot, the apply positions and the load mark, and the next start reloads while clients keep reading', async () => {
    const { connector: c } = connector('rst');
    await c.start();
    const reader = await client('/ops/rst');
    await insertRows(200, 204, 'before reset');
    await c.caughtUp();
    reader.write(() => reader.create('Item', { id: 205, title: 'from the realm' }));
    await reader.syncSession!.uploadAllLocalChanges(20_000);
    await until(async () => (await dbTitles()).includes('205:from the realm'), 'client write applied');
    await reader.syncSession!.downloadAllServerChanges(20_000);
    expect(reader.objects('Item').filtered('id >= 200 AND id < 300').length).toBe(6);

    const refused = await PostgresConnector.reset(config('rst'), { adminUser: fx.admin }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TributaryError);
    expect((refused as TributaryError).code).toBe('PG_SLOT_ACTIVE');
    expect((refused as TributaryError).message).toMatch(/replication slot tributary_rst is active \(walsender pid \d+\): a connector is streaming from it; stop that connector before resetting/);
    expect((await slotRow('tributary_rst'))?.active).toBe(true);
    expect(c.status().state).toBe('streaming');

    await c.stop();
    const result = await PostgresConnector.reset(config('rst'), { adminUser: fx.admin });
    expect(result).toEqual({ slot: 'tributary_rst', slotDropped: true, applyPositionsDeleted: 1, loadMarkCleared: true });
    expect(await slotRow('tributary_rst')).toBeUndefined();
    expect((await admin.query("SELECT count(*)::int AS n FROM tributary_apply_position WHERE connector = 'rst'")).rows[0].n).toBe(0);
    const control = await client(controlRealmPath('rst'));
    await control.syncSession!.downloadAllServerChanges(20_000);
    expect(control.objectForPrimaryKey('TributaryConnectorState', 'rst')).toBeUndefined();
    // A second reset finds nothing left to remove.
    expect(await PostgresConnector.reset(config('rst'), { adminUser: fx.admin })).toEqual({ slot: 'tributary_rst', slotDropped: false, applyPositionsDeleted: 0, loadMarkCleared: false });

    // While reset, nothing captures: a change made now only arrives through the reload.
    await db.sql.query("UPDATE item SET title = 'changed while reset' WHERE id = 201");
    await insertRows(206, 206, 'while reset');
    expect(reader.objects('Item').filtered('id >= 200 AND id < 300').length).toBe(6); // the realm still serves its data

    let progress = 0;
    const again = connector('rst', {}, () => progress++);
    await again.connector.start();
    expect(progress).toBeGreaterThan(0);
    expect(again.log.lines.some((l) => /created slot/.test(l.msg))).toBe(true);
    await again.connector.caughtUp();
    await reader.syncSession!.downloadAllServerChanges(20_000);
    expect(titles(reader).filter((t) => /^20\d:/.test(t))).toEqual(['200:before reset 200', '201:changed while reset', '202:before reset 202', '203:before reset 203', '204:before reset 204', '205:from the realm', '206:while reset 206']);
    expect(await slotRow('tributary_rst')).toMatchObject({ active: true });
    await again.connector.stop();
  }, 240_000);

  test('the walsender is killed while rows are written: the connector retries, streams again, and every row arrives exactly once', async () => {
    const prng = new Prng(testSeed('postgres walsender kill'));
    const { connector: c, log } = connector('kill');
    await c.start();
    const history: AdapterInstruction[][] = [];
    let watcher: Adapter | null = null;
    watcher = new Adapter(path.join(fx.dir, 'watcher'), fx.realmUrl, fx.admin, '^/ops/kill$', (p) => {
      let tx;
      while ((tx = watcher!.current(p))) {
        history.push([...tx]);
        watcher!.advance(p);
      }
    }, undefined, { log: silentLogger });
    try {
      const FIRST = 10_000;
      const COUNT = 300;
      const killAt = [prng.int(20, 90), prng.int(110, 180), prng.int(200, 270)];
      let written = 0;
      const writer = (async () => {
        for (let i = 0; i < COUNT; i++) {
          await db.sql.query('INSERT INTO item VALUES ($1, $2)', [FIRST + i, `kill ${i}`]);
          written++;
        }
      })();
      let kills = 0;
      let killed: number | null = null;
      for (const at of killAt) {
        await until(async () => written >= at || null, `${at} rows written`);
        // A terminated walsender can still hold the slot for a moment: wait for the connector's next one, or a kill would hit the same.
        const pid = await until(async () => {
          const active = (await slotRow('tributary_kill'))?.active_pid;
          return active !== killed ? active : null;
        }, 'an active walsender');
        killed = pid;
        const r = await admin.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
        if (r.rows[0].ok) kills++;
      }
      await writer;
      expect(kills).toBe(3);
      await until(async () => (c.status().state === 'streaming' && (await slotRow('tributary_kill'))?.active) || null, 'streaming again');
      await c.caughtUp(120_000);

      const retries = log.lines.filter((l) => /stream lost; retrying/.test(l.msg));
      expect(retries.length).toBeGreaterThanOrEqual(3);
      for (const l of retries) expect(l.state).toBe('retrying');
      // A kill surfaces as the server's 57P01, or as the socket closing first (a status update then meets EPIPE / ECONNRESET); a quick reconnect can meet 55006 (slot still held).
      for (const l of retries) expect(String(l.fields.error)).toMatch(/57P01|55006|Connection terminated|EPIPE|ECONNRESET/);
      expect(retries.some((l) => /terminating connection due to administrator command/.test(String(l.fields.error)))).toBe(true);
      const status = c.status();
      expect(status.state).toBe('streaming');
      expect(status.lastError).toMatch(/\[(57P01|55006|EPIPE|ECONNRESET)\]|Connection terminated/);
      expect(status.lastErrorCode).toBe('CONNECTOR_SOURCE_UNAVAILABLE');

      const realm = await client('/ops/kill');
      await realm.syncSession!.downloadAllServerChanges(30_000);
      const got = titles(realm).filter((t) => Number(t.split(':')[0]) >= FIRST);
      expect(got).toEqual(Array.from({ length: COUNT }, (_, i) => `${FIRST + i}:kill ${i}`));

      // Exactly once, in the realm's history: one INSERT per row, never a rewrite, and each source
      // transaction's position written once (a replayed transaction would write its position again).
      await waitFor(() => history.flat().filter((i) => i.type === 'INSERT' && i.object_type === 'Item' && Number(i.identity) >= FIRST).length >= COUNT, 60_000, 'watcher saw every insert');
      const itemOps = history.flat().filter((i) => i.object_type === 'Item' && 'identity' in i && Number(i.identity) >= FIRST);
      expect(itemOps.filter((i) => i.type !== 'INSERT')).toEqual([]);
      const inserted = itemOps.map((i) => Number((i as { identity: number }).identity));
      expect(inserted.length).toBe(COUNT);
      expect(new Set(inserted).size).toBe(COUNT);
      const positions = history
        .flat()
        .filter((i): i is Extract<AdapterInstruction, { type: 'INSERT' | 'SET' }> => (i.type === 'INSERT' || i.type === 'SET') && i.object_type === 'TributaryConnectorState')
        .map((i) => i.values.resumeFrom)
        .filter((v) => v !== undefined);
      expect(positions.length).toBeGreaterThan(COUNT / 2); // the watcher's first transaction folds in what the realm held when it first downloaded
      expect(new Set(positions).size).toBe(positions.length);
    } finally {
      watcher.close();
      await c.stop();
    }
  }, 300_000);

  test('permanent errors stop the connector (state failed, coded error) instead of retrying: the publication dropped, the slot dropped', async () => {
    const pub = connector('pubgone');
    await pub.connector.start();
    await pub.connector.caughtUp();
    await admin.query('DROP PUBLICATION tributary_pubgone');
    await insertRows(300, 300, 'after the publication went');
    await until(async () => pub.connector.status().state === 'failed' || null, 'state failed');
    const s = pub.connector.status();
    expect(s.lastErrorCode).toBe('CONNECTOR_SOURCE_FAILED');
    expect(s.lastError).toMatch(/publication "tributary_pubgone" does not exist \[42704\]/);
    expect(pub.log.lines.filter((l) => /retrying/.test(l.msg))).toEqual([]);
    expect(pub.log.lines.filter((l) => l.level === 'error' && /stopped/.test(l.msg))).toHaveLength(1);
    await expect(pub.connector.caughtUp(5_000)).rejects.toThrow(/publication "tributary_pubgone" does not exist/);
    await pub.connector.stop();

    const slot = connector('slotgone');
    await slot.connector.start();
    await slot.connector.caughtUp();
    // The slot can only be dropped while no walsender holds it: end the walsender, then drop before the connector is back.
    await until(async () => {
      const row = await slotRow('tributary_slotgone');
      if (!row) return true;
      if (row.active_pid) await admin.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
      return admin.query('SELECT pg_drop_replication_slot($1)', ['tributary_slotgone']).then(
        () => true,
        () => null,
      );
    }, 'slot dropped');
    await until(async () => slot.connector.status().state === 'failed' || null, 'state failed');
    const t = slot.connector.status();
    expect(t.lastErrorCode).toBe('CONNECTOR_SOURCE_FAILED');
    expect(t.lastError).toMatch(/replication slot "tributary_slotgone" does not exist \[42704\]/);
    await slot.connector.stop();
  }, 240_000);

  test('stop() leaves the slot inactive at exactly the position the connector confirmed', async () => {
    const { connector: c } = connector('stop');
    await c.start();
    await insertRows(400, 420, 'stop');
    await c.caughtUp();
    await insertRows(421, 440, 'stop');
    await c.stop();
    const confirmed = c.status().confirmedLsn;
    const row = await until(async () => {
      const r = await slotRow('tributary_stop');
      return r && !r.active ? r : null;
    }, 'slot inactive');
    expect(row.confirmed).toBe(confirmed);
    const realm = await client('/ops/stop');
    await realm.syncSession!.downloadAllServerChanges(30_000);
    // Whatever the stop confirmed is in the realm; the rest comes with the next start.
    const restarted = connector('stop');
    await restarted.connector.start();
    await restarted.connector.caughtUp();
    await realm.syncSession!.downloadAllServerChanges(30_000);
    expect(titles(realm).filter((t) => /^4\d\d:/.test(t))).toEqual(Array.from({ length: 41 }, (_, i) => `${400 + i}:stop ${400 + i}`));
    await restarted.connector.stop();
  }, 180_000);

  test('CLI: connector postgres runs until SIGTERM (exit 0, slot kept at the confirmed position); status and reset work on it without starting it', async () => {
    const dir = fs.mkdtempSync(path.join(fx.dir, 'cli-'));
    const file = path.join(dir, 'connector.json');
    fs.writeFileSync(file, JSON.stringify({ ...config('cli'), localPath: './local', adminToken: fx.adminToken }));
    await insertRows(500, 502, 'cli');

    let statusWhileRunning: Run | null = null;
    let resetWhileRunning: Run | null = null;
    const run = await tributary(['connector', 'postgres', '--config', file], {
      onStdout: (out, child) => {
        if (!/"msg":"postgres connector streaming"/.test(out) || statusWhileRunning) return;
        statusWhileRunning = { code: null, signal: null, stdout: '', stderr: '' };
        void (async () => {
          statusWhileRunning = await tributary(['connector', 'postgres', 'status', '--config', file]);
          resetWhileRunning = await tributary(['connector', 'postgres', 'reset', '--config', file, '--yes']);
          child.kill('SIGTERM');
        })();
      },
    });
    expect(run.stderr).toBe('');
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; signal?: string; confirmedLsn?: string });
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['postgres connector streaming', 'postgres connector stopping', 'postgres connector stopped']));
    expect(lines.find((l) => l.msg === 'postgres connector stopping')!.signal).toBe('SIGTERM');
    const stoppedAt = lines.find((l) => l.msg === 'postgres connector stopped')!.confirmedLsn;
    const row = await until(async () => {
      const r = await slotRow('tributary_cli');
      return r && !r.active ? r : null;
    }, 'slot inactive after SIGTERM');
    expect(row.confirmed).toBe(stoppedAt);

    expect(statusWhileRunning!.code).toBe(0);
    expect(statusWhileRunning!.stdout).toMatch(/^connector +cli$/m);
    expect(statusWhileRunning!.stdout).toMatch(/^slot +tributary_cli: active \(walsender pid \d+\)$/m);
    expect(statusWhileRunning!.stdout).toMatch(/^retained WAL +\d+(\.\d)? (bytes|KiB|MiB) since restart_lsn [0-9A-F]+\/[0-9A-F]+ \(budget 1\.0 GiB\)$/m);
    expect(statusWhileRunning!.stdout).toMatch(/^publication +tributary_cli: public\.item$/m);
    expect(resetWhileRunning!.code).toBe(1);
    expect(resetWhileRunning!.stderr).toMatch(/^tributary: PG_SLOT_ACTIVE: replication slot tributary_cli is active/);

    const json = await tributary(['connector', 'postgres', 'status', '--config', file, '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.slot).toMatchObject({ name: 'tributary_cli', exists: true, active: false, confirmedFlushLsn: stoppedAt });
    expect(parsed.warnings.map((w: { kind: string }) => w.kind)).toEqual(['inactive']);

    const unconfirmed = await tributary(['connector', 'postgres', 'reset', '--config', file]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toMatch(/needs confirmation: pass --yes/);
    expect(await slotRow('tributary_cli')).toBeDefined();

    const reset = await tributary(['connector', 'postgres', 'reset', '--config', file, '--yes']);
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/slot tributary_cli dropped, 0 apply position\(s\) deleted, completed-load record removed; the next start loads from the database/);
    expect(await slotRow('tributary_cli')).toBeUndefined();
    const after = await tributary(['connector', 'postgres', 'status', '--config', file]);
    expect(after.stdout).toMatch(/^slot +tributary_cli: missing \(the next start creates it and loads from the database\)$/m);
  }, 300_000);
});

describePostgres('postgres connector: lag while the sync server is away', () => {
  let fx: AdminFixture;
  let db: TestDatabase;
  let connector: PostgresConnector | null = null;
  let replacement: Server | null = null;

  beforeAll(async () => {
    fx = await adminFixture();
    db = await createTestDatabase('operations_lag');
    await db.sql.query(SCHEMA);
  });
  afterAll(async () => {
    await connector?.stop().catch(() => undefined);
    await replacement?.stop();
    await fx?.dispose();
    await db?.dispose();
  });

  test('unacknowledged transactions count as lag, with the age of the oldest; it returns to 0 once the server acknowledges', async () => {
    connector = new PostgresConnector(
      { name: 'lag', database: db.url, serverUrl: fx.realmUrl, localPath: path.join(fx.dir, 'connector'), heartbeatIntervalMs: 0, tables: { item: { type: 'Item', realm: '/lag/items' } } },
      { adminUser: fx.admin },
    );
    await connector.start();
    await db.sql.query("INSERT INTO item VALUES (1, 'one')");
    await connector.caughtUp();
    const port = fx.server.port;
    await fx.server.stop();

    const before = connector.status().transactions;
    await db.sql.query("INSERT INTO item VALUES (2, 'two')");
    await db.sql.query("INSERT INTO item VALUES (3, 'three')");
    await waitFor(() => connector!.status().transactions >= before + 2, 60_000, 'both transactions received');
    expect(connector.status().lag.transactions).toBeGreaterThanOrEqual(2);
    await waitFor(() => connector!.status().lag.seconds > 0.2, 60_000, 'lag in seconds growing');

    replacement = new Server({ dataPath: path.dirname(path.dirname(fx.server.adminTokenPath)), port, logger: silentLogger });
    await replacement.start();
    await waitFor(() => connector!.status().lag.transactions === 0, 120_000, 'acknowledged after the server came back');
    expect(connector.status().lag).toEqual({ transactions: 0, seconds: 0 });
    await connector.caughtUp(120_000);
  }, 300_000);
});

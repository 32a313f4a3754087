import sql, { type ConnectionPool } from 'mssql';
import type { Adapter } from '../../src/adapter';
import type { User } from '../../src/client';
import { TributaryError } from '../../src/errors';
import { silentLogger, type Logger } from '../../src/shared/logger';
import type { Connector } from '../contract';
import { errorCodeOf } from '../kit/errors';
import type { LoadProgress } from '../kit/load-progress';
import { indexFromRealms } from '../kit/placement-index';
import { placementPattern } from '../kit/placement';
import { quiesceConnector } from '../kit/quiesce';
import { adapterReady, adminUserOf, ControlRealm, openAdapter, resetControlRealm } from '../kit/realm-side';
import { runStreamLoop } from '../kit/retry';
import type { CommonConnectorStatus, ConnectorState } from '../kit/status';
import { PositionWaiters } from '../kit/waiters';
import { ChangeApply } from './apply';
import { ChangeCapture } from './capture';
import { poolConfig, validateConfig, type ResolvedOptions, type SqlServerConnectorConfig } from './config';
import { inTransaction, sqlOn, type Sql } from './db';
import { classify, connectorError, fromDriverError } from './errors';
import { initialLoad, scanTable } from './load';
import { resolveMapping, rowKey, type ResolvedMapping } from './mapping';
import { versionCodec, type Version } from './position';
import { SchemaChanges } from './schema';
import { checkDatabase, checkTables, readDatabaseState } from './setup';
import { RealmRouter, RealmSink } from './sink';
import { dropConnectorState, ensureBookkeeping, readCapturePosition, SqlServerDeadLetters, writeCapturePosition } from './stores';

export interface SqlServerConnectorOptions {
  adminUser?: User;
  log?: Logger;
  onProgress?: (p: LoadProgress) => void;
}

export interface SqlServerConnectorStatus extends CommonConnectorStatus {
  /** Every commit before this Change Tracking version is in the realms and acknowledged. */
  confirmedVersion: string;
  processedVersion: string;
  /** Tables re-loaded because their Change Tracking records were cleaned up before capture read them. */
  reloads: number;
  /** Row changes in own commits that apply did not write (ON DELETE CASCADE, triggers), written to the realms. */
  ownChanges: number;
  polls: number;
  pollIntervalMs: number;
  indexedRows: number;
  schema: { propertiesAdded: number; columnsAdded: number; backfilled: number } | null;
}

export interface SqlServerConnectorResetResult {
  applyPositionsDeleted: number;
  capturePositionDeleted: boolean;
  loadMarkCleared: boolean;
}

/** Connections to one database: its pool, opened once. */
export async function openPool(config: SqlServerConnectorConfig, doing = 'connecting to SQL Server'): Promise<ConnectionPool> {
  const pool = new sql.ConnectionPool(poolConfig(config.database));
  pool.on('error', () => undefined);
  try {
    return await pool.connect();
  } catch (e) {
    await pool.close().catch(() => undefined);
    throw fromDriverError(e, doing);
  }
}

/**
 * SQL Server ↔ realms (docs/connectors/sqlserver.md) on the connector kit: Change Tracking polled
 * into realms through the kit's sink, an initial load from one snapshot with the tracking version
 * read in it, positions stored in the realms (and the confirmed version in
 * `tributary_capture_position` after the server acknowledged); the Adapter stream back into the
 * tables through the kit's apply loop, tagged with CHANGE_TRACKING_CONTEXT so capture skips it.
 *
 * @example
 * const c = new SqlServerConnector({ name: 'legacy', database: 'mssql://sa:pw@db:1433/shop?encrypt=false', serverUrl: 'realm://127.0.0.1:9080',
 *   adminTokenFile: './admin.json', localPath: './connector-data', tables: { orders: { realm: '/shop/{region}' } } });
 * await c.start();
 */
export class SqlServerConnector implements Connector {
  readonly config: SqlServerConnectorConfig & { resolved: ResolvedOptions };
  private readonly log: Logger;
  private pool: ConnectionPool | null = null;
  private adapter: Adapter | null = null;
  private sink: RealmSink | null = null;
  private router: RealmRouter | null = null;
  private capture: ChangeCapture | null = null;
  private applier: ChangeApply | null = null;
  private control: ControlRealm | null = null;
  private schema: SchemaChanges | null = null;
  private mapping_: ResolvedMapping | null = null;
  private state: ConnectorState = 'stopped';
  private lastError: Error | null = null;
  private stopping = false;
  private halted = false;
  private loop: Promise<void> | null = null;
  private readonly barriers = new PositionWaiters<Version>(versionCodec.compare);
  private readonly deadLetters: SqlServerDeadLetters;

  constructor(
    config: SqlServerConnectorConfig,
    private readonly options: SqlServerConnectorOptions = {},
  ) {
    this.config = validateConfig(config);
    this.log = (options.log ?? silentLogger).child({ connector: 'sqlserver', name: this.config.name });
    this.deadLetters = new SqlServerDeadLetters(this.config.resolved.schema, this.config.name);
  }

  get mapping(): ResolvedMapping {
    if (!this.mapping_) throw new TributaryError('INVALID_STATE', 'the connector has not started');
    return this.mapping_;
  }

  async start(): Promise<void> {
    const o = this.config.resolved;
    this.state = 'starting';
    this.stopping = false;
    this.halted = false;
    try {
      const pool = await openPool(this.config);
      this.pool = pool;
      const db = sqlOn(pool);
      const mapping = await this.step('reading the database', async () => {
        checkDatabase(await readDatabaseState(db));
        const m = await resolveMapping(db, this.config, o);
        await checkTables(db, m);
        await ensureBookkeeping(db, o.schema);
        return m;
      });
      this.mapping_ = mapping;
      const admin = this.options.adminUser ?? adminUserOf(this.config, 'sqlserver connector');
      const patterns = [...mapping.tables.values()].map((t) => placementPattern(t.placement, (name) => mapping.tables.get(name)!.placement));
      this.adapter = openAdapter({ localPath: this.config.localPath, serverUrl: this.config.serverUrl, admin, patterns, onChange: (p) => this.applier?.schedule(p), log: this.log });
      this.sink = new RealmSink(this.adapter, mapping, o.name);
      this.router = new RealmRouter(mapping);
      this.schema = new SchemaChanges(mapping, o.schemaChanges, () => this.sink, this.log);
      this.schema.router = this.router;
      this.schema.snapshot = (fn) => inTransaction(pool, 'SNAPSHOT', fn);
      this.applier = new ChangeApply(this.adapter, pool, mapping, this.sink, this.router, { barrier: (v) => this.barrier(v), onRealmProperties: (d, t, p) => this.schema!.onRealmProperties(d, t, p), onStopped: (e) => this.halt(e), captureConfirmedAt: () => this.capture?.status.confirmedAt ?? 0 }, this.log, this.deadLetters);
      this.control = await ControlRealm.open(this.adapter, o.name);

      const saved = await this.step('reading the capture position', () => readCapturePosition(db, o.schema, o.name));
      let from: Version;
      let reloads = saved?.reloads ?? 0;
      if (saved && this.control.loadedFrom !== null) {
        from = saved.version;
        this.log.info('sqlserver connector: resuming from the saved Change Tracking version', { version: from.toString() });
        await this.indexRealms(pool);
      } else if (o.initialLoad === 'from-database') {
        this.state = 'loading';
        const loaded = await this.step('loading', () => initialLoad({ pool, mapping, sink: this.sink!, router: this.router!, log: this.log, onProgress: this.options.onProgress }));
        for (const p of loaded.paths) await this.sink.uploaded(p);
        from = loaded.version;
        reloads = 0;
        await writeCapturePosition(db, o.schema, o.name, from, reloads);
        await this.control.markLoaded(versionCodec.format(from + 1n));
      } else {
        await this.indexRealms(pool);
        from = (await this.currentVersion(db)) ?? 0n;
        await writeCapturePosition(db, o.schema, o.name, from, reloads);
        await this.control.markLoaded(versionCodec.format(from + 1n));
      }
      this.capture = new ChangeCapture(pool, mapping, this.sink, this.router, this.log, {
        persist: (v, n) => writeCapturePosition(sqlOn(pool), o.schema, o.name, v, n),
        onProcessed: (v) => this.barriers.reached(v),
        schemaCheck: (d) => this.schema!.check(d),
        protection: o.conflict === 'realm-wins' ? this.applier : null,
      }, from, reloads);
      // Database changes made while the connector was stopped reach the realms before realm changes are applied (the conflict policy sees both).
      await this.capture.poll();
      this.state = 'streaming';
      this.loop = this.run();
      await this.applier.start();
    } catch (e) {
      this.state = 'failed';
      this.lastError = e as Error;
      this.stopping = true;
      this.capture?.stop();
      this.barriers.rejectAll(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector failed to start'));
      await this.shutdown();
      throw e;
    }
  }

  private async step<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw fromDriverError(e, doing);
    }
  }

  private async currentVersion(db: Sql): Promise<Version | null> {
    const r = await db.query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v');
    const v = r.rows[0]?.v;
    return v === null || v === undefined ? null : BigInt(v as string);
  }

  /** A start without a load: where each object is, from the realms (the kit's placement index). */
  private async indexRealms(pool: ConnectionPool): Promise<void> {
    await adapterReady(this.adapter!);
    const router = this.router!;
    await indexFromRealms({
      paths: this.adapter!.paths,
      tables: this.mapping.tables.values(),
      sink: this.sink!,
      router,
      log: this.log,
      label: 'sqlserver connector',
      functionPaths: (tables) =>
        inTransaction(pool, 'SNAPSHOT', async (db) => {
          const paths = new Set<string>();
          for (const t of tables)
            await scanTable(db, t, this.mapping.options.batchSize, (rows) => {
              for (const row of rows) {
                const p = rowKey(t, row) === null ? null : router.pathFor(t, row);
                if (p !== null) paths.add(p);
              }
            });
          return paths;
        }),
    });
  }

  private halt(e: Error): void {
    if (this.stopping || this.halted) return;
    this.halted = true;
    this.lastError = e;
    this.state = 'failed';
    this.barriers.rejectAll(e);
    this.capture?.stop();
  }

  /** Resolves once capture has written every commit up to `version` into the realms. */
  private async barrier(version: Version, timeoutMs = 30_000): Promise<void> {
    if (!this.capture || this.capture.status.processed >= version) return;
    this.capture.pollNow();
    await this.barriers.wait(version, timeoutMs, () => connectorError('CONNECTOR_SOURCE_UNAVAILABLE', `capture did not reach Change Tracking version ${version} within ${timeoutMs} ms; the realm transactions are retried`));
  }

  private async run(): Promise<void> {
    await runStreamLoop({
      stream: () => this.capture!.run(),
      reconnect: async () => undefined,
      classify,
      stopped: () => this.stopping || this.halted,
      onError: (e) => (this.lastError = e as Error),
      onState: (state) => (this.state = state),
      ended: () => connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the Change Tracking poll ended'),
      log: this.log,
      label: 'sqlserver connector',
    });
  }

  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const pool = this.pool;
    if (!pool || !this.capture) throw connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is not running');
    // A poll that starts after this line also runs its schema check after it: a column added
    // before the call (ALTER TABLE has no Change Tracking version) is mapped and backfilled too.
    const pollsBefore = this.capture.status.polls;
    const target = (await this.currentVersion(sqlOn(pool))) ?? 0n;
    const deadline = Date.now() + timeoutMs;
    while (this.capture.status.confirmed < target || this.capture.status.confirmedPoll <= pollsBefore) {
      if (this.state === 'failed') throw this.lastError ?? new TributaryError('CONNECTOR_SOURCE_FAILED', 'the connector failed');
      if (Date.now() > deadline) throw new TributaryError('TIMEOUT', `the connector did not reach Change Tracking version ${target} in ${timeoutMs} ms (at ${this.capture.status.confirmed})`);
      this.capture.pollNow();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async quiesce(timeoutMs = 120_000): Promise<void> {
    await quiesceConnector(this, () => ({ adapter: this.adapter, sink: this.sink, apply: this.applier }), timeoutMs);
  }

  status(): SqlServerConnectorStatus {
    const s = this.capture?.status;
    return {
      state: this.state,
      confirmedVersion: (s?.confirmed ?? 0n).toString(),
      processedVersion: (s?.processed ?? 0n).toString(),
      transactions: s?.transactions ?? 0,
      skippedOwnTransactions: s?.skippedOwn ?? 0,
      replayedSkipped: s?.replayedSkipped ?? 0,
      reloads: s?.reloads ?? 0,
      ownChanges: s?.ownChanges ?? 0,
      polls: s?.polls ?? 0,
      pollIntervalMs: s?.intervalMs ?? this.config.resolved.pollIntervalMs,
      indexedRows: this.router?.indexedRows ?? 0,
      apply: this.applier ? { ...this.applier.status } : null,
      schema: this.schema ? { ...this.schema.status } : null,
      lag: { transactions: s?.pendingAcks ?? 0, seconds: 0 },
      lastCommitTime: s?.lastCommitTime ? s.lastCommitTime.toISOString() : null,
      lastError: this.lastError ? String(this.lastError.message) : null,
      lastErrorCode: errorCodeOf(this.lastError),
      warnings: [],
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.capture?.stop();
    this.barriers.rejectAll(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping'));
    await this.applier?.stop();
    await this.loop?.catch(() => undefined);
    await this.shutdown();
    this.state = 'stopped';
  }

  private async shutdown(): Promise<void> {
    await this.applier?.stop().catch(() => undefined);
    this.applier = null;
    this.sink?.close();
    this.control?.close();
    this.adapter?.close();
    this.adapter = null;
    await this.pool?.close().catch(() => undefined);
    this.pool = null;
  }

  /** The dead letters of this connector (oldest first); works on a stopped connector too. */
  async listDeadLetters(limit = 1000) {
    return this.withDb((db) => this.deadLetters.list(db, limit));
  }

  async clearDeadLetters(ids?: number[]): Promise<number> {
    return this.withDb((db) => this.deadLetters.clear(db, ids));
  }

  private async withDb<T>(fn: (db: Sql) => Promise<T>): Promise<T> {
    if (this.pool && !this.stopping) return fn(sqlOn(this.pool));
    const pool = await openPool(this.config);
    try {
      return await fn(sqlOn(pool));
    } finally {
      await pool.close().catch(() => undefined);
    }
  }

  /** Makes a stopped connector's next start load afresh: its positions and counter totals go, and the control realm's load mark. */
  static async reset(config: SqlServerConnectorConfig, options: SqlServerConnectorOptions = {}): Promise<SqlServerConnectorResetResult> {
    const c = new SqlServerConnector(config, options);
    const o = c.config.resolved;
    const dropped = await c.withDb((db) => dropConnectorState(db, o.schema, o.name));
    const loadMarkCleared = await resetControlRealm({ config: c.config, name: o.name, admin: options.adminUser, label: 'sqlserver connector', databaseCleared: 'the capture and apply positions are deleted', nextStart: 'the next start reloads anyway because the capture position is gone' });
    return { ...dropped, loadMarkCleared };
  }
}

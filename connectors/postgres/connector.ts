import { Client } from 'pg';
import type { Adapter } from '../../src/adapter';
import type { User } from '../../src/client';
import { TributaryError } from '../../src/errors';
import { silentLogger, type Logger } from '../../src/shared/logger';
import type { Connector } from '../contract';
import { errorCodeOf } from '../kit/errors';
import type { LoadProgress } from '../kit/load-progress';
import { controlRealmPath } from '../kit/position';
import { quiesceConnector } from '../kit/quiesce';
import { adapterReady, adminUserOf, ControlRealm, openAdapter, resetControlRealm } from '../kit/realm-side';
import { runStreamLoop } from '../kit/retry';
import type { CommonConnectorStatus, ConnectorState } from '../kit/status';
import { PositionWaiters } from '../kit/waiters';
import { barrierTimeout, ChangeApply } from './apply';
import { BARRIER_PREFIX, CONTROL_PREFIX, ChangeCapture, type CaptureStatus } from './capture';
import { clientConfig, validateConfig, type PostgresConnectorConfig, type ResolvedOptions } from './config';
import { classify, connectorError, fromDriverError } from './errors';
import { PgDeadLetters, type DeadLetterRecord } from './dead-letters';
import { initialLoad } from './load';
import { indexFromRealms } from './placement-index';
import { GeneratedReadback } from './readback';
import { publishedRealmSchema } from './realm-schema';
import { resolveMapping, type ResolvedMapping } from './mapping';
import { formatLsn, lsnCodec, parseLsn, type Lsn } from './position';
import { dropDatabaseState, readDatabaseStatus, withDatabase, type DatabaseStatus } from './operations';
import { SlotWatch } from './slot-watch';
import { RealmSink } from './realm-sink';
import { ensurePublication, placementPattern, preflight, slotInfo } from './setup';
import { SchemaEvolution, type SchemaEvolutionStatus } from './schema-evolution';
import { ReplicationConnection } from './replication';
import { RealmRouter } from './router';

export { controlRealmPath } from '../kit/position';

export interface PostgresConnectorOptions {
  /** An admin user of the server (default: from the config's adminToken / adminTokenFile). */
  adminUser?: User;
  log?: Logger;
  onProgress?: (p: LoadProgress) => void;
}

/** The kit's common status (connectors/kit/status.ts) and PostgreSQL's own figures. */
export interface PostgresConnectorStatus extends CommonConnectorStatus {
  state: ConnectorState;
  slot: string;
  /** Everything below this LSN is in the realms and acknowledged by the sync server. */
  confirmedLsn: string;
  receivedLsn: string;
  /** Row changes in own transactions that apply did not write (cascades, trigger-written rows), written to the realms. */
  ownChanges: number;
  /** Generated-column values read back after capture (pgoutput does not send them) and written into objects. */
  generatedReadBack: number;
  /** The connector's own marker transactions (apply barriers, caughtUp), not counted in `transactions`. */
  markers: number;
  indexedRows: number;
  /** Schema changes: columns ↔ properties added, changes reported, backfills (docs: "Schema changes"). */
  schema: SchemaEvolutionStatus | null;
  /** What the last slot check found (retained WAL over budget, wal_status), as in the log. `lag.seconds` is PostgreSQL's clock against this host's. */
  warnings: string[];
}

/** `status()` plus the database's figures: retained WAL, wal_status, lag behind the current WAL, apply positions. */
export interface PostgresConnectorReport extends PostgresConnectorStatus {
  database: DatabaseStatus;
}

/** What `PostgresConnector.reset` removed. */
export interface PostgresConnectorResetResult {
  slot: string;
  slotDropped: boolean;
  applyPositionsDeleted: number;
  /** The control realm's record of a completed load was deleted (false: there was none). */
  loadMarkCleared: boolean;
}


/**
 * PostgreSQL ↔ realms (CONNECTORS.md §2), on the connector kit (docs/connectors/kit.md): logical
 * replication with pgoutput into realms written through the kit's sink, an initial load from the
 * slot's exported snapshot, positions stored in the realms and the slot advanced only after the
 * server acknowledged; the Adapter stream back into tables through the kit's apply loop.
 *
 * @example
 * const connector = new PostgresConnector({
 *   name: 'pagila', database: 'postgres://replicator@db/pagila', serverUrl: 'realm://127.0.0.1:9080',
 *   adminTokenFile: './data/keys/admin.json', localPath: './connector-data',
 *   tables: { film: { realm: '/pagila/catalog' }, rental: { realm: { follow: 'inventory_id' } },
 *             inventory: { realm: '/pagila/store/{store_id}' } },
 * });
 * await connector.start();
 */
export class PostgresConnector implements Connector {
  readonly config: PostgresConnectorConfig & { resolved: ResolvedOptions };
  private readonly log: Logger;
  private sql: Client | null = null;
  private repl: ReplicationConnection | null = null;
  private adapter: Adapter | null = null;
  private sink: RealmSink | null = null;
  private router: RealmRouter | null = null;
  private capture: ChangeCapture | null = null;
  private applier: ChangeApply | null = null;
  private evolution: SchemaEvolution | null = null;
  private control: ControlRealm | null = null;
  private readback: GeneratedReadback | null = null;
  private mapping_: ResolvedMapping | null = null;
  private state: ConnectorState = 'stopped';
  private lastError: Error | null = null;
  private stopping = false;
  /** Stopped by a failure that needs the user (the apply side's CONNECTOR_APPLY_CONFIGURATION): no retries. */
  private halted = false;
  private readonly deadLetterStore: PgDeadLetters;
  private readonly slotWatch: SlotWatch;
  /** Apply barriers waiting for capture to process their LSN. */
  private readonly barriers = new PositionWaiters<Lsn>(lsnCodec.compare);
  /** `caughtUp()` callers, released as capture confirms positions (the sync server acknowledged). */
  private readonly confirmations = new PositionWaiters<Lsn>(lsnCodec.compare);
  private timers: NodeJS.Timeout[] = [];
  private loop: Promise<void> | null = null;
  private serverVersion = 0;

  constructor(
    config: PostgresConnectorConfig,
    private readonly options: PostgresConnectorOptions = {},
  ) {
    this.config = validateConfig(config);
    this.log = (options.log ?? silentLogger).child({ connector: 'postgres', name: this.config.name });
    this.deadLetterStore = new PgDeadLetters(this.config.name);
    this.slotWatch = new SlotWatch(this.config.resolved, this.log, () => this.sql, () => this.stopping);
  }

  get mapping(): ResolvedMapping {
    if (!this.mapping_) throw new TributaryError('INVALID_STATE', 'the connector has not started');
    return this.mapping_;
  }

  /** Validates, sets up publication and slot, loads if needed, and starts streaming. */
  async start(): Promise<void> {
    const o = this.config.resolved;
    this.state = 'starting';
    this.stopping = false;
    this.halted = false;
    try {
      const sql = this.newSqlClient();
      this.sql = sql;
      await sql.connect().catch((e) => {
        throw fromDriverError(e, 'connecting to PostgreSQL');
      });
      this.serverVersion = await preflight(sql);
      this.mapping_ = await resolveMapping(sql, this.config, o);
      await ensurePublication(sql, this.mapping);

      const admin = this.options.adminUser ?? adminUserOf(this.config, 'postgres connector');
      const patterns = [...this.mapping.tables.values()].map((t) => placementPattern(this.mapping, t.placement));
      // Realm → database (apply.ts) reads the stream; capture only writes through realmAtPath (never returned by current).
      this.adapter = openAdapter({ localPath: this.config.localPath, serverUrl: this.config.serverUrl, admin, patterns, onChange: (p) => this.applier?.schedule(p), log: this.log });
      this.sink = new RealmSink(this.adapter, this.mapping, o.name);
      this.router = new RealmRouter(this.mapping);
      this.evolution = new SchemaEvolution({ mapping: this.mapping, tables: this.config.tables, options: o.schemaChanges, sink: this.sink, router: this.router, adapter: this.adapter, controlPath: controlRealmPath(o.name), clientConfig: clientConfig(this.config.database), log: this.log });
      await this.evolution.preload(sql);
      this.applier = new ChangeApply(
        this.adapter,
        this.mapping,
        clientConfig(this.config.database),
        this.sink,
        this.router,
        { barrier: (c) => this.barrier(c), onRealmProperties: (c, t, p) => this.evolution!.onRealmProperties(c, t, p), onStopped: (e) => this.halt(e) },
        this.log,
        { deadLetters: this.deadLetterStore },
      );
      if ([...this.mapping.tables.values()].some((t) => t.generated.length > 0)) this.readback = new GeneratedReadback(this.sink, clientConfig(this.config.database), this.log);
      this.control = await ControlRealm.open(this.adapter, o.name);

      await this.slotWatch.atStart(sql);
      const slot = await slotInfo(sql, this.config.resolved);
      const loaded = this.control.loadedFrom;
      this.repl = new ReplicationConnection(clientConfig(this.config.database));
      await this.repl.connect();
      let confirmed: Lsn;
      if (slot && loaded) {
        this.log.info('postgres connector: resuming from the slot', { slot: o.slotName, confirmedFlush: slot.confirmed_flush_lsn });
        await this.indexRealms(sql);
        confirmed = slot.confirmed_flush_lsn ? parseLsn(slot.confirmed_flush_lsn) : 0n;
      } else {
        if (slot) {
          this.log.warn('postgres connector: a slot exists but the initial load never completed; recreating it', { slot: o.slotName });
          await sql.query('SELECT pg_drop_replication_slot($1)', [o.slotName]);
        }
        const load = o.initialLoad === 'from-database';
        const created = await this.repl.createSlot(o.slotName, load);
        this.log.info('postgres connector: created slot', { slot: o.slotName, consistentPoint: formatLsn(created.consistentPoint) });
        if (load) {
          this.state = 'loading';
          const touched = await initialLoad({ sql, snapshotName: created.snapshotName!, consistentPoint: created.consistentPoint, mapping: this.mapping, sink: this.sink, router: this.router, log: this.log, onProgress: this.options.onProgress });
          for (const p of touched) await this.sink.uploaded(p);
        } else await this.indexRealms(sql); // no load: still index what the realms hold, and the side rows (capture rebuilds whole lists from them)
        await this.control.markLoaded(formatLsn(created.consistentPoint));
        confirmed = created.consistentPoint;
      }
      this.evolution.ready(!(slot && loaded) && o.initialLoad === 'from-database');
      this.capture = this.newCapture(confirmed);
      this.state = 'streaming';
      this.loop = this.run(confirmed);
      await this.applier.start();
      this.timers.push(setInterval(() => this.sendStatus(), 10_000));
      if (o.heartbeatIntervalMs > 0) this.timers.push(setInterval(() => void this.heartbeat(), o.heartbeatIntervalMs));
      const slotTimer = this.slotWatch.timer();
      if (slotTimer) this.timers.push(slotTimer);
      for (const t of this.timers) t.unref();
    } catch (e) {
      this.state = 'failed';
      this.lastError = e as Error;
      // A failure after streaming began (the apply side's start) must not leave the stream loop
      // retrying on its own: it would hold the slot against the next start.
      this.stopping = true;
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      this.rejectWaiters(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector failed to start'));
      await this.shutdown();
      throw e;
    }
  }

  /**
   * A start without a load: where each object is, from the realms (the kit's placement index); the
   * side rows from their tables, and the lists made equal to them where no realm edit is pending.
   */
  private async indexRealms(sql: Client): Promise<void> {
    await this.router!.lists.scan(sql, true);
    await adapterReady(this.adapter!);
    const paths = await indexFromRealms({ sql, paths: this.adapter!.paths, mapping: this.mapping, sink: this.sink!, router: this.router!, log: this.log });
    if (this.router!.lists.lists.length === 0) return;
    const reconciled = this.router!.lists.reconcile(paths, (p) => this.sink!.realm(p), this.applier!);
    this.applier!.resetProtection();
    if (reconciled > 0) this.log.info('postgres connector: side-table lists made equal to their rows (changes while the connector was stopped)', { lists: reconciled });
  }

  /** Fails every apply barrier and `caughtUp()` waiting (the connector failed or is stopping). */
  private rejectWaiters(e: Error): void {
    this.barriers.rejectAll(e);
    this.confirmations.rejectAll(e);
  }

  /** The apply side cannot write at all (CONNECTOR_APPLY_CONFIGURATION): the connector stops streaming and reports it. */
  private halt(e: Error): void {
    if (this.stopping || this.halted) return;
    this.halted = true;
    this.lastError = e;
    this.state = 'failed';
    this.rejectWaiters(e);
    void this.repl?.close();
  }

  private newSqlClient(): Client {
    const sql = new Client(clientConfig(this.config.database));
    sql.on('error', (e) => {
      this.log.warn('postgres connector: connection error; it is reopened when next needed', { error: String(e) });
      if (this.sql === sql) this.sql = null;
    });
    return sql;
  }

  /** The connector's own connection (markers, heartbeats, barriers), reopened after a loss. */
  private async controlSql(): Promise<Client> {
    if (this.sql) return this.sql;
    if (this.stopping) throw connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping');
    const sql = this.newSqlClient();
    try {
      await sql.connect();
    } catch (e) {
      throw fromDriverError(e, 'reconnecting to PostgreSQL');
    }
    if (this.sql || this.stopping) {
      void sql.end().catch(() => undefined);
      if (this.stopping) throw connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping');
      return this.sql!;
    }
    this.sql = sql;
    return sql;
  }

  /**
   * The apply side's WAL barrier: commits a logical message on the connector's own connection
   * (the apply transaction, holding its row locks, stays open) and resolves once capture has
   * handled that commit, i.e. every database transaction committed before the call is in the
   * realms. The message is transactional because only a commit flushes the WAL the walsender
   * may send (a non-transactional one can sit unflushed in a partial WAL page).
   */
  private async barrier(_apply: Client, timeoutMs = 30_000): Promise<void> {
    if (this.serverVersion < 140000) return; // pgoutput streams messages from 14 on
    const r = await (await this.controlSql()).query(`SELECT pg_logical_emit_message(true, '${BARRIER_PREFIX}', '')::text AS lsn`);
    const lsn = parseLsn(r.rows[0].lsn);
    if ((this.capture?.status.processed ?? 0n) >= lsn) return;
    await this.barriers.wait(lsn, timeoutMs, () => barrierTimeout(timeoutMs));
  }

  /**
   * Resolves when both directions are settled: every database change committed before the call
   * is in the realms and acknowledged, and every realm change the server holds for the mapped
   * realms when the call is made is applied to PostgreSQL (and whatever that moved, in turn).
   */
  async quiesce(timeoutMs = 120_000): Promise<void> {
    await quiesceConnector(this, () => ({ adapter: this.adapter, sink: this.sink, apply: this.applier }), timeoutMs);
  }

  private newCapture(confirmed: Lsn): ChangeCapture {
    const c = new ChangeCapture(this.mapping, this.sink!, this.router!, this.log, this.config.resolved.originName, confirmed, this.evolution, this.readback);
    c.onConfirm = (lsn) => {
      this.sendStatus();
      this.confirmations.reached(lsn);
    };
    c.onProcessed = (lsn) => this.barriers.reached(lsn);
    if (this.config.resolved.conflict === 'realm-wins') c.protection = this.applier;
    c.onError = (e) => {
      this.lastError = e;
      this.log.error('postgres connector: the sync server did not acknowledge; stopping the stream', { error: String(e) });
      void this.repl?.close();
    };
    return c;
  }

  private sendStatus(): void {
    const s = this.capture?.status;
    if (s) this.repl?.sendStatus(s.received, s.confirmed);
  }

  /** The replication stream, reconnected with back-off by the kit's stream loop. */
  private async run(from: Lsn): Promise<void> {
    let start = from;
    await runStreamLoop({
      stream: () => {
        const pluginOptions: Record<string, string> = { proto_version: '1', publication_names: this.config.resolved.publicationName };
        if (this.serverVersion >= 140000) pluginOptions.messages = 'true';
        return this.repl!.start(this.config.resolved.slotName, start, pluginOptions, (f) => this.capture!.handleFrame(f));
      },
      reconnect: async () => {
        await this.capture!.drained();
        start = this.capture!.status.confirmed;
        this.capture!.dispose();
        this.capture = this.newCapture(start);
        await this.repl?.close(); // a walsender refused with an error (55006 …) keeps its connection open
        if (this.stopping) return;
        this.repl = new ReplicationConnection(clientConfig(this.config.database));
        await this.repl.connect();
      },
      classify,
      stopped: () => this.stopping || this.halted,
      onError: (e) => (this.lastError = e as Error),
      onState: (state) => (this.state = state),
      ended: () => connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the replication stream ended'),
      log: this.log,
      label: 'postgres connector',
    });
  }

  private async heartbeat(): Promise<void> {
    try {
      await (await this.controlSql()).query("SELECT pg_logical_emit_message(false, 'tributary-heartbeat', '')");
    } catch (e) {
      this.log.warn('postgres connector: heartbeat failed', { error: String(e) });
    }
  }

  /**
   * Resolves when every database change committed before the call is in the realms and
   * acknowledged by the server (a transactional marker message travels through the stream).
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const r = await (await this.controlSql()).query(`SELECT pg_logical_emit_message(true, '${CONTROL_PREFIX}marker', '')::text AS lsn`);
    const target = parseLsn(r.rows[0].lsn);
    if (this.state === 'failed') throw this.lastError ?? new TributaryError('CONNECTOR_SOURCE_FAILED', 'the connector failed');
    if (this.capture && this.capture.status.confirmed >= target) return;
    await this.confirmations.wait(
      target,
      timeoutMs,
      () => new TributaryError('TIMEOUT', `the connector did not reach ${formatLsn(target)} in ${timeoutMs} ms (at ${formatLsn(this.capture?.status.confirmed ?? 0n)})`),
    );
  }

  status(): PostgresConnectorStatus {
    const s: CaptureStatus | undefined = this.capture?.status;
    return {
      state: this.state,
      slot: this.config.resolved.slotName,
      confirmedLsn: formatLsn(s?.confirmed ?? 0n),
      receivedLsn: formatLsn(s?.received ?? 0n),
      transactions: s?.transactions ?? 0,
      skippedOwnTransactions: s?.skippedOwn ?? 0,
      ownChanges: s?.ownChanges ?? 0,
      generatedReadBack: this.readback?.filled ?? 0,
      markers: s?.markers ?? 0,
      replayedSkipped: s?.replayedSkipped ?? 0,
      indexedRows: this.router?.indexedRows ?? 0,
      apply: this.applier ? { ...this.applier.status } : null,
      schema: this.evolution ? { ...this.evolution.status } : null,
      lag: { transactions: s?.pendingAcks ?? 0, seconds: s?.oldestUnconfirmedCommitTime ? Math.max(0, (Date.now() - s.oldestUnconfirmedCommitTime.getTime()) / 1000) : 0 },
      lastCommitTime: s?.lastCommitTime ? s.lastCommitTime.toISOString() : null,
      lastError: this.lastError ? String(this.lastError.message) : null,
      lastErrorCode: errorCodeOf(this.lastError),
      warnings: [...this.slotWatch.warnings],
    };
  }

  /**
   * `status()` plus what PostgreSQL says about the slot: retained WAL, `wal_status`,
   * `safe_wal_size`, lag in bytes behind the current WAL, the publication and the apply positions.
   * Works whether the connector runs or not (a stopped one opens a connection for the call).
   *
   * @example
   * const r = await connector.inspect();
   * if (r.database.slot.retainedBytes! > 1 << 30) alert(r.database.warnings);
   */
  async inspect(): Promise<PostgresConnectorReport> {
    const status = this.status();
    const database = this.sql ? await readDatabaseStatus(this.sql, this.config.resolved) : await withDatabase(this.config.database, (sql) => readDatabaseStatus(sql, this.config.resolved));
    return { ...status, database };
  }

  /**
   * Resets a stopped connector so that its next start loads afresh (the resync path): drops the
   * replication slot, deletes the connector's rows of `tributary_apply_position`, and removes the
   * completed-load record from the control realm `/tributary-connectors/<name>`. Refuses with
   * `PG_SLOT_ACTIVE` while a walsender streams from the slot. The mapped realms are left alone, so
   * clients keep reading them while the next start reloads (upserting every row).
   *
   * @example
   * await PostgresConnector.reset(config, { adminUser });
   * await new PostgresConnector(config, { adminUser }).start(); // fresh initial load
   */
  static async reset(config: PostgresConnectorConfig, options: PostgresConnectorOptions = {}): Promise<PostgresConnectorResetResult> {
    return new PostgresConnector(config, options).resetStopped();
  }

  /**
   * The dead letters of this connector (oldest first): realm transactions PostgreSQL refused or
   * that failed permanently, reset in the realms and kept with their instructions
   * (docs: "Dead letters"). Works on a stopped connector too.
   *
   * @example
   * for (const d of await connector.deadLetters()) console.log(d.id, d.realmPath, d.code, d.sqlstate, d.error);
   * await connector.clearDeadLetters([3]); // or clearDeadLetters() for all
   */
  async deadLetters(limit = 1000): Promise<DeadLetterRecord[]> {
    return this.withSql((sql) => this.deadLetterStore.list(sql, limit));
  }

  /**
   * The realm-js schema clients declare to create the first objects of a realm of this connector
   * that does not exist yet (realm-schema.ts); `realmSchemaOfConfig` gives it without starting.
   *
   * @example
   * const realm = await Realm.open({ schema: connector.realmSchema('/pagila/store/3'), sync: { user, url: server + '/pagila/store/3' } });
   */
  realmSchema(path: string): object[] {
    return publishedRealmSchema(this.mapping, path);
  }

  /** Deletes dead letters (all of this connector's without `ids`); returns how many. */
  async clearDeadLetters(ids?: number[]): Promise<number> {
    return this.withSql((sql) => this.deadLetterStore.clear(sql, ids));
  }

  private withSql<T>(fn: (sql: Client) => Promise<T>): Promise<T> {
    return this.sql && !this.stopping ? fn(this.sql) : withDatabase(this.config.database, fn);
  }

  /** Stops streaming after the acknowledged writes are confirmed; the slot is kept for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.capture) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.capture.drained(), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
    }
    this.sendStatus();
    this.rejectWaiters(connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the connector is stopping'));
    await this.applier?.stop();
    await this.shutdown();
    await this.loop?.catch(() => undefined);
    this.state = 'stopped';
  }

  private async shutdown(): Promise<void> {
    await this.applier?.stop();
    this.applier = null;
    await this.repl?.close();
    this.repl = null;
    await this.sql?.end().catch(() => undefined);
    this.sql = null;
    await this.evolution?.close();
    this.evolution = null;
    await this.readback?.close();
    this.readback = null;
    this.sink?.close();
    this.control?.close();
    this.adapter?.close();
    this.adapter = null;
  }

  // ── reset ──

  private async resetStopped(): Promise<PostgresConnectorResetResult> {
    const o = this.config.resolved;
    const dropped = await withDatabase(this.config.database, (sql) => dropDatabaseState(sql, o));
    this.log.info('postgres connector reset: slot and apply positions removed', { slot: o.slotName, ...dropped });
    const loadMarkCleared = await resetControlRealm({ config: this.config, name: o.name, admin: this.options.adminUser, label: 'postgres connector', databaseCleared: 'the slot is gone and the apply positions are deleted', nextStart: 'the next start reloads anyway because the slot is gone' });
    this.log.info('postgres connector reset: done; the next start loads from the database', { slot: o.slotName, loadMarkCleared });
    return { slot: o.slotName, ...dropped, loadMarkCleared };
  }
}

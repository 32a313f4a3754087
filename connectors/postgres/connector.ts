import * as fs from 'node:fs';
import { Client } from 'pg';
import { Adapter } from '../../src/adapter';
import { User } from '../../src/client';
import { TributaryError } from '../../src/errors';
import type { Realm } from '../../src/realm';
import { silentLogger, type Logger } from '../../src/server/logger';
import { ChangeApply, type ApplyStatus } from './apply';
import { ChangeCapture, type CaptureStatus } from './capture';
import { clientConfig, validateConfig, type PostgresConnectorConfig, type ResolvedOptions } from './config';
import { classify, connectorError, fromDriverError } from './errors';
import { initialLoad, indexPartitionedTables, type LoadProgress } from './load';
import { resolveMapping, type ResolvedMapping, type ResolvedPlacement } from './mapping';
import { formatLsn, parseLsn, stateSchema, STATE_TYPE, type Lsn } from './position';
import { RealmSink } from './realm-sink';
import { ReplicationConnection } from './replication';
import { RealmRouter } from './router';

export interface PostgresConnectorOptions {
  /** An admin user of the server (default: from the config's adminToken / adminTokenFile). */
  adminUser?: User;
  log?: Logger;
  onProgress?: (p: LoadProgress) => void;
}

export interface PostgresConnectorStatus {
  state: 'starting' | 'loading' | 'streaming' | 'retrying' | 'stopped' | 'failed';
  slot: string;
  /** Everything below this LSN is in the realms and acknowledged by the sync server. */
  confirmedLsn: string;
  receivedLsn: string;
  transactions: number;
  /** Own (replication-origin) transactions skipped: no echo. */
  skippedOwnTransactions: number;
  /** Replayed transactions a realm already held (after a restart). */
  replayedSkipped: number;
  indexedRows: number;
  /** Realm → database: Adapter transactions applied, replays skipped, instructions skipped. */
  apply: ApplyStatus | null;
  lastError: string | null;
}

/** Where the connector records that its slot and initial load are complete. */
export function controlRealmPath(name: string): string {
  return `/tributary-connectors/${name}`;
}

function placementPattern(mapping: ResolvedMapping, p: ResolvedPlacement): RegExp | null {
  switch (p.kind) {
    case 'fixed':
      return new RegExp('^' + p.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');
    case 'template':
      return new RegExp('^' + p.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    case 'follow':
      return placementPattern(mapping, mapping.tables.get(p.targetTable)!.placement);
    case 'function':
      return null;
  }
}

/**
 * PostgreSQL ↔ realms (CONNECTORS.md §2). Phase 1: database → realm — logical replication with
 * pgoutput into realms written through the Adapter's `realmAtPath`, an initial load from the
 * slot's exported snapshot, positions stored in the realms and the slot advanced only after the
 * server acknowledged.
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
export class PostgresConnector {
  readonly config: PostgresConnectorConfig & { resolved: ResolvedOptions };
  private readonly log: Logger;
  private sql: Client | null = null;
  private repl: ReplicationConnection | null = null;
  private adapter: Adapter | null = null;
  private sink: RealmSink | null = null;
  private router: RealmRouter | null = null;
  private capture: ChangeCapture | null = null;
  private applier: ChangeApply | null = null;
  private control: Realm | null = null;
  private mapping_: ResolvedMapping | null = null;
  private state: PostgresConnectorStatus['state'] = 'stopped';
  private lastError: Error | null = null;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private loop: Promise<void> | null = null;
  private serverVersion = 0;

  constructor(
    config: PostgresConnectorConfig,
    private readonly options: PostgresConnectorOptions = {},
  ) {
    this.config = validateConfig(config);
    this.log = (options.log ?? silentLogger).child({ connector: 'postgres', name: this.config.name });
  }

  get mapping(): ResolvedMapping {
    if (!this.mapping_) throw new TributaryError('INVALID_ARGUMENT', 'the connector has not started');
    return this.mapping_;
  }

  /** Validates, sets up publication and slot, loads if needed, and starts streaming. */
  async start(): Promise<void> {
    const o = this.config.resolved;
    this.state = 'starting';
    this.stopping = false;
    try {
      const sql = new Client(clientConfig(this.config.database));
      sql.on('error', (e) => this.log.warn('postgres connector: connection error', { error: String(e) }));
      this.sql = sql;
      await sql.connect().catch((e) => {
        throw fromDriverError(e, 'connecting to PostgreSQL');
      });
      await this.preflight(sql);
      this.mapping_ = await resolveMapping(sql, this.config, o);
      await this.ensurePublication(sql);

      const admin = this.options.adminUser ?? User.adminUser(this.adminToken(), this.config.serverUrl.replace(/^realm(s?):/, 'http$1:'));
      const patterns = [...this.mapping.tables.values()].map((t) => placementPattern(this.mapping, t.placement)).filter((r): r is RegExp => !!r);
      // Realm → database (apply.ts) reads the stream; capture only writes through realmAtPath (never returned by current).
      this.adapter = new Adapter(this.config.localPath, this.config.serverUrl, admin, (p: string) => patterns.some((r) => r.test(p)), (p: string) => this.applier?.schedule(p), undefined, { log: this.log });
      this.applier = new ChangeApply(this.adapter, this.mapping, clientConfig(this.config.database), o.name, o.originName, this.log);
      this.sink = new RealmSink(this.adapter, this.mapping, o.name);
      this.router = new RealmRouter(this.mapping);
      this.control = this.adapter.realmAtPath(controlRealmPath(o.name), [stateSchema as never]);
      await this.control.syncSession?.downloadAllServerChanges(60_000);

      const slot = await this.slotInfo(sql);
      const loaded = this.control.objectForPrimaryKey<{ resumeFrom: string }>(STATE_TYPE, o.name)?.resumeFrom;
      this.repl = new ReplicationConnection(clientConfig(this.config.database));
      await this.repl.connect();
      let confirmed: Lsn;
      if (slot && loaded) {
        this.log.info('postgres connector: resuming from the slot', { slot: o.slotName, confirmedFlush: slot.confirmed_flush_lsn });
        const paths = await indexPartitionedTables(sql, this.mapping, this.router);
        for (const p of paths) await this.sink.download(p);
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
        }
        this.control.write(() => this.control!.create(STATE_TYPE, { connector: o.name, resumeFrom: formatLsn(created.consistentPoint), updatedAt: new Date() }, 'modified'));
        await this.control.syncSession?.uploadAllLocalChanges(60_000);
        confirmed = created.consistentPoint;
      }
      this.capture = this.newCapture(confirmed);
      this.state = 'streaming';
      this.loop = this.run(confirmed);
      await this.applier.start();
      this.timers.push(setInterval(() => this.sendStatus(), 10_000));
      if (o.heartbeatIntervalMs > 0) this.timers.push(setInterval(() => void this.heartbeat(), o.heartbeatIntervalMs));
      for (const t of this.timers) t.unref();
    } catch (e) {
      this.state = 'failed';
      this.lastError = e as Error;
      await this.shutdown();
      throw e;
    }
  }

  private newCapture(confirmed: Lsn): ChangeCapture {
    const c = new ChangeCapture(this.mapping, this.sink!, this.router!, this.log, this.config.resolved.originName, confirmed);
    c.onConfirm = () => this.sendStatus();
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

  private async run(from: Lsn): Promise<void> {
    let attempt = 0;
    let start = from;
    while (!this.stopping) {
      const pluginOptions: Record<string, string> = { proto_version: '1', publication_names: this.config.resolved.publicationName };
      if (this.serverVersion >= 140000) pluginOptions.messages = 'true';
      try {
        await this.repl!.start(this.config.resolved.slotName, start, pluginOptions, (f) => this.capture!.handleFrame(f));
        if (this.stopping) return;
        throw connectorError('CONNECTOR_SOURCE_UNAVAILABLE', 'the replication stream ended');
      } catch (e) {
        if (this.stopping) return;
        this.lastError = e as Error;
        if (classify(e) === 'permanent') {
          this.state = 'failed';
          this.log.error('postgres connector: stopped', { error: String(e) });
          return;
        }
        this.state = 'retrying';
        const delay = Math.min(30_000, 200 * 2 ** attempt++) * (0.5 + Math.random() / 2);
        this.log.warn('postgres connector: stream lost; retrying', { error: String(e), delayMs: Math.round(delay) });
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopping) return;
        try {
          await this.capture!.drained();
          start = this.capture!.status.confirmed;
          this.capture = this.newCapture(start);
          this.repl = new ReplicationConnection(clientConfig(this.config.database));
          await this.repl.connect();
          this.state = 'streaming';
          attempt = 0;
        } catch (e2) {
          this.lastError = e2 as Error;
        }
      }
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.sql?.query("SELECT pg_logical_emit_message(false, 'tributary-heartbeat', '')");
    } catch (e) {
      this.log.warn('postgres connector: heartbeat failed', { error: String(e) });
    }
  }

  /**
   * Resolves when every database change committed before the call is in the realms and
   * acknowledged by the server (a transactional marker message travels through the stream).
   */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const r = await this.sql!.query("SELECT pg_logical_emit_message(true, 'tributary-marker', '')::text AS lsn");
    const target = parseLsn(r.rows[0].lsn);
    const deadline = Date.now() + timeoutMs;
    while (!this.capture || this.capture.status.confirmed < target) {
      if (this.state === 'failed') throw this.lastError ?? new Error('the connector failed');
      if (Date.now() > deadline) throw new TributaryError('TIMEOUT', `the connector did not reach ${formatLsn(target)} in ${timeoutMs} ms (at ${formatLsn(this.capture?.status.confirmed ?? 0n)})`);
      await new Promise((res) => setTimeout(res, 20));
    }
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
      replayedSkipped: s?.replayedSkipped ?? 0,
      indexedRows: this.router?.indexedRows ?? 0,
      apply: this.applier ? { ...this.applier.status } : null,
      lastError: this.lastError ? String(this.lastError.message) : null,
    };
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
    this.sink?.close();
    if (this.control && !this.control.isClosed) this.control.close();
    this.adapter?.close();
    this.adapter = null;
  }

  private adminToken(): string {
    if (this.config.adminToken) return this.config.adminToken;
    if (this.config.adminTokenFile) {
      const parsed = JSON.parse(fs.readFileSync(this.config.adminTokenFile, 'utf8')) as { ADMIN_TOKEN?: string };
      if (parsed.ADMIN_TOKEN) return parsed.ADMIN_TOKEN;
    }
    throw new TributaryError('CONFIG_INVALID', 'postgres connector config: give adminToken or adminTokenFile (data/keys/admin.json), or pass options.adminUser');
  }

  private async preflight(sql: Client): Promise<void> {
    const v = await sql.query("SELECT current_setting('server_version_num')::int AS v, current_setting('wal_level') AS wal, current_user AS role, r.rolreplication, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user");
    const row = v.rows[0] as { v: number; wal: string; role: string; rolreplication: boolean; rolsuper: boolean };
    this.serverVersion = row.v;
    if (row.v < 130000) throw connectorError('CONNECTOR_SOURCE_FAILED', `PostgreSQL ${row.v} is too old: the connector needs 13 or later (publish_via_partition_root)`);
    if (row.wal !== 'logical') {
      throw connectorError('PG_WAL_LEVEL_NOT_LOGICAL', `PostgreSQL runs with wal_level = ${row.wal}; logical replication needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical (or edit postgresql.conf) and restart PostgreSQL`);
    }
    if (!row.rolreplication && !row.rolsuper) {
      throw connectorError('PG_REPLICATION_PRIVILEGE', `role ${row.role} may not replicate: run ALTER ROLE "${row.role}" WITH REPLICATION and allow "replication" connections for it in pg_hba.conf`);
    }
  }

  private async ensurePublication(sql: Client): Promise<void> {
    const o = this.config.resolved;
    const list = [...this.mapping.tables.values()].map((t) => t.qualified).join(', ');
    const exists = await sql.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [o.publicationName]);
    try {
      if (exists.rows.length === 0) await sql.query(`CREATE PUBLICATION "${o.publicationName}" FOR TABLE ${list} WITH (publish_via_partition_root = true)`);
      else {
        await sql.query(`ALTER PUBLICATION "${o.publicationName}" SET TABLE ${list}`);
        await sql.query(`ALTER PUBLICATION "${o.publicationName}" SET (publish_via_partition_root = true)`);
      }
    } catch (e) {
      throw fromDriverError(e, `creating publication ${o.publicationName} (the role must own the tables or be superuser)`);
    }
  }

  private async slotInfo(sql: Client): Promise<{ plugin: string; confirmed_flush_lsn: string | null; wal_status: string | null } | null> {
    const o = this.config.resolved;
    const r = await sql.query('SELECT plugin, confirmed_flush_lsn::text, wal_status, database FROM pg_replication_slots WHERE slot_name = $1', [o.slotName]);
    if (r.rows.length === 0) return null;
    const s = r.rows[0];
    const db = (await sql.query('SELECT current_database() AS d')).rows[0].d;
    if (s.plugin !== 'pgoutput' || s.database !== db) throw connectorError('PG_SLOT_INVALID', `replication slot ${o.slotName} exists for plugin ${s.plugin} in database ${s.database}; drop it or choose another slotName`);
    if (s.wal_status === 'lost') throw connectorError('PG_SLOT_INVALID', `replication slot ${o.slotName} was invalidated (WAL removed, max_slot_wal_keep_size); drop it (SELECT pg_drop_replication_slot('${o.slotName}')) and the connector's control realm ${controlRealmPath(o.name)} to reload`);
    return s;
  }
}

import { Client, type ClientConfig } from 'pg';
import type { Adapter, AdapterTransaction } from '../../src/adapter';
import type { AdapterInstruction, AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { ApplyLoop, type ApplyTarget } from '../kit/apply-loop';
import { PendingRealmWrites, type CaptureProtection } from '../kit/conflict';
import { freshTransactions, rejectTransaction, type ApplyPositionStore } from '../kit/reject';
import type { ApplyStatus } from '../kit/status';
import { InstructionNotes, touch } from '../kit/touched';
import { collectTouched } from './apply-collect';
import { RowRace, RowWriter, type Collected, type InsertConflict } from './apply-rows';
import type { DeadLetterStore } from './dead-letters';
import { connectorError, pgErrors } from './errors';
import type { ResolvedMapping, ResolvedTable } from './mapping';
import { APPLIED_PREFIX, appliedMessage } from './own-writes';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';

export { keyFromIdentity } from './apply-rows';
export { toParam } from './types';
export type { ApplyStatus } from '../kit/status';

/** Where the apply side records, per realm, the last Adapter transaction it committed. */
export const APPLY_POSITION_TABLE = 'tributary_apply_position';

type Sql = Pick<Client, 'query'>;

const WRITE_POSITION = `INSERT INTO ${APPLY_POSITION_TABLE} (connector, realm_path, txn) VALUES ($1, $2, $3) ON CONFLICT (connector, realm_path) DO UPDATE SET txn = EXCLUDED.txn`;

/**
 * The position write and the batch's applied-rows message (own-writes.ts) in one statement, one
 * round trip fewer per batch. The CTE holds a volatile function, so PostgreSQL evaluates it once,
 * as the row the INSERT selects from.
 */
const WRITE_POSITION_WITH_MESSAGE = `WITH applied AS (SELECT pg_logical_emit_message(true, $4, $5)) INSERT INTO ${APPLY_POSITION_TABLE} (connector, realm_path, txn) SELECT $1, $2, $3 FROM applied ON CONFLICT (connector, realm_path) DO UPDATE SET txn = EXCLUDED.txn`;

/** The kit's {@link ApplyPositionStore} in `tributary_apply_position`, one row per connector and realm. */
export function pgApplyPositions(connector: string): ApplyPositionStore<Sql> {
  return {
    ensure: async (sql) => {
      await sql.query(`CREATE TABLE IF NOT EXISTS ${APPLY_POSITION_TABLE} (connector text NOT NULL, realm_path text NOT NULL, txn bigint NOT NULL, PRIMARY KEY (connector, realm_path))`);
    },
    read: async (sql, path) => {
      const r = await sql.query(`SELECT txn FROM ${APPLY_POSITION_TABLE} WHERE connector = $1 AND realm_path = $2 FOR UPDATE`, [connector, path]);
      return r.rows.length > 0 ? Number(r.rows[0].txn) : 0;
    },
    write: async (sql, path, txn) => {
      await sql.query(WRITE_POSITION, [connector, path, txn]);
    },
  };
}

/** What the connector provides the apply side. */
export interface ApplyHooks {
  /**
   * Resolves when capture has processed every database transaction committed before the call
   * (a WAL barrier: a logical message that capture sees after them).
   */
  barrier(sql: Client): Promise<void>;
  /** Realm schema additions for a mapped type (schema evolution), inside the apply transaction. */
  onRealmProperties?(sql: Client, table: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void>;
  /** The database cannot take the writes at all (a `configuration` failure): apply has stopped; the connector stops with the error. */
  onStopped?(error: Error): void;
}

/** How apply keeps its dead letters (PostgreSQL's table). */
export interface ApplyPolicy {
  deadLetters: DeadLetterStore<Client>;
}

/**
 * Realm → PostgreSQL (CONNECTORS.md §1): the PostgreSQL {@link ApplyTarget} of the kit's
 * {@link ApplyLoop}, which schedules realms, retries, isolates refused transactions and stops on
 * configuration errors. Per batch of realm transactions it writes the realm's current merged state
 * of every object they touched — upserted rows for objects that exist, deletes for objects that are
 * gone — in one PostgreSQL transaction that also stores the Adapter position (exactly once across
 * crashes) and carries the connector's replication origin (capture skips it: no echo).
 *
 * Convergence: the touched rows are locked first, then a WAL barrier waits until capture has
 * written every database transaction committed before the lock into the realm. The values read
 * afterwards therefore already hold any racing database write, merged by the conflict policy
 * (`database-wins`: capture's write is the later realm write; `realm-wins`: capture leaves
 * properties with unapplied realm changes alone), and no database write can slip in between.
 */
export class ChangeApply implements ApplyTarget, CaptureProtection<ResolvedTable> {
  private sql: Client | null = null;
  private readonly loop: ApplyLoop;
  private readonly rows: RowWriter;
  private readonly notes: InstructionNotes;
  private readonly protection: PendingRealmWrites<ResolvedTable>;
  private readonly positions: ApplyPositionStore<Sql>;

  constructor(
    adapter: Adapter,
    private readonly mapping: ResolvedMapping,
    private readonly clientConfig: ClientConfig,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly hooks: ApplyHooks,
    private readonly log: Logger,
    private readonly policy: ApplyPolicy,
  ) {
    this.loop = new ApplyLoop(adapter, this, {
      batch: mapping.options.applyBatch,
      classify: (e) => pgErrors.classifyApply(e),
      driverCode: (e) => pgErrors.driverCode(e),
      database: 'PostgreSQL',
      label: 'postgres connector',
      log,
      onStopped: (e) => hooks.onStopped?.(e),
    });
    this.notes = new InstructionNotes(this.loop.status, log, 'postgres connector');
    this.rows = new RowWriter(mapping, sink, router, this.loop.status, (id, message, fields) => this.notes.note(id, message, fields));
    this.positions = pgApplyPositions(mapping.options.name);
    this.protection = new PendingRealmWrites(adapter, (path, txs) => this.notes.silently(() => this.collect(path, txs)));
  }

  get status(): ApplyStatus {
    return this.loop.status;
  }

  get lastTable(): string | null {
    return this.rows.lastTable;
  }

  start(): Promise<void> {
    return this.loop.start();
  }

  /** The Adapter's change callback. */
  schedule(path: string): void {
    this.loop.schedule(path);
  }

  get idle(): boolean {
    return this.loop.idle;
  }

  drained(): Promise<void> {
    return this.loop.drained();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  // ── ApplyTarget ──

  async prepare(): Promise<void> {
    const sql = await this.connect();
    await this.positions.ensure(sql);
    await this.policy.deadLetters.ensure(sql);
  }

  private async connect(): Promise<Client> {
    if (this.sql) return this.sql;
    const sql = new Client({ ...this.clientConfig, application_name: `tributary_${this.mapping.options.name}_apply` });
    sql.on('error', (e) => {
      this.log.warn('postgres connector apply: connection error', { error: String(e) });
      if (this.sql === sql) this.sql = null;
    });
    await sql.connect();
    const origin = this.mapping.options.originName;
    const o = await sql.query('SELECT 1 FROM pg_replication_origin WHERE roname = $1', [origin]);
    if (o.rows.length === 0) {
      try {
        await sql.query('SELECT pg_replication_origin_create($1)', [origin]);
      } catch (e) {
        if ((e as { code?: string }).code !== '23505') throw e; // created concurrently
      }
    }
    // The origin is the database half of "no echo": capture skips what this session commits.
    await sql.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
    this.sql = sql;
    return sql;
  }

  dropConnection(): void {
    const sql = this.sql;
    this.sql = null;
    void sql?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.sql?.end().catch(() => undefined);
    this.sql = null;
  }

  isRace(e: unknown): boolean {
    return e instanceof RowRace;
  }

  /** One PostgreSQL transaction for `txs`. */
  async applyBatch(path: string, txs: AdapterTransaction[]): Promise<{ applied: number; skipped: number }> {
    const through = txs[txs.length - 1].transaction ?? 0;
    const sql = await this.connect();
    await sql.query('BEGIN');
    try {
      const fresh = freshTransactions(txs, await this.positions.read(sql, path), this.mapping.options.initialLoad);
      if (fresh.length === 0) {
        await sql.query('ROLLBACK');
        return { applied: 0, skipped: txs.length };
      }
      this.notes.reset();
      this.rows.startBatch();
      const c = this.collect(path, fresh);
      for (const s of c.schema) await this.hooks.onRealmProperties?.(sql, s.table, s.properties);
      for (const t of c.clears) for (const key of await this.rows.keysInRealm(sql, path, t)) touch(c, t, key, 'all');
      const existing = await this.rows.lock(sql, c);
      await this.hooks.barrier(sql);
      await this.rows.writeObjects(sql, path, this.sink.realm(path), c, existing);
      await this.writePosition(sql, path, through);
      await sql.query('COMMIT');
      this.router.lists.committed();
      this.notes.committed();
      return { applied: fresh.length, skipped: txs.length - fresh.length };
    } catch (e) {
      this.router.lists.rolledBack(); // before the locks go: no capture change of those owners can interleave
      await sql.query('ROLLBACK').catch(() => undefined);
      const conflict = (e as Partial<InsertConflict>).insertConflict;
      if (conflict) {
        // A key that has a row now, though it had none at the lock, raced us; otherwise the database refused a value.
        const key = await this.rows.firstExisting(sql, conflict.t, conflict.keys).catch(() => null);
        if (key !== null) throw new RowRace(conflict.t.table, key, 'inserted');
      }
      throw e;
    }
  }

  /** Rejects one realm transaction into a dead letter (the kit's reject.ts). */
  async reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<void> {
    const sql = await this.connect();
    this.notes.reset(); // a rejected transaction's left-out instructions are not reported as skipped
    await rejectTransaction(
      {
        transaction: async (fn) => {
          await sql.query('BEGIN');
          try {
            const r = await fn(sql);
            await sql.query('COMMIT');
            return r;
          } catch (e) {
            await sql.query('ROLLBACK').catch(() => undefined);
            throw e;
          }
        },
        positions: this.positions,
        deadLetters: this.policy.deadLetters,
        touched: (p, t) => [...collectTouched(this.mapping, p, [t], () => undefined).objects.values()],
        readRow: (q, t, key) => this.rows.readRow(q as Client, t, key),
        realm: (p) => this.sink.realm(p),
        resetObject: (realm, t, key, row) => {
          if (row) {
            this.sink.upsert(realm, t, row);
            this.router.lists.rebuild(realm, t, key);
          } else this.sink.remove(realm, t, key);
        },
        driverCode: (e) => pgErrors.driverCode(e),
        status: this.loop.status,
        log: this.log,
        label: 'postgres connector',
        database: 'PostgreSQL',
      },
      path,
      tx,
      error,
      kind,
    );
  }

  /**
   * Writes the position, and tells capture which rows this batch wrote (a transactional logical
   * message, committed with them): capture skips those changes of the connector's own transaction
   * and writes the others — rows a cascade or a trigger changed — into the realms.
   */
  private async writePosition(sql: Client, path: string, through: number): Promise<void> {
    const content = appliedMessage(this.rows.written, this.router.lists.writtenIdentities(), path, through);
    await sql.query(WRITE_POSITION_WITH_MESSAGE, [this.mapping.options.name, path, through, APPLIED_PREFIX, content]);
  }

  /** What a batch of realm transactions touched (the kit's touched.ts). */
  collect(path: string, txs: AdapterInstruction[][]): Collected {
    return collectTouched(this.mapping, path, txs, this.notes.note);
  }

  /** For `realm-wins` (the kit's conflict.ts): the properties of `(t, key)` in `path` that unapplied realm transactions change. */
  protectedProperties(path: string, t: ResolvedTable, key: ObjectKey): Set<string> | 'all' | null {
    return this.protection.protectedProperties(path, t, key);
  }

  appliedInStream(path: string, through: number): void {
    this.protection.appliedInStream(path, through);
  }

  resetProtection(): void {
    this.protection.resetProtection();
  }
}

/** The error a barrier raises when capture does not reach it in time (retried). */
export function barrierTimeout(ms: number): Error {
  return connectorError('CONNECTOR_SOURCE_UNAVAILABLE', `capture did not reach the apply barrier within ${ms} ms (is the replication stream down?); the realm transactions are retried`);
}

import { Client, type ClientConfig } from 'pg';
import type { Adapter, AdapterTransaction } from '../../src/adapter';
import type { AdapterInstruction, AdapterPropertyDescription } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import { Backoff } from '../../src/shared/backoff';
import type { Logger } from '../../src/shared/logger';
import { collectTouched, touch } from './apply-collect';
import { configurationError, errorText, rejectTransaction, sqlstateOf } from './apply-failures';
import { objectId, RowRace, RowWriter, type Collected, type InsertConflict } from './apply-rows';
import type { DeadLetterStore } from './dead-letters';
import { classifyApplyError, connectorError, type ApplyFailureKind } from './errors';
import type { ResolvedMapping, ResolvedTable } from './mapping';
import { APPLIED_PREFIX, appliedMessage } from './own-writes';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';

export { keyFromIdentity } from './apply-rows';
export { toParam } from './types';

/** Where the apply side records, per realm, the last Adapter transaction it committed. */
export const APPLY_POSITION_TABLE = 'tributary_apply_position';

export interface ApplyStatus {
  /** Adapter transactions committed to PostgreSQL. */
  applied: number;
  /** Adapter transactions skipped because PostgreSQL already held them (after a crash). */
  alreadyApplied: number;
  /** PostgreSQL transactions written (each holds up to `applyBatch` Adapter transactions). */
  batches: number;
  /** Rows upserted or deleted. */
  rows: number;
  /** Adapter transactions PostgreSQL refused (constraints, triggers' exceptions, values a column cannot hold); their objects were reset to the database's rows and each kept as a dead letter. */
  rejected: number;
  /** Adapter transactions that failed permanently for another reason; reset and kept as dead letters like refusals. */
  failed: number;
  /** Dead letters recorded by this run (`rejected` + `failed`); the stored ones: `deadLetters()`, `tributary connector postgres status`. */
  deadLetters: number;
  /** Batches run again because a database INSERT of a key they write committed after their row locks. */
  races: number;
  /** Instructions with no database effect: unmapped types or properties, CHANGE_IDENTITY (logged as warnings). */
  skippedInstructions: number;
  /** Realms whose next transaction waits for a retry after a failure. */
  retrying: number;
  lastError: string | null;
}

/** What the connector provides the apply side. */
export interface ApplyHooks {
  /**
   * Resolves when capture has processed every database transaction committed before the call
   * (a WAL barrier: a non-transactional logical message that capture sees after them).
   */
  barrier(sql: Client): Promise<void>;
  /** Realm schema additions for a mapped type (schema evolution), inside the apply transaction. */
  onRealmProperties?(sql: Client, table: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void>;
  /** The database cannot take the writes at all (a `configuration` failure): apply has stopped; the connector stops with the error. */
  onStopped?(error: Error): void;
}

/** How apply meets its failures; the defaults are PostgreSQL's. */
export interface ApplyPolicy {
  deadLetters: DeadLetterStore<Client>;
  /** Default: {@link classifyApplyError} (SQLSTATEs). */
  classify?: (e: unknown) => ApplyFailureKind;
}

/** Retry of a failed batch: 250 ms doubling to 30 s, jittered (at least 125 ms). */
const APPLY_BACKOFF = { initialMs: 250, maxMs: 30_000 };

/** Immediate runs of a batch a concurrent database INSERT raced before it waits for the back-off retry. */
const RACE_RETRIES = 20;

const permanent = (kind: ApplyFailureKind): kind is 'refused' | 'failed' => kind === 'refused' || kind === 'failed';

/**
 * Realm → PostgreSQL (CONNECTORS.md §1). Consumes the Adapter stream of the mapped realms and
 * writes, per batch of realm transactions, the realm's current merged state of every object they
 * touched — upserted rows for objects that exist, deletes for objects that are gone — in one
 * PostgreSQL transaction that also stores the Adapter position (exactly once across crashes) and
 * carries the connector's replication origin (capture skips it: no echo).
 *
 * Convergence: the touched rows are locked first, then a WAL barrier waits until capture has
 * written every database transaction committed before the lock into the realm. The values read
 * afterwards therefore already hold any racing database write, merged by the conflict policy
 * (`database-wins`: capture's write is the later realm write; `realm-wins`: capture leaves
 * properties with unapplied realm changes alone), and no database write can slip in between.
 * Writing state rather than replaying instructions makes list edits, counters (ADD_INTEGER) and
 * CLEAR exact whatever was merged in between.
 */
export class ChangeApply {
  readonly status: ApplyStatus = { applied: 0, alreadyApplied: 0, batches: 0, rows: 0, rejected: 0, failed: 0, deadLetters: 0, races: 0, skippedInstructions: 0, retrying: 0, lastError: null };
  private sql: Client | null = null;
  private pending = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private busy = 0;
  private started = false;
  private stopped = false;
  private readonly backoffs = new Map<string, Backoff>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly warned = new Set<string>();
  private protectCache = new Map<string, Map<string, Set<string> | 'all'>>();

  constructor(
    private readonly adapter: Adapter,
    private readonly mapping: ResolvedMapping,
    private readonly clientConfig: ClientConfig,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly hooks: ApplyHooks,
    private readonly log: Logger,
    private readonly policy: ApplyPolicy,
  ) {
    this.rows = new RowWriter(mapping, sink, router, this.status, (id, message, fields) => this.note(id, message, fields));
    this.classify = policy.classify ?? classifyApplyError;
  }

  private readonly rows: RowWriter;
  private readonly classify: (e: unknown) => ApplyFailureKind;

  private get connectorName(): string {
    return this.mapping.options.name;
  }

  async start(): Promise<void> {
    const sql = await this.connect();
    await sql.query(`CREATE TABLE IF NOT EXISTS ${APPLY_POSITION_TABLE} (connector text NOT NULL, realm_path text NOT NULL, txn bigint NOT NULL, PRIMARY KEY (connector, realm_path))`);
    await this.policy.deadLetters.ensure(sql);
    this.started = true;
    for (const p of this.adapter.paths) if (this.adapter.pendingCount(p) > 0) this.pending.add(p);
    for (const p of [...this.pending]) this.schedule(p);
  }

  private async connect(): Promise<Client> {
    if (this.sql) return this.sql;
    const sql = new Client({ ...this.clientConfig, application_name: `tributary_${this.connectorName}_apply` });
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
    await sql.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
    this.sql = sql;
    return sql;
  }

  private dropConnection(): void {
    const sql = this.sql;
    this.sql = null;
    void sql?.end().catch(() => undefined);
  }

  /** The Adapter's change callback: drains `path` (serialised with every other path). */
  schedule(path: string): void {
    if (this.stopped) return;
    this.pending.add(path);
    if (!this.started || this.retryTimers.has(path)) return;
    this.busy++;
    this.chain = this.chain
      .then(() => this.drain(path))
      .catch((e) => this.failed(path, e))
      .finally(() => this.busy--);
  }

  /** True when nothing is scheduled, running or waiting for a retry. */
  get idle(): boolean {
    return this.busy === 0 && this.retryTimers.size === 0;
  }

  /** Resolves when everything scheduled so far is applied (or failed). */
  drained(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    await this.chain.catch(() => undefined);
    await this.sql?.end().catch(() => undefined);
    this.sql = null;
  }

  /**
   * A batch failed with something a rejection does not settle: a transient error (or a race that
   * kept racing) is retried with back-off; a configuration error stops the connector.
   */
  private failed(path: string, e: unknown): void {
    if (this.stopped) return;
    const kind = this.classify(e);
    const sqlstate = sqlstateOf(e);
    this.status.lastError = `${errorText(e)}${sqlstate ? ` [${sqlstate}]` : ''}`;
    if (kind === 'configuration') {
      this.halt(configurationError(path, this.rows.lastTable, e));
      return;
    }
    let backoff = this.backoffs.get(path);
    if (!backoff) this.backoffs.set(path, (backoff = new Backoff(APPLY_BACKOFF)));
    if (kind === 'transient' || kind === 'failed') this.dropConnection();
    const delay = backoff.next(APPLY_BACKOFF.initialMs / 2);
    const attempt = backoff.attempts;
    const fields = { path, attempt, delayMs: delay, kind, sqlstate, error: errorText(e) };
    // A rejection that could not be written (kind refused / failed here) is unexpected; the rest passes on its own.
    if (kind === 'transient' || kind === 'race') this.log.warn('postgres connector apply: failed; the realm transactions stay in the Adapter log and are retried', fields);
    else this.log.error('postgres connector apply: could not reject a failed realm transaction; retried', fields);
    this.status.retrying = this.retryTimers.size + 1;
    const timer = setTimeout(() => {
      this.retryTimers.delete(path);
      this.status.retrying = this.retryTimers.size;
      this.schedule(path);
    }, delay);
    timer.unref();
    this.retryTimers.set(path, timer);
  }

  /** Stops applying (every realm) and hands the error to the connector. */
  private halt(error: Error): void {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    this.status.retrying = 0;
    this.status.lastError = error.message;
    this.log.error('postgres connector apply: stopped', { code: (error as { code?: string }).code, error: error.message });
    this.hooks.onStopped?.(error);
  }

  private async drain(path: string): Promise<void> {
    this.pending.delete(path);
    const limit = this.mapping.options.applyBatch;
    while (!this.stopped) {
      const txs = this.adapter.pending(path, limit);
      if (txs.length === 0) break;
      const through = await this.applyOrIsolate(path, txs);
      if (this.stopped) return;
      this.adapter.advance(path, through);
      this.backoffs.delete(path);
    }
  }

  /**
   * Applies a batch; when it fails permanently (refused, or failed), applies its transactions one
   * by one so that only the transactions that fail on their own are rejected into dead letters.
   */
  private async applyOrIsolate(path: string, txs: AdapterTransaction[]): Promise<number> {
    try {
      return await this.applyRacing(path, txs);
    } catch (e) {
      const kind = this.classify(e);
      if (!permanent(kind)) throw e;
      if (txs.length === 1) return this.reject(path, txs[0], e, kind);
      let through = 0;
      for (const tx of txs) {
        try {
          through = await this.applyRacing(path, [tx]);
        } catch (e1) {
          const kind1 = this.classify(e1);
          if (!permanent(kind1)) throw e1;
          through = await this.reject(path, tx, e1, kind1);
        }
      }
      return through;
    }
  }

  /**
   * Runs a batch again at once when a database INSERT of a key it writes raced its lock (RowRace):
   * the next run locks that row. A key inserted and deleted on the database side in a tight loop
   * can race again; after `RACE_RETRIES` runs the batch goes to the back-off retry.
   */
  private async applyRacing(path: string, txs: AdapterTransaction[]): Promise<number> {
    for (let run = 1; ; run++) {
      try {
        return await this.applyBatch(path, txs);
      } catch (e) {
        // A database INSERT after the locks (RowRace), or an object a client deleted while the batch ran (OBJECT_INVALIDATED).
        if (!(e instanceof RowRace || this.classify(e) === 'race') || run >= RACE_RETRIES || this.stopped) throw e;
        this.status.races++;
        this.log.debug('postgres connector apply: a concurrent write raced the batch; running it again', { path, run, error: errorText(e) });
        await new Promise((r) => setTimeout(r, Math.random() * 10 * run));
      }
    }
  }

  private async storedPosition(sql: Client, path: string): Promise<number> {
    const r = await sql.query(`SELECT txn FROM ${APPLY_POSITION_TABLE} WHERE connector = $1 AND realm_path = $2 FOR UPDATE`, [this.connectorName, path]);
    return r.rows.length > 0 ? Number(r.rows[0].txn) : 0;
  }

  private async storePosition(sql: Client, path: string, txn: number): Promise<void> {
    await sql.query(
      `INSERT INTO ${APPLY_POSITION_TABLE} (connector, realm_path, txn) VALUES ($1, $2, $3) ON CONFLICT (connector, realm_path) DO UPDATE SET txn = EXCLUDED.txn`,
      [this.connectorName, path, txn],
    );
  }

  /** One PostgreSQL transaction for `txs`; returns the last transaction number. */
  private async applyBatch(path: string, txs: AdapterTransaction[]): Promise<number> {
    const through = txs[txs.length - 1].transaction ?? 0;
    const sql = await this.connect();
    await sql.query('BEGIN');
    try {
      const stored = await this.storedPosition(sql, path);
      // initialLoad 'none': the realm's state as the connector first downloaded it is not copied out.
      const fresh = txs.filter((tx) => (tx.transaction ?? 0) > stored && !(stored === 0 && tx.origin === 'snapshot' && this.mapping.options.initialLoad === 'none'));
      if (fresh.length === 0) {
        await sql.query('ROLLBACK');
        this.status.alreadyApplied += txs.length;
        return through;
      }
      this.notes = [];
      this.rows.startBatch();
      const c = this.collect(path, fresh);
      for (const s of c.schema) await this.hooks.onRealmProperties?.(sql, s.table, s.properties);
      for (const t of c.clears) for (const key of await this.rows.keysInRealm(sql, path, t)) touch(c, t, key, 'all');
      const existing = await this.rows.lock(sql, c);
      await this.hooks.barrier(sql);
      await this.rows.writeObjects(sql, path, this.sink.realm(path), c, existing);
      await this.emitApplied(sql);
      await this.storePosition(sql, path, through);
      await sql.query('COMMIT');
      this.router.lists.committed();
      for (const n of this.notes.splice(0)) this.warnOnce(...n);
      this.status.applied += fresh.length;
      this.status.alreadyApplied += txs.length - fresh.length;
      this.status.batches++;
      return through;
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

  /** Rejects one realm transaction into a dead letter (apply-failures.ts). */
  private async reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<number> {
    const sql = await this.connect();
    this.notes = []; // a rejected transaction's left-out instructions are not reported as skipped
    return rejectTransaction(
      { mapping: this.mapping, sink: this.sink, router: this.router, rows: this.rows, deadLetters: this.policy.deadLetters, status: this.status, log: this.log, storedPosition: (q, p) => this.storedPosition(q, p), storePosition: (q, p, n) => this.storePosition(q, p, n) },
      sql,
      path,
      tx,
      error,
      kind,
    );
  }

  /**
   * Tells capture which rows this batch wrote (a transactional logical message, committed with
   * them): capture skips those changes of the connector's own transaction and writes the others —
   * rows a cascade or a trigger changed — into the realms.
   */
  private async emitApplied(sql: Client): Promise<void> {
    const content = appliedMessage(this.rows.written, this.router.lists.writtenIdentities());
    if (content !== null) await sql.query('SELECT pg_logical_emit_message(true, $1, $2)', [APPLIED_PREFIX, content]);
  }

  /** What the batch being applied leaves out; counted and logged once it commits (not again on a retry). */
  private notes: [string, string, Record<string, unknown>][] = [];

  private note(id: string, message: string, fields: Record<string, unknown>): void {
    this.notes.push([id, message, fields]);
  }

  private warnOnce(id: string, message: string, fields: Record<string, unknown>): void {
    this.status.skippedInstructions++;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.log.warn(`postgres connector apply: ${message}`, fields);
  }

  /** What a batch of realm transactions touched (apply-collect.ts). */
  collect(path: string, txs: AdapterInstruction[][]): Collected {
    return collectTouched(this.mapping, path, txs, (id, message, fields) => this.note(id, message, fields));
  }

  /**
   * For `realm-wins`: the properties of `(t, key)` in `path` that realm transactions the connector
   * has received but not yet applied change ('all' for an insert or delete), or null. Capture
   * leaves those alone; apply then writes the realm's values over the database's.
   */
  protectedProperties(path: string, t: ResolvedTable, key: ObjectKey): Set<string> | 'all' | null {
    let index = this.protectCache.get(path);
    if (!index) {
      index = new Map();
      const saved = this.notes; // collecting for protection reports nothing
      this.notes = [];
      if (this.adapter.pendingCount(path) > 0) for (const o of this.collect(path, this.adapter.pending(path)).objects.values()) index.set(objectId(o.table, o.key), o.props);
      this.notes = saved;
      this.protectCache.set(path, index);
    }
    return index.get(objectId(t, key)) ?? null;
  }

  /** Forgets what `protectedProperties` read (capture calls it before each database transaction). */
  resetProtection(): void {
    this.protectCache.clear();
  }

}

/** The error a barrier raises when capture does not reach it in time (retried). */
export function barrierTimeout(ms: number): Error {
  return connectorError('CONNECTOR_SOURCE_UNAVAILABLE', `capture did not reach the apply barrier within ${ms} ms (is the replication stream down?); the realm transactions are retried`);
}

import type { ConnectionPool } from 'mssql';
import type { Adapter, AdapterTransaction } from '../../src/adapter';
import type { AdapterInstruction, AdapterPropertyDescription, Identity } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { ApplyLoop, type ApplyTarget } from '../kit/apply-loop';
import { PendingRealmWrites, type CaptureProtection } from '../kit/conflict';
import type { DeadLetterStore } from '../kit/dead-letters';
import { freshTransactions, rejectTransaction, type ApplyPositionStore } from '../kit/reject';
import type { ApplyStatus } from '../kit/status';
import { collectTouched, identityKey, InstructionNotes, touch } from '../kit/touched';
import { RowRace, RowWriter, type Collected } from './apply-rows';
import { inTransaction, sqlOn, type Sql } from './db';
import { mssqlErrors } from './errors';
import type { ResolvedMapping, ResolvedTable } from './mapping';
import { versionOf } from './position';
import type { RealmRouter, RealmSink } from './sink';
import { applyPositions } from './stores';
import { CURRENT_VERSION } from './tsql';

/** An Adapter identity → the realm key of an object of `t`. */
export function keyFromIdentity(t: ResolvedTable, identity: Identity): ObjectKey {
  if (t.composite) return identityKey('composite', identity);
  const realm = t.byColumn.get(t.keyColumns[0]!)!.type.realm;
  return identityKey(realm === 'uuid' || realm === 'int' ? realm : 'string', identity);
}

export interface ApplyHooks {
  /** Resolves when capture has written every commit up to `version` into the realms. */
  barrier(version: bigint): Promise<void>;
  /** Realm schema additions for a mapped type (schemaChanges.addColumns), inside the apply transaction. */
  onRealmProperties?(db: Sql, t: ResolvedTable, properties: Record<string, AdapterPropertyDescription>): Promise<void>;
  onStopped?(error: Error): void;
  /** When capture's last confirmed poll started (its marker rows before that may be removed). */
  captureConfirmedAt?(): number;
}

/**
 * Realm → SQL Server (docs/connectors/sqlserver.md, "Apply"): the SQL Server {@link ApplyTarget}
 * of the kit's {@link ApplyLoop}. Per batch: the current Change Tracking version is read and capture
 * brought up to it (a barrier: every database commit before it is in the realm, merged by the
 * conflict policy); then ONE transaction writes the realm's current state of the touched objects,
 * tagged `WITH CHANGE_TRACKING_CONTEXT` (capture skips it: no echo), checks that no other session
 * changed those rows since the barrier (else the batch runs again: a race), and stores the apply
 * position.
 */
export class ChangeApply implements ApplyTarget, CaptureProtection<ResolvedTable> {
  private readonly loop: ApplyLoop;
  private readonly rows: RowWriter;
  private readonly notes: InstructionNotes;
  private readonly protection: PendingRealmWrites<ResolvedTable>;
  private readonly positions: ApplyPositionStore<Sql>;

  constructor(
    adapter: Adapter,
    private readonly pool: ConnectionPool,
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink,
    router: RealmRouter,
    private readonly hooks: ApplyHooks,
    private readonly log: Logger,
    private readonly deadLetters: DeadLetterStore<Sql>,
  ) {
    this.loop = new ApplyLoop(adapter, this, {
      batch: mapping.options.applyBatch,
      classify: (e) => (e instanceof RowRace ? 'race' : mssqlErrors.classifyApply(e) === 'transient' && isLockTimeout(e) ? 'race' : mssqlErrors.classifyApply(e)),
      driverCode: (e) => mssqlErrors.driverCode(e),
      database: 'SQL Server',
      label: 'sqlserver connector',
      log,
      onStopped: (e) => hooks.onStopped?.(e),
    });
    this.notes = new InstructionNotes(this.loop.status, log, 'sqlserver connector');
    this.rows = new RowWriter(mapping, sink, router, this.loop.status, (id, message, fields) => this.notes.note(id, message, fields));
    if (hooks.captureConfirmedAt) this.rows.captureConfirmedAt = hooks.captureConfirmedAt;
    this.positions = applyPositions(mapping.options.schema, mapping.options.name);
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

  schedule(path: string): void {
    this.loop.schedule(path);
  }

  get idle(): boolean {
    return this.loop.idle;
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  async prepare(): Promise<void> {
    await this.positions.ensure(sqlOn(this.pool));
    await this.deadLetters.ensure(sqlOn(this.pool));
  }

  dropConnection(): void {
    // The pool replaces broken connections itself (it validates each one it lends).
  }

  async close(): Promise<void> {
    // The connector closes the pool.
  }

  isRace(e: unknown): boolean {
    return e instanceof RowRace;
  }

  async applyBatch(path: string, txs: AdapterTransaction[]): Promise<{ applied: number; skipped: number }> {
    const through = txs[txs.length - 1]!.transaction ?? 0;
    const since = versionOf((await sqlOn(this.pool).query(CURRENT_VERSION)).rows[0]?.v) ?? 0n;
    await this.hooks.barrier(since);
    const realm = this.sink.realm(path);
    const done = await inTransaction(this.pool, 'READ_COMMITTED', async (db) => {
      const fresh = freshTransactions(txs, await this.positions.read(db, path), this.mapping.options.initialLoad);
      if (fresh.length === 0) return null;
      this.notes.reset();
      this.rows.startBatch();
      const c = this.collect(path, fresh);
      for (const s of c.schema) await this.hooks.onRealmProperties?.(db, s.table, s.properties);
      for (const t of c.clears) for (const obj of realm.objects<Record<string, unknown>>(t.type)) touch(c, t, obj[t.keyProperty] as ObjectKey, 'all');
      const fills = await this.rows.writeObjects(db, path, realm, c);
      const race = await this.rows.raced(db, since);
      if (race) throw race;
      await this.rows.markCommit(db, path, through);
      await this.positions.write(db, path, through);
      return { fills, applied: fresh.length };
    });
    if (!done) return { applied: 0, skipped: txs.length };
    this.rows.fill(realm, done.fills);
    this.notes.committed();
    return { applied: done.applied, skipped: txs.length - done.applied };
  }

  async reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<void> {
    this.notes.reset();
    await rejectTransaction(
      {
        transaction: (fn) => inTransaction(this.pool, 'READ_COMMITTED', fn),
        positions: this.positions,
        deadLetters: this.deadLetters,
        touched: (p, t) => [...collectTouched({ tableOfType: (type) => this.mapping.byType.get(type), keyFromIdentity }, p, [t], () => undefined).objects.values()],
        readRow: (db, t, key) => this.rows.readRow(db, t, key),
        realm: (p) => this.sink.realm(p),
        resetObject: (realm, t, key, row) => (row ? this.sink.upsert(realm, t, row) : this.sink.remove(realm, t, key)),
        driverCode: (e) => mssqlErrors.driverCode(e),
        status: this.loop.status,
        log: this.log,
        label: 'sqlserver connector',
        database: 'SQL Server',
      },
      path,
      tx,
      error,
      kind,
    );
  }

  collect(path: string, txs: AdapterInstruction[][]): Collected {
    return collectTouched({ tableOfType: (type) => this.mapping.byType.get(type), keyFromIdentity }, path, txs, this.notes.note);
  }

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

/** 1222: a row another open transaction holds (the scripted server answers at once; SQL Server after LOCK_TIMEOUT). Run again soon, like a race. */
function isLockTimeout(e: unknown): boolean {
  return mssqlErrors.driverCode(e) === '1222';
}

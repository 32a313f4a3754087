/**
 * The in-memory database: table definitions, committed data and Change Tracking records, and the
 * transactions that change them.
 *
 * Committed state is an immutable value replaced at each commit, so a SNAPSHOT transaction keeps
 * the state of its first data access (rows and change records alike) while others commit. A
 * transaction's writes are row images kept aside and merged into a new state at commit, when the
 * Change Tracking version is incremented once for the whole transaction. Writers take row locks;
 * SQL Server would block on a row another open transaction wrote, the engine answers at once with
 * 1222 (as with SET LOCK_TIMEOUT 0) so tests never hang. A SNAPSHOT writer touching a row committed
 * by someone else since its snapshot gets 3960, as in SQL Server.
 */
import { ChangeEvent, ChangeRecord, TableTracking, applyChange } from './change-tracking';
import { errors } from './errors';
import { TableSchema, qualifiedName } from './schema';
import { SqlValue } from './sql-types';

export type Row = SqlValue[];

export interface TableState {
  rows: Map<string, Row>;
  changes: Map<string, ChangeRecord>;
}

export interface DatabaseState {
  tables: Map<string, TableState>;
  /** CHANGE_TRACKING_CURRENT_VERSION(): the version of the last committed tracked transaction. */
  changeVersion: number;
}

export type IsolationLevel = 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE' | 'SNAPSHOT';

export class Transaction {
  readonly descriptor: Buffer;
  /** @@TRANCOUNT while explicit. */
  nesting = 1;
  snapshot: DatabaseState | null = null;
  readonly writes = new Map<string, Map<string, Row | null>>();
  readonly changes: ChangeEvent[] = [];
  readonly locks: Array<[string, string]> = [];
  ended = false;

  constructor(readonly id: number, readonly isolation: IsolationLevel, readonly explicit: boolean) {
    this.descriptor = Buffer.alloc(8);
    this.descriptor.writeBigUInt64LE(BigInt(id));
  }
}

export interface Savepoint {
  writes: Map<string, Map<string, Row | null>>;
  changes: number;
  locks: number;
}

export interface DatabaseOptions {
  name?: string;
  allowSnapshotIsolation?: boolean;
  changeTracking?: boolean;
}

export class Database {
  name: string;
  readonly databaseId = 5;
  allowSnapshotIsolation: boolean;
  readCommittedSnapshot = false;
  changeTracking: { enabled: boolean; retentionDays: number; autoCleanup: boolean };
  readonly tables = new Map<string, TableSchema>();
  readonly tracking = new Map<string, TableTracking>();
  state: DatabaseState = { tables: new Map(), changeVersion: 0 };
  /** @@DBTS: the last rowversion handed out. */
  rowversion = 2000n;
  private nextObjectId = 901578250;
  private nextTransactionId = 1;
  private readonly locks = new Map<string, number>();
  readonly openTransactions = new Set<Transaction>();

  constructor(options: DatabaseOptions = {}) {
    this.name = options.name ?? 'tributary_test';
    this.allowSnapshotIsolation = options.allowSnapshotIsolation ?? false;
    this.changeTracking = { enabled: options.changeTracking ?? false, retentionDays: 2, autoCleanup: true };
  }

  allocateObjectId(): number {
    this.nextObjectId += 16_000_057;
    if (this.nextObjectId > 2_000_000_000) this.nextObjectId -= 1_900_000_000;
    return this.nextObjectId;
  }

  nextRowversion(): Buffer {
    this.rowversion += 1n;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(this.rowversion);
    return b;
  }

  begin(isolation: IsolationLevel, explicit: boolean): Transaction {
    const tx = new Transaction(this.nextTransactionId++, isolation, explicit);
    this.openTransactions.add(tx);
    return tx;
  }

  /** The committed state a transaction reads: its snapshot under SNAPSHOT isolation, the latest otherwise. */
  baseState(tx: Transaction): DatabaseState {
    if (tx.isolation !== 'SNAPSHOT') return this.state;
    if (!tx.snapshot) {
      if (!this.allowSnapshotIsolation) throw errors.snapshotNotAllowed(this.name);
      tx.snapshot = this.state;
    }
    return tx.snapshot;
  }

  /** Rows of a table as the transaction sees them: its base state overlaid with its own writes. */
  rows(tx: Transaction, table: string): Map<string, Row> {
    const base = this.baseState(tx).tables.get(table)?.rows ?? new Map<string, Row>();
    const own = tx.writes.get(table);
    if (!own || own.size === 0) return base;
    const merged = new Map(base);
    for (const [key, row] of own) {
      if (row === null) merged.delete(key);
      else merged.set(key, row);
    }
    return merged;
  }

  changeRecords(tx: Transaction, table: string): Map<string, ChangeRecord> {
    return this.baseState(tx).tables.get(table)?.changes ?? new Map();
  }

  currentChangeVersion(tx: Transaction): number {
    return this.baseState(tx).changeVersion;
  }

  /** Takes the row lock and checks for snapshot update conflicts before a write. */
  private lock(tx: Transaction, table: string, key: string): void {
    const lockKey = `${table}\u0000${key}`;
    const owner = this.locks.get(lockKey);
    if (owner !== undefined && owner !== tx.id) throw errors.lockTimeout();
    if (tx.isolation === 'SNAPSHOT') {
      const snapshotRow = this.baseState(tx).tables.get(table)?.rows.get(key);
      const currentRow = this.state.tables.get(table)?.rows.get(key);
      if (snapshotRow !== currentRow) throw errors.snapshotConflict(qualifiedName(this.tables.get(table)!), this.name);
    }
    if (owner === undefined) {
      this.locks.set(lockKey, tx.id);
      tx.locks.push([table, key]);
    }
  }

  write(tx: Transaction, table: string, key: string, row: Row | null): void {
    this.lock(tx, table, key);
    let own = tx.writes.get(table);
    if (!own) tx.writes.set(table, (own = new Map()));
    own.set(key, row);
  }

  /** Whether another open transaction holds a write lock on the key (an uncommitted insert, say). */
  lockedByOther(tx: Transaction, table: string, key: string): boolean {
    const owner = this.locks.get(`${table}\u0000${key}`);
    return owner !== undefined && owner !== tx.id;
  }

  recordChange(tx: Transaction, e: ChangeEvent): void {
    if (this.changeTracking.enabled && this.tracking.has(e.table)) tx.changes.push(e);
  }

  savepoint(tx: Transaction): Savepoint {
    const writes = new Map<string, Map<string, Row | null>>();
    for (const [t, m] of tx.writes) writes.set(t, new Map(m));
    return { writes, changes: tx.changes.length, locks: tx.locks.length };
  }

  /** Undoes what a failed statement did inside a transaction that goes on. */
  restore(tx: Transaction, sp: Savepoint): void {
    tx.writes.clear();
    for (const [t, m] of sp.writes) tx.writes.set(t, m);
    tx.changes.length = sp.changes;
    for (const [table, key] of tx.locks.splice(sp.locks)) this.locks.delete(`${table}\u0000${key}`);
  }

  commit(tx: Transaction): void {
    if (tx.ended) return;
    const tables = new Map(this.state.tables);
    for (const [table, own] of tx.writes) {
      const current = tables.get(table);
      if (!current || !this.tables.has(table)) continue;
      const rows = new Map(current.rows);
      for (const [key, row] of own) {
        if (row === null) rows.delete(key);
        else rows.set(key, row);
      }
      tables.set(table, { rows, changes: current.changes });
    }
    let changeVersion = this.state.changeVersion;
    const tracked = tx.changes.filter((e) => this.tracking.has(e.table));
    if (this.changeTracking.enabled && tracked.length > 0) {
      changeVersion += 1;
      const copies = new Map<string, Map<string, ChangeRecord>>();
      for (const e of tracked) {
        let records = copies.get(e.table);
        if (!records) {
          records = new Map(tables.get(e.table)?.changes ?? []);
          copies.set(e.table, records);
        }
        applyChange(records, e, changeVersion);
      }
      for (const [table, records] of copies) {
        const t = tables.get(table);
        if (t) tables.set(table, { rows: t.rows, changes: records });
      }
    }
    this.state = { tables, changeVersion };
    this.end(tx);
  }

  rollback(tx: Transaction): void {
    this.end(tx);
  }

  private end(tx: Transaction): void {
    for (const [table, key] of tx.locks) this.locks.delete(`${table}\u0000${key}`);
    tx.locks.length = 0;
    tx.ended = true;
    this.openTransactions.delete(tx);
  }

  /** Replaces one table's committed state (DDL, TRUNCATE, test set-up); not transactional. */
  setTableState(table: string, state: TableState | undefined): void {
    const tables = new Map(this.state.tables);
    if (state) tables.set(table, state);
    else tables.delete(table);
    this.state = { tables, changeVersion: this.state.changeVersion };
  }

  /**
   * Drops change records up to `throughVersion` (default: the current version) and moves
   * CHANGE_TRACKING_MIN_VALID_VERSION there, as the retention cleanup of SQL Server does when
   * CHANGE_RETENTION has passed. A client whose last synced version is older must reload.
   */
  cleanupChangeTracking(throughVersion = this.state.changeVersion): void {
    const tables = new Map(this.state.tables);
    for (const [table, tracking] of this.tracking) {
      const t = tables.get(table);
      if (!t) continue;
      const changes = new Map([...t.changes].filter(([, r]) => r.version > throughVersion));
      tables.set(table, { rows: t.rows, changes });
      tracking.minValidVersion = Math.max(tracking.minValidVersion, throughVersion);
      tracking.cleanupVersion = Math.max(tracking.cleanupVersion, throughVersion);
    }
    this.state = { tables, changeVersion: this.state.changeVersion };
  }
}

import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import { crashPoint } from '../kit/crash-points';
import { TransactionBuffer as KitTransactionBuffer } from '../kit/transaction-buffer';
import { connectorError } from './errors';
import type { ObjectKey } from '../../src/model';
import { rowKey, keyText, type RawRow, type ResolvedMapping, type ResolvedTable } from './mapping';
import { decodePgOutput, toRow, pgTimeToDate, UNCHANGED_TOAST, type PgOutputMessage, type ReplicationFrame, type TupleValue } from './pgoutput';
import { APPLIED_PREFIX, OwnWrites } from './own-writes';
import { maxLsn, type Lsn } from './position';
import type { GeneratedReadback } from './readback';
import type { RealmSink, UnresolvedLinks } from './realm-sink';
import type { RealmRouter } from './router';
import type { SchemaEvolution } from './schema-evolution';
import type { SideListChange } from './side-lists';

/** A row change in a source transaction, in text form (JSON-safe, so it can spill to disk). */
type Change =
  | { op: 'upsert'; table: string; row: RawRow; oldKey: RawRow | null; oldFull?: true }
  | { op: 'delete'; table: string; key: RawRow }
  | { op: 'truncate'; tables: string[] }
  | SideListChange;

/** One source transaction's changes, spilling to disk past `spillThreshold` (the kit's transaction-buffer.ts). */
type TransactionBuffer = KitTransactionBuffer<Change>;

interface RelationInfo {
  table: ResolvedTable | null;
  columns: string[];
}

export interface CaptureStatus {
  /** Highest WAL position received from the server. */
  received: Lsn;
  /** Highest position confirmed to the server (flush LSN): everything below is acknowledged by the sync server. */
  confirmed: Lsn;
  transactions: number;
  skippedOwn: number;
  /** Row changes in the connector's own transactions that apply did not write (cascades, trigger-written rows), written to the realms. */
  ownChanges: number;
  replayedSkipped: number;
  /** The connector's own marker transactions seen (apply barriers, caughtUp markers; not counted in `transactions`). */
  markers: number;
  /** Commit time (PostgreSQL's clock) of the last source transaction received. */
  lastCommitTime: Date | null;
  /** Commit time of the oldest received transaction not yet confirmed (null: none pending): the lag in seconds. */
  oldestUnconfirmedCommitTime: Date | null;
  pendingAcks: number;
  /** Every database transaction committed before this position is written into the realms (acknowledged or not). */
  processed: Lsn;
}

/** For `realm-wins`: which properties of an object capture must leave alone (realm changes not yet applied). */
export interface CaptureProtection {
  protectedProperties(path: string, t: ResolvedTable, key: ObjectKey): Set<string> | 'all' | null;
  resetProtection(): void;
  /** Capture passed the own transaction that applied `path`'s realm transactions through `through` (kit conflict.ts). */
  appliedInStream?(path: string, through: number): void;
}

/** The prefix of the logical messages the apply side commits as WAL barriers. */
export const BARRIER_PREFIX = 'tributary-barrier';
/** Message-only transactions with this prefix are the connector's own markers (barriers, caughtUp, heartbeats). */
export const CONTROL_PREFIX = 'tributary-';

/**
 * pgoutput → realms. Decodes frames, assembles transactions, skips the connector's own
 * transactions (replication origin), writes each transaction into the realms it touches together
 * with their new position, and confirms the flush LSN to PostgreSQL only after the sync server
 * acknowledged those realm writes, in commit order.
 */
export class ChangeCapture {
  private readonly relations = new Map<number, RelationInfo>();
  private tx: { commitLsn: Lsn; buffer: TransactionBuffer; origin: string | null; barrier?: boolean; own?: OwnWrites } | null = null;
  private ackChain: Promise<void> = Promise.resolve();
  private ackError: Error | null = null;
  readonly status: CaptureStatus = { received: 0n, confirmed: 0n, transactions: 0, skippedOwn: 0, ownChanges: 0, replayedSkipped: 0, markers: 0, lastCommitTime: null, oldestUnconfirmedCommitTime: null, pendingAcks: 0, processed: 0n };
  /** Commit times of the transactions awaiting acknowledgement, oldest first (acks settle in commit order). */
  private readonly pendingCommitTimes: Date[] = [];
  /** Set for `realm-wins`. */
  protection: CaptureProtection | null = null;
  /** Called whenever `processed` moves (apply barriers wait on it). */
  onProcessed: (processed: Lsn) => void = () => undefined;
  /** Called whenever `confirmed` moves (the connector sends the standby status update). */
  onConfirm: (confirmed: Lsn) => void = () => undefined;
  onError: (e: Error) => void = () => undefined;

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink,
    private readonly router: RealmRouter,
    private readonly log: Logger,
    private readonly ownOrigin: string,
    startConfirmed: Lsn,
    /** Schema changes seen in Relation messages (new columns → properties); null: none. */
    private readonly evolution: SchemaEvolution | null = null,
    /** Reads back generated columns of the rows written (null: no mapped table has one). */
    private readonly readback: GeneratedReadback | null = null,
  ) {
    this.status.confirmed = startConfirmed;
    this.status.processed = startConfirmed;
  }

  private markProcessed(lsn: Lsn): void {
    if (lsn <= this.status.processed) return;
    this.status.processed = lsn;
    this.onProcessed(lsn);
  }

  /** Resolves when every applied transaction has been acknowledged and confirmed. */
  drained(): Promise<void> {
    return this.ackChain;
  }

  /** Drops a transaction the stream was cut off in the middle of (its spill file included). */
  dispose(): void {
    this.tx?.buffer.dispose();
    this.tx = null;
  }

  handleFrame(frame: ReplicationFrame): void {
    if (this.ackError) throw this.ackError;
    if (frame.tag === 'keepalive') {
      this.status.received = maxLsn(this.status.received, frame.walEnd);
      // Nothing in flight and nothing open: everything up to walEnd has been seen and settled.
      if (!this.tx && this.status.pendingAcks === 0 && frame.walEnd > this.status.confirmed) {
        this.status.confirmed = frame.walEnd;
        this.onConfirm(this.status.confirmed);
      } else if (frame.replyRequested) this.onConfirm(this.status.confirmed);
      return;
    }
    this.status.received = maxLsn(this.status.received, frame.walEnd);
    this.handleMessage(decodePgOutput(frame.data));
  }

  handleMessage(m: PgOutputMessage): void {
    if (this.router.lists.handleMessage(m, this.tx?.buffer ?? null)) return; // a side table's row: buffered for its owner's list
    switch (m.tag) {
      case 'relation': {
        const table = m.schema === this.mapping.options.schema ? (this.mapping.tables.get(m.name) ?? null) : null;
        this.relations.set(m.relationId, { table, columns: m.columns.map((c) => c.name) });
        // Sent before the first change of a table after a DDL (and after each reconnect): never inside a realm write.
        if (table) this.evolution?.onRelation(table, m);
        return;
      }
      case 'begin':
        this.tx?.buffer.dispose();
        this.tx = { commitLsn: m.finalLsn, buffer: new KitTransactionBuffer<Change>(this.mapping.options.spillThreshold), origin: null };
        return;
      case 'origin':
        if (this.tx) this.tx.origin = m.name;
        return;
      case 'type':
        return;
      case 'message':
        if (m.transactional && this.tx && m.prefix === APPLIED_PREFIX) (this.tx.own ??= new OwnWrites(this.mapping, (table, row) => this.router.lists.identity(table, row))).add(m.content);
        else if (m.transactional && this.tx && m.prefix.startsWith(CONTROL_PREFIX)) this.tx.barrier = true;
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const rel = this.relations.get(m.relationId);
        if (!rel) throw connectorError('CONNECTOR_SOURCE_FAILED', `pgoutput: change for unknown relation ${m.relationId} (no Relation message first)`);
        if (!rel.table || !this.tx) return;
        const t = rel.table;
        if (m.tag === 'delete') this.tx.buffer.add({ op: 'delete', table: t.table, key: toRow(rel.columns, (m.keyTuple ?? m.oldTuple)!) });
        else {
          const old = m.tag === 'update' ? (m.keyTuple ?? m.oldTuple) : null;
          const change: Change = { op: 'upsert', table: t.table, row: toRow(rel.columns, m.newTuple), oldKey: old ? toRow(rel.columns, old) : null };
          if (m.tag === 'update' && !m.keyTuple && m.oldTuple) change.oldFull = true; // REPLICA IDENTITY FULL: the whole old row
          this.tx.buffer.add(change);
        }
        return;
      }
      case 'truncate': {
        const tables = m.relationIds.map((id) => this.relations.get(id)?.table?.table).filter((x): x is string => !!x);
        if (tables.length > 0 && this.tx) this.tx.buffer.add({ op: 'truncate', tables });
        return;
      }
      case 'commit': {
        const tx = this.tx;
        this.tx = null;
        if (!tx) return;
        try {
          if (tx.barrier && tx.buffer.count === 0) this.status.markers++;
          else this.status.transactions++;
          this.commit(tx.commitLsn, m.endLsn, tx.buffer, tx.origin, m.commitTime, tx.own ?? null);
        } finally {
          tx.buffer.dispose();
        }
        this.markProcessed(m.endLsn);
        return;
      }
    }
  }

  private commit(commitLsn: Lsn, endLsn: Lsn, buffer: TransactionBuffer, origin: string | null, commitTime: bigint, own: OwnWrites | null): void {
    const time = pgTimeToDate(commitTime);
    this.status.lastCommitTime = time;
    this.pendingCommitTimes.push(time);
    this.status.oldestUnconfirmedCommitTime = this.pendingCommitTimes[0]!;
    let touched: string[] = [];
    if (origin === this.ownOrigin) {
      this.status.skippedOwn++;
      // Apply said what it wrote: the other changes of its transaction (cascades, triggers) are the database's.
      if (own) touched = this.apply(commitLsn, buffer, own);
      // The realm transactions it applied protect no database change after this point (realm-wins).
      if (own?.applied) this.protection?.appliedInStream?.(own.applied.path, own.applied.through);
    } else if (buffer.count > 0) touched = this.apply(commitLsn, buffer, null);
    const readback = this.readback?.hasPending ? this.readback : null;
    this.status.pendingAcks++;
    this.ackChain = this.ackChain.then(async () => {
      if (this.ackError) return;
      try {
        if (readback) await readback.settle(); // generated values of the rows written, before the slot may release them
        await Promise.all(touched.map((p) => this.sink.uploaded(p)));
        if (touched.length > 0) crashPoint('capture-acknowledged');
        this.status.pendingAcks--;
        this.pendingCommitTimes.shift();
        this.status.oldestUnconfirmedCommitTime = this.pendingCommitTimes[0] ?? null;
        if (endLsn > this.status.confirmed) {
          this.status.confirmed = endLsn;
          this.onConfirm(endLsn);
        }
      } catch (e) {
        this.ackError = e as Error;
        this.onError(e as Error);
      }
    });
  }

  /**
   * Writes one source transaction into its realms (one realm transaction each); returns their
   * paths. `own`: the connector's own transaction, without the changes apply wrote itself.
   */
  private apply(commitLsn: Lsn, buffer: TransactionBuffer, own: OwnWrites | null): string[] {
    this.protection?.resetProtection();
    return this.sink.writeTransaction(
      commitLsn,
      commitLsn + 1n,
      this.status,
      (realmFor, unresolved) => {
        for (const c of buffer.changes()) {
          if (own) {
            if (own.covers(c)) continue;
            this.status.ownChanges++;
          }
          this.applyChange(c, realmFor, unresolved);
        }
      },
      // The lists of owners whose side rows changed, rebuilt once per transaction.
      (realmFor) => this.router.lists.flush(realmFor, this.protection),
    );
  }

  private applyChange(c: Change, realmFor: (p: string | null) => Realm | null, unresolved: UnresolvedLinks): void {
    if (this.router.lists.observe(c) || c.op === 'side-list') return;
    if (c.op === 'truncate') {
      for (const name of c.tables) {
        const t = this.mapping.tables.get(name)!;
        for (const p of this.router.pathsOf(t)) {
          const r = realmFor(p);
          if (r) this.sink.clear(r, t);
        }
        this.router.clear(t);
      }
      return;
    }
    const t = this.mapping.tables.get(c.table)!;
    if (c.op === 'delete') {
      const key = rowKey(t, c.key);
      if (key === null) return;
      const paths = this.router.pathsOfKey(t, key);
      if (paths.length > 0 && this.protection?.protectedProperties(paths[0], t, key)) return; // realm-wins: the realm's unapplied change stands; apply re-writes the row
      for (const p of paths) {
        const r = realmFor(p);
        if (r) this.sink.remove(r, t, key);
      }
      this.router.forget(t, key);
      return;
    }
    const key = rowKey(t, c.row);
    if (key === null) throw connectorError('CONNECTOR_SOURCE_FAILED', `${t.table}: a change without its key columns (${t.keyColumns.join(', ')})`);
    const oldKey = c.oldKey ? rowKey(t, c.oldKey) : key;
    const oldPaths = oldKey === null ? [] : this.router.pathsOfKey(t, oldKey);
    const oldPath = oldPaths[0] ?? null;
    let newPath = this.router.pathFor(t, c.row);
    if (newPath === null && oldPath !== null && t.placement.kind === 'template' && t.placement.columns.some((col) => c.row[col] === undefined)) newPath = oldPath;
    if (newPath === null) {
      this.log.warn('postgres connector: row has no realm (placement column null or followed row unknown); skipped', { table: t.table, key: keyText(key) });
      return;
    }
    const stays = oldPaths.includes(newPath) && oldKey !== null && keyText(oldKey) === keyText(key);
    let carry: Record<string, unknown> | undefined;
    if (oldKey !== null && oldPaths.length > 0 && (!stays || oldPaths.length > 1)) {
      // A move (another realm or key), or copies left in other realms by a crash between a move's writes.
      for (const p of oldPaths) {
        if (stays && p === newPath) continue;
        const r = realmFor(p);
        if (!r) continue;
        const obj = this.sink.find(r, t, oldKey);
        if (obj && !carry) carry = Object.fromEntries(t.columns.map((col) => [col.property, col.type.list ? Array.from(obj[col.property] as Iterable<unknown>) : obj[col.property]]));
        this.sink.remove(r, t, oldKey);
      }
      if (!stays) this.router.forget(t, oldKey);
    }
    let row = c.row;
    // Counter columns (REPLICA IDENTITY FULL: the old row is here) reach an existing object as increments.
    const increments: [string, number][] = [];
    if (c.oldKey && stays && t.columns.some((col) => col.counter)) {
      const existing = realmFor(newPath);
      if (existing && this.sink.find(existing, t, key)) {
        row = { ...row };
        for (const col of t.columns) {
          const now = row[col.column];
          const before = c.oldKey[col.column];
          if (!col.counter || now === undefined || now === null || before === undefined || before === null) continue;
          delete row[col.column];
          const delta = Number(now) - Number(before);
          if (delta !== 0) increments.push([col.property, delta]);
        }
      }
    }
    // With the whole old row (REPLICA IDENTITY FULL) only the columns the update changed are written, so a
    // realm change to another column of the row is not overwritten by the row's unchanged value.
    if (c.oldFull && c.oldKey && stays) {
      if (row === c.row) row = { ...row };
      for (const col of Object.keys(row)) if (!t.keyColumns.includes(col) && row[col] === c.oldKey[col]) delete row[col];
    }
    const guard = stays ? this.protection?.protectedProperties(newPath, t, key) : null;
    if (guard === 'all') {
      this.router.remember(t, key, newPath);
      return; // realm-wins: the realm inserted or deleted this object and apply has not written it yet
    }
    if (guard) {
      row = { ...row };
      for (const col of t.columns) if (guard.has(col.property) && !t.keyColumns.includes(col.column) && !col.counter) delete row[col.column];
      for (const l of t.links) if (guard.has(l.property)) delete row[l.column];
    }
    if (t.generated.length > 0) this.readback?.touched(t, key, newPath); // pgoutput does not send them
    const r = realmFor(newPath);
    if (r) {
      this.sink.upsert(r, t, row, carry, unresolved);
      if (increments.length > 0) {
        const obj = this.sink.find(r, t, key);
        for (const [property, delta] of increments) r.increment(obj, property, delta);
      }
    }
    this.router.remember(t, key, newPath);
  }
}


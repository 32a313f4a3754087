import type { AnyBulkWriteOperation, ClientSession, Db, Document, MongoClient } from 'mongodb';
import type { Adapter, AdapterTransaction } from '../../src/adapter';
import type { AdapterInstruction } from '../../src/adapter/instructions';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { ApplyLoop, type ApplyTarget } from '../kit/apply-loop';
import { PendingRealmWrites, type CaptureProtection } from '../kit/conflict';
import type { PlacementRouter } from '../kit/placement';
import type { RealmSink } from '../kit/realm-sink';
import { freshTransactions, rejectTransaction } from '../kit/reject';
import type { ApplyStatus } from '../kit/status';
import { collectTouched, InstructionNotes, touch, type Collected } from '../kit/touched';
import { mongoApplyPositions, mongoDeadLetters, type MongoTx } from './dead-letters';
import { mongoErrors, TRANSIENT_CODES } from './errors';
import type { Doc, ResolvedMapping, ResolvedTable } from './mapping';
import type { MongoPosition } from './position';
import { editsOf, listEdits, positionalUpdates, type ListEdits } from './list-updates';
import { fieldTypeOfProperty, keyToBson, toBsonValue } from './types';

/**
 * Realm → MongoDB (the kit's {@link ApplyTarget}): per batch of a realm's transactions, ONE session
 * transaction (snapshot read concern) that reads the apply position, reads the touched documents,
 * waits at a barrier until capture has written every database change committed before the
 * transaction's snapshot into the realm, then writes the realm's merged state of the touched
 * objects with ordered `bulkWrite`s (inserts, `$set` of the changed properties, `$inc` of counter
 * increments, deletes) and the new apply position. A database write to a touched document after
 * the snapshot makes the commit fail with WriteConflict (112): the batch is run again, and its
 * barrier then brings that write into the realm first, where the conflict policy merges it.
 */

export interface ApplyHooks {
  /** Resolves when capture has processed every database change committed before the call. */
  barrier(): Promise<void>;
  onStopped?(e: Error): void;
}

export class MongoApply implements ApplyTarget, CaptureProtection<ResolvedTable> {
  private readonly loop: ApplyLoop;
  private readonly notes: InstructionNotes;
  private readonly protection: PendingRealmWrites<ResolvedTable>;
  private readonly positions;
  readonly deadLetters;
  private session: ClientSession | null = null;
  /** The `lsid.id`s (hex) of the sessions apply used (status). */
  readonly ownSessions = new Set<string>();
  lastTable: string | null = null;
  /** List properties written as positional updates, and as whole arrays (docs: "Lists"). */
  readonly lists = { positional: 0, whole: 0 };

  constructor(
    adapter: Adapter,
    private readonly mapping: ResolvedMapping,
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly sink: RealmSink<ResolvedTable, Doc, MongoPosition>,
    private readonly router: PlacementRouter<ResolvedTable, Doc>,
    private readonly hooks: ApplyHooks,
    private readonly log: Logger,
  ) {
    const o = mapping.options;
    this.loop = new ApplyLoop(adapter, this, { batch: o.applyBatch, classify: (e) => mongoErrors.classifyApply(e), driverCode: (e) => mongoErrors.driverCode(e), database: 'MongoDB', label: 'mongodb connector', log, onStopped: (e) => hooks.onStopped?.(e) });
    this.notes = new InstructionNotes(this.loop.status, log, 'mongodb connector');
    this.protection = new PendingRealmWrites(adapter, (path, txs) => this.notes.silently(() => this.collect(path, txs)));
    this.positions = mongoApplyPositions(o.name, o.positionsCollection);
    this.deadLetters = mongoDeadLetters(o.name, o.deadLettersCollection);
  }

  get status(): ApplyStatus {
    return this.loop.status;
  }
  get idle(): boolean {
    return this.loop.idle;
  }
  start(): Promise<void> {
    return this.loop.start();
  }
  schedule(path: string): void {
    this.loop.schedule(path);
  }
  stop(): Promise<void> {
    return this.loop.stop();
  }

  async prepare(): Promise<void> {
    await this.positions.ensure({ db: this.db, session: undefined });
    await this.deadLetters.ensure({ db: this.db, session: undefined });
  }

  /**
   * The apply session. Its `lsid` is recorded (in the markers collection) before its first
   * transaction, so that the next start can kill it: a process killed in the middle of a
   * transaction leaves it open on the server, holding its documents, until
   * `transactionLifetimeLimitSeconds` would abort it.
   */
  private async own(): Promise<ClientSession> {
    if (this.session) return this.session;
    const session = this.client.startSession({ causalConsistency: false });
    const id = session.id?.id;
    if (id) await this.db.collection<{ _id: string }>(this.mapping.options.markersCollection).updateOne({ _id: sessionsDocId(this.mapping.options.name) }, { $addToSet: { ids: id } }, { upsert: true });
    this.session = session;
    return session;
  }

  /**
   * At start, before any apply transaction: kills the sessions earlier lives recorded
   * (`killSessions`), aborting a transaction a killed process left open, and forgets them. A server
   * that does not allow it (no privilege, an old version) only logs it: such a transaction then
   * ends with `transactionLifetimeLimitSeconds`, and apply retries until then.
   */
  async killEarlierSessions(): Promise<number> {
    const markers = this.db.collection<{ _id: string; ids?: unknown[] }>(this.mapping.options.markersCollection);
    const doc = await markers.findOne({ _id: sessionsDocId(this.mapping.options.name) });
    const ids = doc?.ids ?? [];
    if (ids.length === 0) return 0;
    try {
      await this.client.db('admin').command({ killSessions: ids.map((id) => ({ id })) });
    } catch (e) {
      this.log.warn('mongodb connector apply: could not kill the sessions of an earlier run (a transaction it left open ends with transactionLifetimeLimitSeconds)', { error: String((e as Error).message ?? e), code: mongoErrors.driverCode(e) });
      return 0;
    }
    await markers.updateOne({ _id: sessionsDocId(this.mapping.options.name) }, { $pullAll: { ids } as never });
    return ids.length;
  }

  /** Notes the session's `lsid.id` (known once it ran a command). */
  private noteSession(session: ClientSession): void {
    const id = session.id?.id as { buffer?: Uint8Array } | undefined;
    if (id?.buffer) this.ownSessions.add(Buffer.from(id.buffer).toString('hex'));
  }

  dropConnection(): void {
    const s = this.session;
    this.session = null;
    void s?.endSession().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.session?.endSession().catch(() => undefined);
    this.session = null;
  }

  /** WriteConflict and aborted transactions are races: run the batch again at once. */
  isRace(e: unknown): boolean {
    const code = mongoErrors.driverCode(e);
    return code === '112' || code === '251' || (e as { hasErrorLabel?: (l: string) => boolean }).hasErrorLabel?.('TransientTransactionError') === true;
  }

  collect(path: string, txs: readonly (readonly AdapterInstruction[])[]): Collected<ResolvedTable> {
    return collectTouched({ tableOfType: (type) => this.mapping.byType.get(type), keyFromIdentity: (t, id) => this.mapping.keyFromIdentity(t, id) }, path, txs, this.notes.note);
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

  private async inTransaction<R>(fn: (tx: MongoTx) => Promise<R | null>): Promise<R | null> {
    const session = await this.own();
    session.startTransaction({ readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } });
    try {
      const r = await fn({ db: this.db, session });
      this.noteSession(session);
      if (r === null) await session.abortTransaction();
      else await session.commitTransaction();
      return r;
    } catch (e) {
      if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
      throw e;
    }
  }

  async applyBatch(path: string, txs: AdapterTransaction[]): Promise<{ applied: number; skipped: number }> {
    const through = txs[txs.length - 1]!.transaction ?? 0;
    const r = await this.inTransaction(async (tx) => {
      const fresh = freshTransactions(txs, await this.positions.read(tx, path), this.mapping.options.initialLoad);
      if (fresh.length === 0) return null;
      this.notes.reset();
      const c = this.collect(path, fresh);
      this.schemaAdditions(path, c);
      for (const t of c.clears) for (const key of await this.keysInRealm(tx, path, t)) touch(c, t, key, 'all');
      const existing = await this.read(tx, c);
      await this.hooks.barrier();
      await this.write(tx, path, c, existing, listEdits(this.mapping, fresh));
      await this.positions.write(tx, path, through);
      return fresh.length;
    });
    if (r === null) return { applied: 0, skipped: txs.length };
    this.notes.committed();
    return { applied: r, skipped: txs.length - r };
  }

  /** Realm properties a client added (ADD_PROPERTIES) become fields with `schemaChanges.addColumns`; otherwise they are noted. */
  private schemaAdditions(path: string, c: Collected<ResolvedTable>): void {
    let added = false;
    for (const s of c.schema) {
      const t = s.table;
      for (const [property, p] of Object.entries(s.properties)) {
        if (property === t.keyProperty || t.byProperty.has(property) || t.links.some((l) => l.property === property)) continue;
        const type = fieldTypeOfProperty(p as { type: string; nullable?: boolean; object_type?: string });
        if (!this.mapping.options.schemaChanges.addColumns || !type) {
          this.notes.note(`property:${t.type}.${property}`, `property ${t.type}.${property} has no field (schemaChanges.addColumns is off, or a link); its values stay in the realm`, { path });
          continue;
        }
        this.mapping.addField(t, property, type);
        this.log.info('mongodb connector: a new realm property becomes a field', { collection: t.table, field: property, type: type.realm });
        added = true;
      }
    }
    if (added) this.sink.reopen();
  }

  private async keysInRealm(tx: MongoTx, path: string, t: ResolvedTable): Promise<ObjectKey[]> {
    const out: ObjectKey[] = [];
    for await (const d of tx.db.collection(t.table).find({}, { session: tx.session, projection: { _id: 1 } })) {
      const key = this.mapping.key(t, d);
      if (key !== null && this.router.pathOf(t, key) === path) out.push(key);
    }
    return out;
  }

  /** The touched documents as they are in the transaction's snapshot. */
  private async read(tx: MongoTx, c: Collected<ResolvedTable>): Promise<Map<string, Document>> {
    const byTable = new Map<ResolvedTable, unknown[]>();
    for (const o of c.objects.values()) {
      let l = byTable.get(o.table);
      if (!l) byTable.set(o.table, (l = []));
      l.push(keyToBson(o.key));
    }
    const found = new Map<string, Document>();
    for (const [t, ids] of byTable) {
      this.lastTable = t.table;
      for await (const d of tx.db.collection(t.table).find({ _id: { $in: ids as never[] } }, { session: tx.session, promoteValues: false })) {
        const key = this.mapping.key(t, d);
        if (key !== null) found.set(`${t.table}\u0000${String(key)}`, d);
      }
    }
    return found;
  }

  private fieldValue(t: ResolvedTable, property: string, obj: Record<string, unknown>): [string, unknown] | null {
    const f = t.byProperty.get(property);
    if (f) {
      const v = obj[property];
      return [f.field, toBsonValue(f.fromRealm ? f.fromRealm(v) : v, f.type)];
    }
    const l = t.links.find((x) => x.property === property);
    if (l) {
      const target = this.mapping.tables.get(l.targetTable)!;
      const o = obj[property] as Record<string, unknown> | null | undefined;
      return [l.field, o ? keyToBson(o[target.keyProperty]) : null];
    }
    return null;
  }

  /** The realm's current state of the touched objects, as ordered bulk writes per collection (in the order the realm touched them). */
  private async write(tx: MongoTx, path: string, c: Collected<ResolvedTable>, existing: Map<string, Document>, edits: ListEdits): Promise<void> {
    const realm = this.sink.realm(path);
    const ops: { t: ResolvedTable; op: AnyBulkWriteOperation<Document> }[] = [];
    for (const o of c.objects.values()) {
      const t = o.table;
      this.loop.status.rows++;
      const obj = realm.objectForPrimaryKey<Record<string, unknown>>(t.type, o.key) ?? null;
      const _id = keyToBson(o.key);
      const stored = existing.get(`${t.table}\u0000${String(o.key)}`);
      const exists = stored !== undefined;
      if (!obj) {
        if (exists) ops.push({ t, op: { deleteOne: { filter: { _id: _id as never } } } });
        continue;
      }
      if (!exists) {
        const doc: Document = { _id };
        for (const f of t.fields.values()) if (!f.toRealm || f.fromRealm) doc[f.field] = toBsonValue(f.fromRealm ? f.fromRealm(obj[f.property]) : obj[f.property], f.type);
        for (const l of t.links) doc[l.field] = this.fieldValue(t, l.property, obj)![1];
        if (t.partitionField) doc[t.partitionField] = path;
        ops.push({ t, op: { insertOne: { document: doc } } });
        continue;
      }
      const $set: Document = {};
      const $inc: Document = {};
      const positional: AnyBulkWriteOperation<Document>[] = [];
      const listEditsOf = editsOf(edits, t, o.key);
      const props = o.props === 'all' ? [...t.byProperty.keys(), ...t.links.map((l) => l.property)] : [...o.props];
      for (const p of props) {
        if (p === t.keyProperty) continue;
        const f = t.byProperty.get(p);
        if (f?.toRealm && !f.fromRealm) continue;
        const delta = o.deltas?.get(p);
        if (f?.counter && !o.assigned?.has(p)) {
          if (delta) $inc[f.field] = delta;
          continue;
        }
        const e = f?.type.list ? listEditsOf?.get(p) : undefined;
        if (f && e) {
          const ops1 = e === 'whole' ? null : positionalUpdates(f, _id, e, stored[f.field], Array.from((obj[p] ?? []) as Iterable<never>));
          if (ops1) {
            positional.push(...ops1);
            this.lists.positional++;
            continue;
          }
          this.lists.whole++;
        }
        const fv = this.fieldValue(t, p, obj);
        if (fv) $set[fv[0]] = fv[1];
        else this.notes.note(`property:${t.type}.${p}`, `property ${t.type}.${p} has no field (schemaChanges.addColumns is off); its values stay in the realm`, { path });
      }
      const update: Document = {};
      if (Object.keys($set).length > 0) update.$set = $set;
      if (Object.keys($inc).length > 0) update.$inc = $inc;
      if (Object.keys(update).length > 0) ops.push({ t, op: { updateOne: { filter: { _id: _id as never }, update } } });
      for (const op of positional) ops.push({ t, op });
    }
    // Runs of one collection, in order (a bulkWrite is one collection's).
    for (let i = 0; i < ops.length; ) {
      const t = ops[i]!.t;
      const run: AnyBulkWriteOperation<Document>[] = [];
      while (i < ops.length && ops[i]!.t === t) run.push(ops[i++]!.op);
      this.lastTable = t.table;
      await tx.db.collection(t.table).bulkWrite(run, { ordered: true, session: tx.session });
    }
  }

  async reject(path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<void> {
    this.notes.reset();
    await rejectTransaction<ResolvedTable, MongoTx, Doc>(
      {
        transaction: async (fn) => (await this.inTransaction(async (t) => ({ v: await fn(t) })))!.v,
        positions: this.positions,
        deadLetters: this.deadLetters,
        touched: (p, t) => [...collectTouched({ tableOfType: (type) => this.mapping.byType.get(type), keyFromIdentity: (x, id) => this.mapping.keyFromIdentity(x, id) }, p, [t], () => undefined).objects.values()],
        readRow: (t, table, key) => t.db.collection(table.table).findOne({ _id: keyToBson(key) as never }, { session: t.session, promoteValues: false }),
        realm: (p) => this.sink.realm(p),
        resetObject: (realm, t, key, row) => (row ? this.sink.upsert(realm, t, row) : this.sink.remove(realm, t, key)),
        driverCode: (e) => mongoErrors.driverCode(e),
        status: this.loop.status,
        log: this.log,
        label: 'mongodb connector',
        database: 'MongoDB',
      },
      path,
      tx,
      error,
      kind,
    );
  }
}

export { TRANSIENT_CODES };

/** The markers-collection document listing the apply sessions' lsids of a connector. */
export function sessionsDocId(connector: string): string {
  return `sessions:${connector}`;
}

import { BSON, type ChangeStreamDocument, type Document } from 'mongodb';
import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import type { CaptureProtection } from '../kit/conflict';
import { crashPoint } from '../kit/crash-points';
import { keyText, objectKeyId } from '../kit/keys';
import type { ObjectKey } from '../../src/model';
import type { PlacementRouter } from '../kit/placement';
import type { RealmSink, UnresolvedLinks } from '../kit/realm-sink';
import { TransactionBuffer } from '../kit/transaction-buffer';
import type { Doc, ResolvedMapping, ResolvedTable } from './mapping';
import { after, mongoPositionCodec, tokenPosition, type MongoPosition } from './position';
import { typeOfValue } from './types';

/**
 * Change stream → realms (docs/connectors/mongodb.md, "Capture"). Events arrive grouped into source
 * transactions (the events of one multi-document transaction share `lsid` + `txnNumber` and come
 * together; any other write is a transaction of its own). Each is written into the realms it
 * touches, one realm transaction each, with the realm's position (`resumeFrom`: just after the
 * transaction's last resume token); the connector's own transactions — those that wrote its apply
 * position, recognised by their `lsid`/`txnNumber` — are skipped (no echo); `confirmed` moves only
 * after the sync server acknowledged, in stream order.
 */

export type ChangeEvent = ChangeStreamDocument<Document> & { lsid?: { id: unknown }; txnNumber?: unknown; fullDocumentBeforeChange?: Document | null };

/** A database change capture left out of a realm (or the properties it left out), because realm changes not yet applied protect them (realm-wins). */
interface Withheld {
  e: ChangeEvent;
  t: ResolvedTable;
  key: ObjectKey;
  props: Set<string> | 'all';
}

export interface CaptureStatus {
  transactions: number;
  skippedOwn: number;
  replayedSkipped: number;
  /** realm-wins: withheld database changes written into the realm after all, because the connector's own transaction left their documents alone. */
  releasedWithheld?: number;
  markers: number;
  /** Database re-loads after ChangeStreamHistoryLost (286). */
  resyncs: number;
  /** Source transactions larger than `spillThreshold` events, buffered on disk while written. */
  spilled: number;
  lastCommitTime: Date | null;
  oldestUnconfirmedCommitTime: Date | null;
  pendingAcks: number;
  /** Every event before this position is written into the realms (acknowledged or not). */
  processed: MongoPosition;
  /** Every event before this position is in the realms and acknowledged. */
  confirmed: MongoPosition;
}

export interface CaptureNamespaces {
  database: string;
  positions: string;
  markers: string;
  /** The `_id` prefix of this connector's apply-position documents. */
  ownPrefix: string;
}

/**
 * The events of one source transaction, in stream order: the first `threshold` in memory, the rest
 * spilled to a temporary file as canonical Extended JSON (types kept) by the kit's
 * TransactionBuffer, so memory stays bounded whatever the transaction's size; read back
 * synchronously inside the realm writes, still one realm transaction per realm.
 */
export class EventGroup implements Iterable<ChangeEvent> {
  private readonly head: ChangeEvent[] = [];
  private spill: TransactionBuffer<string> | null = null;
  private readonly colls = new Set<string | undefined>();
  length = 0;
  first!: ChangeEvent;
  last!: ChangeEvent;
  /** The transaction wrote this connector's apply position (it is the connector's own). */
  wroteOwnPosition = false;
  /** That position: the realm, and the last realm transaction the transaction applied to it. */
  ownPosition: { path: string; through: number } | null = null;

  constructor(
    private readonly threshold: number,
    private readonly ns: { positions: string; ownPrefix: string },
  ) {}

  add(e: ChangeEvent): void {
    if (this.length === 0) this.first = e;
    this.last = e;
    this.length++;
    const coll = (e as { ns?: { coll?: string } }).ns?.coll;
    this.colls.add(coll);
    const id = String((e as { documentKey?: { _id?: unknown } }).documentKey?._id ?? '');
    if (coll === this.ns.positions && id.startsWith(this.ns.ownPrefix)) {
      this.wroteOwnPosition = true;
      const doc = e as { fullDocument?: { txn?: unknown } | null; updateDescription?: { updatedFields?: { txn?: unknown } } };
      const txn = doc.updateDescription?.updatedFields?.txn ?? doc.fullDocument?.txn;
      // A BSON number as the stream decodes it (a number, or an Int32 / Long / Double wrapper).
      const through = typeof txn === 'number' ? txn : typeof (txn as { toNumber?: unknown })?.toNumber === 'function' ? (txn as { toNumber(): number }).toNumber() : Number(txn);
      if (Number.isSafeInteger(through)) this.ownPosition = { path: id.slice(this.ns.ownPrefix.length), through };
    }
    if (this.spill === null && this.head.length < this.threshold) this.head.push(e);
    else (this.spill ??= new TransactionBuffer<string>(0)).add(BSON.EJSON.stringify(e as never, { relaxed: false }));
  }

  get spilled(): boolean {
    return this.spill !== null;
  }

  /** Every event is in `coll`. */
  onlyIn(coll: string): boolean {
    return this.colls.size === 1 && this.colls.has(coll);
  }

  *[Symbol.iterator](): Iterator<ChangeEvent> {
    yield* this.head;
    if (this.spill) for (const text of this.spill.changes()) yield BSON.EJSON.parse(text, { relaxed: false }) as ChangeEvent;
  }

  dispose(): void {
    this.spill?.dispose();
  }
}

export type SourceTransaction = EventGroup;

/** The (lsid, txnNumber) of an event in a multi-document transaction, or null. */
export function transactionKey(e: ChangeEvent): string | null {
  if (!e.lsid || e.txnNumber === undefined || e.txnNumber === null) return null;
  const id = e.lsid.id as { toString(enc?: string): string; buffer?: Uint8Array };
  const hex = id?.buffer ? Buffer.from(id.buffer).toString('hex') : String(id);
  return `${hex}:${String(e.txnNumber)}`;
}

export class MongoCapture {
  readonly status: CaptureStatus;
  private ackChain: Promise<void> = Promise.resolve();
  private ackError: Error | null = null;
  private readonly pendingTimes: Date[] = [];
  protection: CaptureProtection<ResolvedTable> | null = null;
  /**
   * For `database-wins`: the realm changes received but not applied yet. A database update of such
   * an object brings its document's values for those properties (a `$set` to an unchanged value is
   * not in the event, yet it is the database's value, which wins).
   */
  pending: CaptureProtection<ResolvedTable> | null = null;
  /** Off only in the test that shows the echo guard matters. */
  echoGuard = true;
  /**
   * realm-wins: per realm, the database changes capture withheld (protected) since the connector's
   * last own transaction that applied realm transactions to it. When the next one passes in the
   * stream, a withheld change to a document it did not write goes into the realm after all: apply
   * left that document alone (its write was a no-op, the document already held the realm's
   * values when apply read it, and MongoDB takes no lock for a no-op), so the change, committed
   * after apply's snapshot, is the later write. Without this the realm kept its value and the
   * database the withheld one. A change to a document it did write was overwritten by it.
   */
  private readonly withheld = new Map<string, Withheld[]>();
  /** Called whenever `processed` moves (apply barriers and caughtUp wait on it). */
  onProcessed: (p: MongoPosition) => void = () => undefined;
  onConfirm: (p: MongoPosition) => void = () => undefined;
  onError: (e: Error) => void = () => undefined;

  constructor(
    private readonly mapping: ResolvedMapping,
    private readonly sink: RealmSink<ResolvedTable, Doc, MongoPosition>,
    private readonly router: PlacementRouter<ResolvedTable, Doc>,
    private readonly ns: CaptureNamespaces,
    private readonly log: Logger,
    start: MongoPosition,
    status?: Partial<CaptureStatus>,
  ) {
    this.status = { transactions: 0, skippedOwn: 0, replayedSkipped: 0, markers: 0, resyncs: 0, spilled: 0, lastCommitTime: null, oldestUnconfirmedCommitTime: null, pendingAcks: 0, ...status, processed: start, confirmed: start };
  }

  drained(): Promise<void> {
    return this.ackChain;
  }

  private isOwn(tx: SourceTransaction): boolean {
    return transactionKey(tx.first) !== null && tx.wroteOwnPosition;
  }

  /** Handles one source transaction (its events in stream order). */
  handle(tx: SourceTransaction): void {
    if (this.ackError) throw this.ackError;
    const last = tokenPosition(tx.last._id);
    const next = after(last);
    const time = (tx.first as { wallTime?: Date }).wallTime ?? new Date();
    let touched: string[] = [];
    if (tx.onlyIn(this.ns.markers)) this.status.markers++;
    else {
      this.status.transactions++;
      this.status.lastCommitTime = time;
      if (tx.spilled) this.status.spilled++;
      if (this.echoGuard && this.isOwn(tx)) {
        this.status.skippedOwn++;
        // The realm transactions it applied protect no database change after it (realm-wins).
        const own = tx.ownPosition;
        if (own) {
          this.protection?.appliedInStream?.(own.path, own.through);
          if (this.pending !== this.protection) this.pending?.appliedInStream?.(own.path, own.through);
          touched = this.releaseWithheld(tx, own.path, last, next);
        }
      } else touched = this.write(tx, last, next);
    }
    this.markProcessed(next);
    this.status.pendingAcks++;
    this.pendingTimes.push(time);
    this.status.oldestUnconfirmedCommitTime = this.pendingTimes[0]!;
    this.ackChain = this.ackChain.then(async () => {
      if (this.ackError) return;
      try {
        await Promise.all(touched.map((p) => this.sink.uploaded(p)));
        if (touched.length > 0) crashPoint('capture-acknowledged');
        this.status.pendingAcks--;
        this.pendingTimes.shift();
        this.status.oldestUnconfirmedCommitTime = this.pendingTimes[0] ?? null;
        if (mongoPositionCodec.compare(next, this.status.confirmed) > 0) {
          this.status.confirmed = next;
          this.onConfirm(next);
        }
      } catch (e) {
        this.ackError = e as Error;
        this.onError(e as Error);
      }
    });
  }

  private markProcessed(p: MongoPosition): void {
    if (mongoPositionCodec.compare(p, this.status.processed) <= 0) return;
    this.status.processed = p;
    this.onProcessed(p);
  }

  /** New fields in the transaction's documents become properties (schemaChanges.addProperties), before any realm write. */
  private evolve(tx: SourceTransaction): void {
    if (!this.mapping.options.schemaChanges.addProperties) return;
    let added = false;
    for (const e of tx) {
      const t = this.tableOf(e);
      if (!t) continue;
      const docs = [(e as { fullDocument?: Doc | null }).fullDocument, (e as { updateDescription?: { updatedFields?: Doc } }).updateDescription?.updatedFields];
      for (const d of docs) {
        if (!d) continue;
        for (const [field, v] of Object.entries(d)) {
          if (field === '_id' || field.includes('.') || t.fields.has(field) || t.excluded.has(field) || field === t.partitionField || t.links.some((l) => l.field === field)) continue;
          const type = typeOfValue(v);
          if (!type || t.byProperty.has(field)) continue;
          this.mapping.addField(t, field, type);
          this.log.info('mongodb connector: a new field becomes a property', { collection: t.table, field, type: type.realm });
          added = true;
        }
      }
    }
    if (added) for (const f of this.sink.reopen()) this.log.warn('mongodb connector: a realm could not take the new properties', { path: f.path, error: f.error.message });
  }

  private tableOf(e: ChangeEvent): ResolvedTable | undefined {
    const ns = (e as { ns?: { db?: string; coll?: string } }).ns;
    return ns?.db === this.ns.database && ns.coll ? this.mapping.tables.get(ns.coll) : undefined;
  }

  /** Writes the changes withheld from `path` that the connector's own transaction `own` did not overwrite (see {@link withheld}). */
  private releaseWithheld(own: SourceTransaction, path: string, last: MongoPosition, next: MongoPosition): string[] {
    const list = this.withheld.get(path);
    if (!list) return [];
    this.withheld.delete(path);
    const written = new Set<string>();
    for (const e of own) {
      const t = this.tableOf(e);
      const key = t ? this.mapping.key(t, { _id: (e as { documentKey?: { _id: unknown } }).documentKey?._id }) : null;
      if (t && key !== null) written.add(objectKeyId(t.type, key));
    }
    const later = list.filter((w) => !written.has(objectKeyId(w.t.type, w.key)));
    if (later.length === 0) return [];
    this.protection?.resetProtection();
    const touched = this.sink.writeTransaction(last, next, this.status, (realmFor, unresolved) => {
      for (const w of later) this.change(w.e, realmFor, unresolved, w.props);
    });
    // Those a later realm transaction still protects were withheld again (for its apply).
    const released = later.length - (this.withheld.get(path)?.length ?? 0);
    if (released > 0) {
      this.status.releasedWithheld = (this.status.releasedWithheld ?? 0) + released;
      this.log.debug('mongodb connector: database changes its own transaction did not overwrite go into the realm', { path, changes: released });
    }
    return touched;
  }

  /** Notes a change (or some of its properties) left out of `path` for realm changes not yet applied. */
  private withhold(path: string, e: ChangeEvent, t: ResolvedTable, key: ObjectKey, props: Set<string> | 'all'): void {
    let list = this.withheld.get(path);
    if (!list) this.withheld.set(path, (list = []));
    list.push({ e, t, key, props });
  }

  private write(tx: SourceTransaction, last: MongoPosition, next: MongoPosition): string[] {
    this.evolve(tx);
    this.protection?.resetProtection();
    if (this.pending !== this.protection) this.pending?.resetProtection();
    return this.sink.writeTransaction(last, next, this.status, (realmFor, unresolved) => {
      for (const e of tx) this.change(e, realmFor, unresolved);
    });
  }

  /** `only`: a withheld change written at last (see {@link withheld}): just the properties that were withheld. */
  private change(e: ChangeEvent, realmFor: (p: string | null) => Realm | null, unresolved: UnresolvedLinks<ResolvedTable>, only?: Set<string> | 'all'): void {
    const t = this.tableOf(e);
    if (e.operationType === 'drop' || e.operationType === 'dropDatabase') {
      for (const x of e.operationType === 'drop' ? (t ? [t] : []) : [...this.mapping.tables.values()]) {
        for (const p of this.router.pathsOf(x)) {
          const r = realmFor(p);
          if (r) this.sink.clear(r, x);
        }
        this.router.clear(x);
        this.log.warn('mongodb connector: a mapped collection was dropped; its objects are deleted from the realms', { collection: x.table });
      }
      return;
    }
    if (!t) return;
    const docKey = (e as { documentKey?: { _id: unknown } }).documentKey;
    const key = this.mapping.key(t, { _id: docKey?._id });
    if (key === null) return;
    if (e.operationType === 'delete') {
      const paths = this.router.pathsOfKey(t, key);
      if (paths.length > 0 && this.protection?.protectedProperties(paths[0]!, t, key)) {
        // realm-wins: the realm's unapplied change stands (unless apply then leaves the document alone).
        this.withhold(paths[0]!, e, t, key, 'all');
        return;
      }
      for (const p of paths) {
        const r = realmFor(p);
        if (r) this.sink.remove(r, t, key);
      }
      this.router.forget(t, key);
      return;
    }
    if (e.operationType !== 'insert' && e.operationType !== 'replace' && e.operationType !== 'update') return;
    const before = e.fullDocumentBeforeChange ?? null;
    // The document as of this event: the pre-image with the update applied where the collection
    // records pre-images (exact); otherwise updateLookup's document (the current one, maybe later).
    const full = e.operationType === 'update' && before && e.updateDescription ? postImage(before, e.updateDescription) : ((e as { fullDocument?: Doc | null }).fullDocument ?? null);
    let row: Doc;
    let whole: boolean;
    if (e.operationType === 'update') {
      // The fields the update changed, as of the event (updateLookup's document may be later).
      const d = e.updateDescription ?? { updatedFields: {}, removedFields: [] };
      row = { _id: docKey!._id };
      const tops = new Set<string>();
      for (const [path, v] of Object.entries(d.updatedFields ?? {})) {
        if (!path.includes('.')) row[path] = v;
        else tops.add(path.split('.')[0]!);
      }
      for (const path of d.removedFields ?? []) {
        if (!path.includes('.')) row[path] = null;
        else tops.add(path.split('.')[0]!);
      }
      for (const a of d.truncatedArrays ?? []) tops.add(a.field.split('.')[0]!); // a shorter array: its whole value
      // A change inside an array or sub-document: the field's whole value (from the post-image or the looked-up document).
      for (const top of tops) if (!(top in row)) row[top] = full ? (full[top] ?? null) : null;
      whole = false;
    } else {
      row = full ?? { _id: docKey!._id };
      whole = true;
    }
    const oldPaths = this.router.pathsOfKey(t, key);
    const oldPath = oldPaths[0] ?? null;
    // Where the object goes: decided from the event alone whenever possible, so that a replay after a
    // restart decides exactly as the first run did. An update that does not touch the placement
    // fields leaves a known object where it is; only an unknown object (or a placement function)
    // needs the rest of the document (exact with pre-images, else updateLookup's, maybe later).
    const fields = placementFields(t);
    const untouched = !whole && oldPath !== null && fields !== null && !fields.some((f) => f in row);
    let newPath = untouched ? oldPath : this.router.pathFor(t, whole ? row : { ...(full ?? {}), ...row });
    if (newPath === null && oldPath !== null && !whole) newPath = oldPath;
    if (newPath === null) {
      this.mapping.warnOnce(`unplaced:${t.table}`, `${t.table}: a document has no realm (placement field missing, or the followed document unknown); skipped`, { key: keyText(key) });
      return;
    }
    const stays = oldPaths.includes(newPath);
    let carry: Record<string, unknown> | undefined;
    if (oldPaths.length > 0 && (!stays || oldPaths.length > 1)) {
      for (const p of oldPaths) {
        if (stays && p === newPath) continue;
        const r = realmFor(p);
        if (!r) continue;
        const obj = this.sink.find(r, t, key);
        if (obj && !carry) carry = Object.fromEntries([...t.fields.values()].map((f) => [f.property, f.type.list ? Array.from(obj[f.property] as Iterable<unknown>) : obj[f.property]]));
        this.sink.remove(r, t, key);
      }
      if (!stays) this.router.forget(t, key);
    }
    const target = realmFor(newPath);
    // An object the realm does not hold yet gets the whole document.
    if (!whole && target && !this.sink.find(target, t, key) && !carry && full) row = { ...full, ...row };
    const increments: [string, number][] = [];
    const counters = [...t.fields.values()].filter((f) => f.counter && f.field in row);
    if (counters.length > 0 && e.operationType !== 'insert' && target && this.sink.find(target, t, key)) {
      row = { ...row };
      for (const f of counters) {
        const now = Number(row[f.field]?.valueOf?.() ?? row[f.field]);
        const was = before ? Number(before[f.field]?.valueOf?.() ?? before[f.field]) : NaN;
        if (!before) {
          this.mapping.warnOnce(`counter:${t.table}`, `${t.table}: counter fields need the collection's pre-images (collMod changeStreamPreAndPostImages: { enabled: true }); without them a database update of a counter is written as its value`, {});
          continue;
        }
        delete row[f.field];
        if (Number.isFinite(now) && Number.isFinite(was) && now !== was) increments.push([f.property, now - was]);
      }
    }
    if (!whole && stays && full && !this.protection && this.pending) {
      const pend = this.pending.protectedProperties(newPath, t, key);
      if (pend) {
        row = { ...row };
        for (const f of t.fields.values()) if (!f.counter && !(f.field in row) && (pend === 'all' || pend.has(f.property))) row[f.field] = full[f.field] ?? null;
        for (const l of t.links) if (!(l.field in row) && (pend === 'all' || pend.has(l.property))) row[l.field] = full[l.field] ?? null;
      }
    }
    if (only && only !== 'all' && target && this.sink.find(target, t, key)) {
      // Written at last: only what was withheld (the rest went in when the change was first read).
      const kept: Doc = { _id: row._id };
      for (const f of t.fields.values()) if (only.has(f.property) && f.field in row) kept[f.field] = row[f.field];
      for (const l of t.links) if (only.has(l.property) && l.field in row) kept[l.field] = row[l.field];
      row = kept;
    }
    const guard = stays ? this.protection?.protectedProperties(newPath, t, key) : null;
    if (guard === 'all') {
      this.withhold(newPath, e, t, key, only ?? 'all');
      this.router.remember(t, key, newPath);
      return;
    }
    if (guard) {
      // Written at last but still partly protected: only what was withheld before may be withheld
      // again (the other properties went in when the change was first read; writing them later
      // could undo a newer change).
      const again = only && only !== 'all' ? new Set([...guard].filter((p) => only.has(p))) : guard;
      if (again.size > 0) this.withhold(newPath, e, t, key, again);
      row = { ...row };
      for (const f of t.fields.values()) if (guard.has(f.property) && !f.counter) delete row[f.field];
      for (const l of t.links) if (guard.has(l.property)) delete row[l.field];
    }
    if (target) {
      this.sink.upsert(target, t, row, carry, unresolved);
      if (increments.length > 0) {
        const obj = this.sink.find(target, t, key);
        for (const [property, delta] of increments) target.increment(obj, property, delta);
      }
    }
    this.router.remember(t, key, newPath);
  }
}

/** The fields a table's placement reads (null: a function, any of them). */
function placementFields(t: ResolvedTable): string[] | null {
  if (t.partitionField) return [t.partitionField];
  switch (t.placement.kind) {
    case 'fixed':
      return [];
    case 'template':
      return t.placement.columns;
    case 'follow':
      return [t.placement.column];
    case 'function':
      return null;
  }
}

/**
 * The post-image of an update from its pre-image and `updateDescription`: arrays truncated, then
 * `updatedFields` set (dotted paths into sub-documents and array indexes), then `removedFields`
 * removed — how MongoDB describes the change.
 */
export function postImage(before: Doc, d: { updatedFields?: Doc; removedFields?: string[]; truncatedArrays?: { field: string; newSize: number }[] }): Doc {
  const doc = structuredCloneBson(before) as Doc;
  const walk = (path: string, create: boolean): { parent: Record<string, unknown> | unknown[]; key: string } | null => {
    const parts = path.split('.');
    let cur: unknown = doc;
    for (let i = 0; i < parts.length - 1; i++) {
      const k = parts[i]!;
      let next = (cur as Record<string, unknown>)[k];
      if ((next === undefined || next === null) && create) (cur as Record<string, unknown>)[k] = next = /^\d+$/.test(parts[i + 1]!) ? [] : {};
      if (next === null || typeof next !== 'object') return null;
      cur = next;
    }
    return { parent: cur as Record<string, unknown>, key: parts[parts.length - 1]! };
  };
  for (const t of d.truncatedArrays ?? []) {
    const at = walk(t.field, false);
    const arr = at ? (at.parent as Record<string, unknown>)[at.key] : undefined;
    if (Array.isArray(arr)) arr.length = Math.min(arr.length, t.newSize);
  }
  for (const [path, v] of Object.entries(d.updatedFields ?? {})) {
    const at = walk(path, true);
    if (at) (at.parent as Record<string, unknown>)[at.key] = v;
  }
  for (const path of d.removedFields ?? []) {
    const at = walk(path, false);
    if (at && !Array.isArray(at.parent)) delete (at.parent as Record<string, unknown>)[at.key];
    else if (at) (at.parent as unknown[])[Number(at.key)] = null;
  }
  return doc;
}

/** A deep copy of plain documents and arrays (BSON values are immutable and shared). */
function structuredCloneBson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structuredCloneBson);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneBson(x)]));
  return v;
}

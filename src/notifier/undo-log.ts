import { decodeRecord, type ObjectRecord } from '../changeset';
import { TributaryError } from '../errors';
import { keyString, parseKeyString, type ObjectKey, type ObjectSchema } from '../model';
import type { PreImageCapture, ReplicaHandle, StoredRow } from '../store';

interface PreImage {
  seq: number;
  data: Uint8Array;
  record?: ObjectRecord;
}

/**
 * An undo log: the first pre-image of every object and schema touched since the log started,
 * recorded by the replica inside its transactions (while the row still holds the previous
 * content). With the live replica it describes the state as of the log's start — the notifier
 * starts one per transaction, so that is the state before the event's changeset — without copying
 * anything that did not change.
 */
export class UndoLog implements PreImageCapture {
  /** type → key → pre-image, or null when the object did not exist. */
  readonly objects = new Map<string, Map<string, PreImage | null>>();
  /** type → schema before, or null when the type did not exist. */
  readonly schemas = new Map<string, ObjectSchema | null>();
  private size_ = 0;

  object(type: string, key: string, read: () => StoredRow | undefined): void {
    let byKey = this.objects.get(type);
    if (!byKey) this.objects.set(type, (byKey = new Map()));
    if (byKey.has(key)) return;
    const row = read();
    byKey.set(key, row ? { seq: row.seq, data: row.data } : null);
    this.size_++;
  }

  schema(name: string, previous: ObjectSchema | undefined): void {
    if (!this.schemas.has(name)) this.schemas.set(name, previous ?? null);
  }

  reset(rows: () => Iterable<{ type: string; key: string } & StoredRow>, schemas: ObjectSchema[]): void {
    for (const s of schemas) this.schema(s.name, s);
    for (const r of rows()) this.object(r.type, r.key, () => r);
  }

  /** Number of object pre-images held. */
  get size(): number {
    return this.size_;
  }

  clear(): void {
    this.objects.clear();
    this.schemas.clear();
    this.size_ = 0;
  }
}

const readOnly = (): never => {
  throw new TributaryError('READ_ONLY', 'oldRealm is a read-only view of the state before the change');
};

/**
 * The state before an event, read-only: the live replica seen through an undo log. Quacks like
 * the part of {@link Replica} a Realm reads, so the notifier can hand it out as a Realm
 * (`changeEvent.oldRealm`). Valid while the log keeps receiving every later change of the
 * replica (the notifier holds integration until the event's handlers settle), closed after.
 */
export class OldStateView {
  readonly path: string;
  private closed = false;
  private readonly orderCache = new Map<string, string[]>();

  constructor(
    private readonly replica: ReplicaHandle,
    private readonly log: UndoLog,
    path: string,
  ) {
    this.path = path;
  }

  get isClosed(): boolean {
    return this.closed || this.replica.isClosed;
  }
  /** Immutable: it never changes while open. */
  get dataVersion(): number {
    return 0;
  }
  get version(): number {
    return 0;
  }
  get isInWrite(): boolean {
    return false;
  }
  get binding(): undefined {
    return undefined;
  }

  private check(): void {
    if (this.isClosed) throw new TributaryError('REALM_CLOSED', 'the change event is over: its oldRealm is closed');
  }

  getSchema(type: string): ObjectSchema | undefined {
    this.check();
    if (this.log.schemas.has(type)) return this.log.schemas.get(type) ?? undefined;
    return this.replica.getSchema(type);
  }

  schemas(): ObjectSchema[] {
    this.check();
    const out: ObjectSchema[] = [];
    for (const s of this.replica.schemas()) {
      const before = this.log.schemas.has(s.name) ? this.log.schemas.get(s.name) : s;
      if (before) out.push(before);
    }
    return out;
  }

  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    this.check();
    const pre = this.log.objects.get(type)?.get(keyString(id));
    if (pre === undefined) return this.replica.getObject(type, id);
    if (pre === null) return undefined;
    return (pre.record ??= decodeRecord(pre.data));
  }

  /** Keys in the creation order the type had: pre-images keep their sequence number. */
  objectKeys(type: string): string[] {
    this.check();
    let keys = this.orderCache.get(type);
    if (keys) return keys;
    const touched = this.log.objects.get(type);
    if (!touched || touched.size === 0) {
      keys = this.replica.objectKeys(type);
    } else {
      const rows: { key: string; seq: number }[] = [];
      for (const r of this.replica.keysWithSequence(type)) if (!touched.has(r.key)) rows.push(r);
      for (const [key, pre] of touched) if (pre) rows.push({ key, seq: pre.seq });
      rows.sort((a, b) => a.seq - b.seq);
      keys = rows.map((r) => r.key);
    }
    this.orderCache.set(type, keys);
    return keys;
  }

  objects(type: string): ObjectRecord[] {
    return this.objectKeys(type).map((k) => this.getObject(type, parseKeyString(k))!);
  }

  count(type: string): number {
    return this.objectKeys(type).length;
  }

  /** Nothing ever commits here: an extension is told nothing, so it need not be kept. */
  addExtension(): () => void {
    return () => undefined;
  }

  putSchema = readOnly;
  putObject = readOnly;
  deleteObject = readOnly;
  beginWrite = readOnly;
  write = readOnly;
  bind = readOnly;

  close(): void {
    this.closed = true;
    this.orderCache.clear();
  }
}

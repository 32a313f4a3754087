import type { ObjectRecord } from '../changeset';
import { TributaryError } from '../errors';
import type { ObjectKey, ObjectSchema } from '../model';
import {
  Replica,
  type DownloadBatch,
  type LocalChangeset,
  type LocalWrite,
  type ReplicaBinding,
  type ReplicaExtension,
  type ReplicaHandle,
  type ReplicaOptions,
  type Snapshot,
  type SyncProgress,
} from '../store';

interface Registration {
  readonly extension: ReplicaExtension;
  /** Its removal from the replica open now, or null while the file is closed. */
  remove: (() => void) | null;
}

/**
 * A replica whose file is opened on demand and closed by {@link evict}, so an admin tool can keep a
 * session bound for each of thousands of realms while only the busy ones hold a database
 * connection and caches. It stands in for a {@link Replica} everywhere (sessions, Realm instances,
 * change trackers) through {@link ReplicaHandle}: every member opens the file if needed and
 * forwards, except those below that must not open it.
 *
 * Extensions are kept here in registration order and registered on each replica opened, in that
 * order (their `attach` runs again with the new file's storage); an extension with an `attach`
 * opens the file at once, so its tables exist when `addExtension` returns. `dataVersion` and
 * `version` keep increasing across reopens (caches key on them).
 *
 * @example
 * const lazy = new LazyReplica({ path: file }, (open) => (openCount += open ? 1 : -1));
 * const realm = new Realm({ path: file, sync }); // after acquireReplica(file, () => lazy)
 * lazy.evict(); // closes the file while idle; the next use opens it again
 */
export class LazyReplica implements ReplicaHandle {
  readonly path: string;
  private current: Replica | null = null;
  private closed = false;
  private dataBase = 0;
  private versionBase = 0;
  private registrations: Registration[] = [];

  constructor(
    private readonly options: ReplicaOptions,
    private readonly onOpenChange?: (open: boolean) => void,
  ) {
    this.path = options.path;
  }

  /** True while the file is open. */
  get isOpen(): boolean {
    return this.current !== null;
  }

  /** Closes the file now (only when no write is open); the next use opens it again. */
  evict(): boolean {
    if (!this.current) return true;
    if (this.current.isInWrite) return false;
    this.dataBase += this.current.dataVersion + 1;
    this.versionBase += this.current.version + 1;
    this.shut();
    return true;
  }

  private shut(): void {
    for (const r of this.registrations) r.remove = null;
    this.current!.close();
    this.current = null;
    this.onOpenChange?.(false);
  }

  private get replica(): Replica {
    if (this.current && !this.current.isClosed) return this.current;
    const r = Replica.open(this.options);
    for (const reg of this.registrations) reg.remove = r.addExtension(reg.extension);
    r.onCommitFailure((e) => {
      for (const l of [...this.commitFailureListeners]) l(e);
    });
    this.current = r;
    this.onOpenChange?.(true);
    return r;
  }

  // ---- members that never open the file ------------------------------------------------------

  get isClosed(): boolean {
    return this.closed;
  }
  get dataVersion(): number {
    return this.dataBase + (this.current?.dataVersion ?? 0);
  }
  get version(): number {
    return this.versionBase + (this.current?.version ?? 0);
  }
  get isInWrite(): boolean {
    return this.current?.isInWrite ?? false;
  }
  get hasPendingCommit(): boolean {
    return this.current?.hasPendingCommit ?? false;
  }
  commitPending(): void {
    this.current?.commitPending();
  }

  private readonly commitFailureListeners = new Set<(error: Error) => void>();
  onCommitFailure(listener: (error: Error) => void): () => void {
    this.commitFailureListeners.add(listener);
    return () => this.commitFailureListeners.delete(listener);
  }

  addExtension(extension: ReplicaExtension): () => void {
    if (this.registrations.some((r) => r.extension === extension)) throw new TributaryError('INVALID_ARGUMENT', 'this extension is already registered with the replica');
    const reg: Registration = { extension, remove: null };
    // Opening the file registers the earlier extensions first, so the order stays that of the calls.
    if (this.current || extension.attach) reg.remove = this.replica.addExtension(extension);
    this.registrations = [...this.registrations, reg];
    return () => {
      this.registrations = this.registrations.filter((r) => r !== reg);
      reg.remove?.();
      reg.remove = null;
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.current) this.shut();
    this.registrations = [];
  }

  // ---- everything else: open the file and forward --------------------------------------------

  get fileIdent(): number {
    return this.replica.fileIdent;
  }
  get fileSalt(): number {
    return this.replica.fileSalt;
  }
  get lastClientVersion(): number {
    return this.replica.lastClientVersion;
  }
  get clockTime(): number {
    return this.replica.clockTime;
  }
  get schemaVersion(): number {
    return this.replica.schemaVersion;
  }
  setSchemaVersion(version: number): void {
    this.replica.setSchemaVersion(version);
  }
  get binding(): ReplicaBinding | undefined {
    return this.replica.binding;
  }
  get progress(): SyncProgress {
    return this.replica.progress;
  }
  get historySize(): number {
    return this.replica.historySize;
  }
  bind(binding: ReplicaBinding): void {
    this.replica.bind(binding);
  }
  setIdent(fileIdent: number, fileSalt: number): void {
    this.replica.setIdent(fileIdent, fileSalt);
  }
  resetSyncState(): void {
    this.replica.resetSyncState();
  }
  noteUploaded(clientVersion: number): void {
    this.replica.noteUploaded(clientVersion);
  }
  getSchema(type: string): ObjectSchema | undefined {
    return this.replica.getSchema(type);
  }
  schemas(): ObjectSchema[] {
    return this.replica.schemas();
  }
  putSchema(schema: ObjectSchema): void {
    this.replica.putSchema(schema);
  }
  getObject(type: string, id: ObjectKey): ObjectRecord | undefined {
    return this.replica.getObject(type, id);
  }
  putObject(type: string, record: ObjectRecord): void {
    this.replica.putObject(type, record);
  }
  insertObject(type: string, record: ObjectRecord): boolean {
    return this.replica.insertObject(type, record);
  }
  deleteObject(type: string, id: ObjectKey): void {
    this.replica.deleteObject(type, id);
  }
  objects(type: string): ObjectRecord[] {
    return this.replica.objects(type);
  }
  objectKeys(type: string): string[] {
    return this.replica.objectKeys(type);
  }
  keysWithSequence(type: string): { key: string; seq: number }[] {
    return this.replica.keysWithSequence(type);
  }
  count(type: string): number {
    return this.replica.count(type);
  }
  beginWrite(): LocalWrite {
    return this.replica.beginWrite();
  }
  write<T>(fn: (w: LocalWrite) => T): T {
    return this.replica.write(fn);
  }
  changesetsAfter(after: number, maxBytes?: number): LocalChangeset[] {
    return this.replica.changesetsAfter(after, maxBytes);
  }
  integrate(batch: DownloadBatch): void {
    this.replica.integrate(batch);
  }
  integrateAll(batches: readonly DownloadBatch[]): void {
    this.replica.integrateAll(batches);
  }
  applySnapshot(snapshot: Snapshot): { recovered: number; dropped: number } {
    return this.replica.applySnapshot(snapshot);
  }
}

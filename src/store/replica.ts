import { apply, decodeChangeset, encodeChangeset, type Instruction } from '../changeset';
import { TributaryError } from '../errors';
import { DownloadIntegration, type PendingChangeset } from '../merge';
import { HybridLogicalClock } from '../model';
import { LocalWrite } from './local-write';
import { recoverInstructions } from './recovery';
import { ReplicaFile } from './replica-file';
import type { HistoryRow } from './replica-statements';
import type { DownloadBatch, LocalChangeset, ReplicaBinding, ReplicaOptions, Snapshot, SyncProgress } from './replica-types';
import { DEFAULT_MAX_INSTRUCTIONS_PER_WRITE } from './replica-types';

export type {
  CommitEvent,
  CommitOrigin,
  DownloadBatch,
  DownloadCursor,
  Durability,
  LocalChangeset,
  ReplicaBinding,
  ReplicaOptions,
  Snapshot,
  SyncProgress,
  UploadCursor,
} from './replica-types';
export type { ExtensionStatement, ExtensionStorage, PreImageCapture, RemoteApplier, ReplicaExtension, StoredRow } from './extension';
export { LocalWrite } from './local-write';

/** A download integration with the pending changesets as last written (`loaded`), and the replica version it is valid at. */
interface DownloadMerge {
  integration: DownloadIntegration;
  loaded: Map<number, Instruction[]>;
  version: number;
}

/**
 * A durable local replica of one realm on SQLite (WAL; see ReplicaOptions.durability): object state, local
 * history, sync cursors and the hybrid logical clock, in one file. Every mutation is one SQLite
 * transaction, so a crash never separates data from its history entry or its cursors.
 *
 * This class holds the sync half — binding, file ident, cursors, local writes and their history,
 * download integration and snapshots; {@link ReplicaFile} holds the storage half. Extend a
 * replica through {@link ReplicaFile.addExtension} (see {@link ReplicaExtension}).
 *
 * Implements StateStore so `apply()` runs directly against it; those calls are only valid inside
 * a transaction opened by {@link beginWrite}, {@link integrate} or {@link applySnapshot}.
 *
 * @example
 * const replica = Replica.open({ path: 'dogs.db' });
 * replica.write((w) => w.apply([{ op: 'Create', type: 'Dog', id: 1, values: { name: 'Rex' } }]));
 */
export class Replica extends ReplicaFile {
  private readonly clock: HybridLogicalClock;
  private activeWrite: LocalWrite | null = null;
  private readonly maxInstructionsPerWrite: number;
  /** History is trimmed up to here (a cache: a rollback forgets it, so the next trim runs). */
  private trimmedTo = -1;

  private constructor(options: ReplicaOptions) {
    super(options);
    this.maxInstructionsPerWrite = options.maxInstructionsPerWrite ?? DEFAULT_MAX_INSTRUCTIONS_PER_WRITE;
    this.clock = new HybridLogicalClock(options.now);
    this.clock.restore(this.meta.hlc);
  }

  /**
   * The newest local changesets as committed (a suffix of `history` ending at lastClientVersion,
   * at most {@link RECENT_LOCAL} of them), so that the upload of a write just made does not read
   * it back from the file. Emptied whenever the history may have changed otherwise.
   */
  private recentLocal: LocalChangeset[] = [];

  protected override rollbackAll(): void {
    this.trimmedTo = -1;
    this.recentLocal = [];
    super.rollbackAll();
  }

  static open(options: ReplicaOptions): Replica {
    return new Replica(options);
  }

  get fileIdent(): number {
    return this.meta.fileIdent;
  }
  get fileSalt(): number {
    return this.meta.fileSalt;
  }
  get lastClientVersion(): number {
    return this.meta.lastClientVersion;
  }
  /** The last HLC timestamp issued or observed (persisted). */
  get clockTime(): number {
    return this.meta.hlc;
  }

  /** The realm-js schema version recorded in the file (local only); -1 for a file that never had one. */
  get schemaVersion(): number {
    return this.meta.schemaVersion;
  }

  setSchemaVersion(version: number): void {
    this.transaction(() => this.setMeta('schemaVersion', version));
  }

  get binding(): ReplicaBinding | undefined {
    const m = this.meta;
    return m.serverUrl ? { serverUrl: m.serverUrl, realmPath: m.realmPath, userIdentity: m.userIdentity } : undefined;
  }

  /**
   * Records what this replica syncs with the first time, and afterwards refuses another binding
   * (a replica of one realm must never upload its history into another).
   */
  bind(binding: ReplicaBinding): void {
    const current = this.binding;
    if (current) {
      if (current.serverUrl !== binding.serverUrl || current.realmPath !== binding.realmPath || current.userIdentity !== binding.userIdentity) {
        throw new TributaryError(
          'USER_MISMATCH',
          `replica ${this.path} belongs to ${current.userIdentity}@${current.serverUrl}${current.realmPath}, not ${binding.userIdentity}@${binding.serverUrl}${binding.realmPath}`,
        );
      }
      return;
    }
    // Carried to the next commit (the configured schema's write, or the ident's) rather than a
    // transaction of its own: a file whose binding a crash lost holds nothing of the server's yet,
    // and the next open binds it again.
    if (this.carryMeta('serverUrl', binding.serverUrl)) {
      this.carryMeta('realmPath', binding.realmPath);
      this.carryMeta('userIdentity', binding.userIdentity);
      return;
    }
    this.transaction(() => {
      this.setMeta('serverUrl', binding.serverUrl);
      this.setMeta('realmPath', binding.realmPath);
      this.setMeta('userIdentity', binding.userIdentity);
    });
  }

  get progress(): SyncProgress {
    const m = this.meta;
    return {
      download: { serverVersion: m.downloadServerVersion, lastIntegratedClientVersion: m.downloadClientVersion },
      latestServerVersion: m.latestServerVersion,
      latestServerVersionSalt: m.latestServerVersionSalt,
      acknowledged: { clientVersion: m.ackClientVersion, lastIntegratedServerVersion: m.ackServerVersion },
    };
  }

  /** Stores the file ident the server allocated, durably, before it is used. */
  setIdent(fileIdent: number, fileSalt: number): void {
    if (!Number.isSafeInteger(fileIdent) || fileIdent <= 0) throw new TributaryError('INVALID_ARGUMENT', `bad file ident ${fileIdent}`);
    this.keptMerge = null; // integrated as the old ident
    this.transaction(() => {
      this.setMeta('fileIdent', fileIdent);
      this.setMeta('fileSalt', fileSalt);
    });
  }

  /**
   * Forgets the file ident and every sync cursor (client reset): the next bind asks for a new
   * ident and bootstraps from a snapshot. Objects and unacknowledged history stay until then.
   */
  resetSyncState(): void {
    this.keptMerge = null; // its pending list starts at the old download cursor
    this.transaction(() => {
      this.setMeta('fileIdent', 0);
      this.setMeta('fileSalt', 0);
      this.setMeta('downloadServerVersion', 0);
      this.setMeta('downloadClientVersion', 0);
      this.setMeta('latestServerVersion', 0);
      this.setMeta('latestServerVersionSalt', 0);
      this.setMeta('uploadedClientVersion', this.meta.ackClientVersion);
    });
  }

  /** Records how far uploads have been sent (informational; resends start from the ack, so no fsync). */
  noteUploaded(clientVersion: number): void {
    if (clientVersion > this.meta.uploadedClientVersion) this.deferMeta('uploadedClientVersion', clientVersion);
  }

  // ---- local writes --------------------------------------------------------------------------

  get isInWrite(): boolean {
    return this.activeWrite !== null;
  }

  /**
   * Opens a local write transaction. Instructions given to {@link LocalWrite.apply} take effect
   * at once (reads inside the write see them); `commit()` makes them one changeset with its
   * history entry, in the same SQLite transaction.
   */
  beginWrite(): LocalWrite {
    this.checkOpen();
    if (this.activeWrite || this.isInTransaction) throw new TributaryError('INVALID_ARGUMENT', 'a write transaction is already open');
    this.begin(true);
    const w = new LocalWrite({
      apply: (instructions) => this.atomically(() => apply(this, instructions, this.extensions.observer)),
      commit: (write, instructions) => this.commitLocal(write, instructions),
      cancel: (write) => this.cancelLocal(write),
    });
    this.activeWrite = w;
    return w;
  }

  /** Runs `fn` in a write transaction and commits it; rolls back if `fn` throws. */
  write<T>(fn: (w: LocalWrite) => T): T {
    const w = this.beginWrite();
    let result: T;
    try {
      result = fn(w);
    } catch (e) {
      if (w.isOpen) w.cancel();
      throw e;
    }
    if (w.isOpen) w.commit();
    return result;
  }

  private commitLocal(w: LocalWrite, instructions: Instruction[]): number | undefined {
    let clientVersion: number | undefined;
    let made: LocalChangeset | undefined;
    try {
      this.finish(() => {
        if (instructions.length === 0) return;
        // Refused here, rolled back with the write, rather than accepted locally and then refused
        // by the server for good (the server's maxInstructionsPerChangeset has the same default).
        if (instructions.length > this.maxInstructionsPerWrite) {
          throw new TributaryError('LIMITS_EXCEEDED', `this write has ${instructions.length} instructions, over the limit of ${this.maxInstructionsPerWrite} for one transaction; split it into several write transactions`);
        }
        clientVersion = this.meta.lastClientVersion + 1;
        const timestamp = this.clock.tick();
        const data = encodeChangeset(instructions);
        // Acknowledgements carried here without a transaction of their own (integrateCursorsOnly).
        this.trimHistory();
        this.stmt.historyInsert.run(clientVersion, timestamp, this.meta.downloadServerVersion, data);
        made = { clientVersion, originTimestamp: timestamp, lastIntegratedServerVersion: this.meta.downloadServerVersion, data };
        // Written with the other deferred values just before COMMIT, in one statement.
        this.deferMeta('lastClientVersion', clientVersion);
        this.deferMeta('hlc', timestamp);
      });
    } finally {
      if (this.activeWrite === w) this.activeWrite = null;
    }
    if (made) {
      const recent = this.recentLocal;
      if (recent.length > 0 && recent[recent.length - 1]!.clientVersion !== made.clientVersion - 1) recent.length = 0;
      if (recent.push(made) > RECENT_LOCAL) recent.shift();
    }
    this.committed({ origin: 'local', clientVersion });
    return clientVersion;
  }

  private cancelLocal(w: LocalWrite): void {
    this.rollbackAll();
    if (this.activeWrite === w) this.activeWrite = null;
  }

  // ---- history -------------------------------------------------------------------------------

  /** Local changesets with client version > `after`, oldest first, up to about `maxBytes`. */
  changesetsAfter(after: number, maxBytes = Infinity): LocalChangeset[] {
    const out: LocalChangeset[] = [];
    let bytes = 0;
    const recent = this.recentLocal;
    if (recent.length > 0 && recent[0]!.clientVersion <= after + 1 && recent[recent.length - 1]!.clientVersion === this.meta.lastClientVersion) {
      for (let i = Math.max(0, after + 1 - recent[0]!.clientVersion); i < recent.length; i++) {
        const c = recent[i]!;
        if (out.length > 0 && bytes + c.data.length > maxBytes) break;
        bytes += c.data.length;
        out.push(c);
      }
      return out;
    }
    for (const row of this.stmt.historyAfter.iterate(after) as Iterable<HistoryRow>) {
      if (out.length > 0 && bytes + row.changeset.length > maxBytes) break;
      bytes += row.changeset.length;
      out.push({
        clientVersion: row.client_version,
        originTimestamp: row.origin_timestamp,
        lastIntegratedServerVersion: row.base_server_version,
        data: row.changeset,
      });
    }
    return out;
  }

  /** Number of local changesets still kept (not yet acknowledged and integrated). */
  get historySize(): number {
    return (this.stmt.historyCount.get() as { n: number }).n;
  }

  private pendingAfter(after: number): PendingChangeset[] {
    return (this.stmt.historyAfter.all(after) as HistoryRow[]).map((row) => ({
      clientVersion: row.client_version,
      originTimestamp: row.origin_timestamp,
      instructions: decodeChangeset(row.rebased ?? row.changeset),
    }));
  }

  private pendingOriginals(after: number): { clientVersion: number; instructions: Instruction[] }[] {
    return (this.stmt.historyAfter.all(after) as HistoryRow[]).map((row) => ({
      clientVersion: row.client_version,
      instructions: decodeChangeset(row.changeset),
    }));
  }

  // ---- downloads -----------------------------------------------------------------------------

  /**
   * Integrates one DOWNLOAD: transforms each changeset past the pending local ones, applies it,
   * stores the rebased pending changesets, the new cursors and the clock, and trims history the
   * server has both acknowledged and integrated — all in one transaction. Throws (and changes
   * nothing) on a cursor that moves backwards or a changeset that cannot be applied.
   */
  integrate(batch: DownloadBatch): void {
    this.integrateAll([batch]);
  }

  /**
   * Integrates consecutive DOWNLOADs, in order, in one transaction (the sync session coalesces the
   * DOWNLOADs that arrive together): each is checked against the cursors the one before it left,
   * exactly as separate {@link integrate} calls would, but they commit once. Throws (and changes
   * nothing) if any of them fails.
   */
  integrateAll(batches: readonly DownloadBatch[]): void {
    if (this.integrateCursorsOnly(batches)) return;
    // The integration the last download transaction left, if no transaction has committed since
    // (a local write adds a pending changeset, a snapshot replaces them) and nothing was reloaded
    // from the file: an offline client catching up receives many DOWNLOADs in a row, and reading,
    // decoding and indexing all its pending changesets again for each was a quarter of its CPU.
    const kept = this.keptMerge !== null && this.keptMerge.version === this.version ? this.keptMerge : null;
    this.keptMerge = null; // in use now; put back only if this transaction succeeds
    let merge: DownloadMerge | null = null;
    this.transaction(() => {
      // One integration for all of them: the pending changesets are read and indexed once, and
      // each rebased one is written once.
      const lazy = () => {
        if (merge) return merge.integration;
        if (kept) {
          merge = kept;
          return merge.integration;
        }
        const pending = this.pendingAfter(this.meta.downloadClientVersion);
        merge = { integration: new DownloadIntegration(this.meta.fileIdent, pending, this), loaded: new Map(pending.map((p) => [p.clientVersion, p.instructions])), version: 0 };
        return merge.integration;
      };
      for (const batch of batches) this.integrateOne(batch, lazy);
      this.trimHistory();
      const done = merge as DownloadMerge | null;
      if (done) {
        for (const p of done.integration.pending) {
          if (p.instructions === done.loaded.get(p.clientVersion)) continue;
          this.stmt.historySetRebased.run(encodeChangeset(p.instructions), p.clientVersion);
          done.loaded.set(p.clientVersion, p.instructions);
        }
      }
    }, 'download');
    // Kept while local changesets remain pending; `version` is the one this commit made. A download
    // that did not need it (an acknowledgement, or nothing pending before its changesets) changed
    // no pending changeset, only cursors the kept integration catches up with by itself.
    const done = (merge as DownloadMerge | null) ?? kept;
    if (done && done.integration.pending.length > 0) this.keptMerge = { ...done, version: this.version };
  }

  /**
   * See {@link integrateAll}. Valid only at `version`: any other committed transaction (a local
   * write, a snapshot) moves the version; a rollback or reload drops it
   * ({@link forgetDerived}), and so do a new ident and a sync reset (their transactions keep the version).
   */
  private keptMerge: DownloadMerge | null = null;

  protected override forgetDerived(): void {
    this.keptMerge = null;
  }

  /**
   * DOWNLOADs without changesets (acknowledgements of this client's uploads, or history holding
   * only its own changes) move cursors only. Between transactions, with no download waiting for its
   * COMMIT, their cursors are carried in memory to the next commit instead of a transaction of
   * their own (a writer paid a COMMIT per acknowledgement): losing them in a crash only repeats
   * the acknowledgement or the download. Every batch is checked before any cursor moves, so a bad
   * one changes nothing. Returns false where the transaction is needed.
   */
  private integrateCursorsOnly(batches: readonly DownloadBatch[]): boolean {
    if (this.isInTransaction || this.hasPendingCommit || this.isClosed) return false;
    for (const batch of batches) if (batch.changesets.length > 0) return false;
    const m = this.meta;
    let serverVersion = m.downloadServerVersion;
    let clientVersion = m.downloadClientVersion;
    for (const batch of batches) {
      checkDownloadCursors(batch, serverVersion, clientVersion, m.lastClientVersion);
      serverVersion = batch.serverVersion;
      clientVersion = batch.lastIntegratedClientVersion;
    }
    for (const batch of batches) this.moveCursors(batch, (key, value) => this.carryMeta(key, value));
    // The history the server has both acknowledged and integrated is trimmed by the next
    // transaction that commits (a local write or a download). Extensions are told as of a
    // download's commit (they learn of acknowledgements this way); a kept integration stays valid.
    const kept = this.keptMerge !== null && this.keptMerge.version === this.version ? this.keptMerge : null;
    this.committed({ origin: 'download' });
    if (kept) this.keptMerge = { ...kept, version: this.version };
    return true;
  }

  private integrateOne(batch: DownloadBatch, merge: () => DownloadIntegration): void {
    const m = this.meta;
    checkDownloadCursors(batch, m.downloadServerVersion, m.downloadClientVersion, m.lastClientVersion);
    let previous = m.downloadServerVersion;
    for (const cs of batch.changesets) {
      checkCursor(cs.serverVersion > previous && cs.serverVersion <= batch.serverVersion, 'BAD_SERVER_VERSION', `changeset server version ${cs.serverVersion} out of order`);
      previous = cs.serverVersion;
      // With nothing local pending after the download cursor there is nothing to transform past.
      const toApply = m.lastClientVersion > cs.lastIntegratedClientVersion ? merge().integrate(cs) : cs.instructions;
      this.applyRemote(toApply, 'download');
      this.clock.observe(cs.originTimestamp);
    }
    // The cursors and the clock are written once, when the transaction commits (several DOWNLOADs
    // may integrate in it); a rollback reloads them from the file.
    this.moveCursors(batch, (key, value) => this.deferMeta(key, value));
    this.deferMeta('hlc', this.clock.current);
  }

  /** Sets, through `set`, the cursors a checked DOWNLOAD moves: download, latest server version, acknowledgement. */
  private moveCursors(batch: DownloadBatch, set: (key: 'downloadServerVersion' | 'downloadClientVersion' | 'latestServerVersion' | 'latestServerVersionSalt' | 'ackClientVersion' | 'ackServerVersion', value: number) => void): void {
    set('downloadServerVersion', batch.serverVersion);
    set('downloadClientVersion', batch.lastIntegratedClientVersion);
    set('latestServerVersion', batch.latestServerVersion);
    set('latestServerVersionSalt', batch.latestServerVersionSalt);
    if (batch.uploadClientVersion > this.meta.ackClientVersion) {
      set('ackClientVersion', batch.uploadClientVersion);
      set('ackServerVersion', batch.uploadServerVersion);
    }
  }

  /** Drops the local changesets the server has both acknowledged and integrated (once per transaction). */
  private trimHistory(): void {
    const upTo = Math.min(this.meta.ackClientVersion, this.meta.downloadClientVersion);
    if (upTo > this.trimmedTo) {
      this.stmt.historyTrim.run(upTo);
      this.trimmedTo = upTo;
      const recent = this.recentLocal;
      let drop = 0;
      while (drop < recent.length && recent[drop]!.clientVersion <= upTo) drop++;
      if (drop > 0) recent.splice(0, drop);
    }
  }

  /**
   * Replaces the replica's content with a server snapshot (bootstrap or client reset) and
   * re-applies the local changes the server has not acknowledged on top of it, as new changesets
   * based on the snapshot's version (PROTOCOL.md §6). One transaction.
   */
  applySnapshot(snapshot: Snapshot): { recovered: number; dropped: number } {
    let recovered = 0;
    let dropped = 0;
    this.transaction(() => {
      const local = this.pendingOriginals(this.meta.ackClientVersion);
      this.clearObjects();
      this.stmt.historyClear.run();
      this.recentLocal = [];
      this.trimmedTo = -1;
      this.applyRemote(snapshot.instructions, 'snapshot');
      this.setMeta('downloadServerVersion', snapshot.serverVersion);
      this.setMeta('downloadClientVersion', snapshot.lastIntegratedClientVersion);
      this.setMeta('latestServerVersion', snapshot.serverVersion);
      this.setMeta('latestServerVersionSalt', snapshot.serverVersionSalt);
      this.setMeta('ackClientVersion', snapshot.lastIntegratedClientVersion);
      this.setMeta('ackServerVersion', snapshot.serverVersion);
      this.setMeta('uploadedClientVersion', snapshot.lastIntegratedClientVersion);
      for (const entry of local) {
        const kept = recoverInstructions(this, entry.instructions, (ins) => this.atomically(() => apply(this, [ins], this.extensions.observer)));
        dropped += entry.instructions.length - kept.length;
        if (kept.length === 0) continue;
        const clientVersion = Math.max(this.meta.lastClientVersion, snapshot.lastIntegratedClientVersion) + 1;
        const timestamp = this.clock.tick();
        this.stmt.historyInsert.run(clientVersion, timestamp, snapshot.serverVersion, encodeChangeset(kept));
        this.setMeta('lastClientVersion', clientVersion);
        recovered++;
      }
      this.setMeta('hlc', this.clock.current);
    }, 'snapshot');
    return { recovered, dropped };
  }

  /** Applies downloaded instructions through the extensions' remote appliers, if any. */
  private applyRemote(instructions: readonly Instruction[], origin: 'download' | 'snapshot'): void {
    this.extensions.applyRemote(instructions, origin, (ins) => apply(this, ins, this.extensions.observer));
  }

  override close(): void {
    if (this.isClosed) return;
    if (this.activeWrite) this.cancelLocal(this.activeWrite);
    super.close();
  }
}

/**
 * Every public member of {@link Replica}: what Realms, sync sessions and change trackers hold, so a
 * stand-in (admin-client's LazyReplica) can implement it without the SQLite internals.
 */
export type ReplicaHandle = Pick<Replica, keyof Replica>;

/** How many of the newest local changesets a replica keeps in memory for their upload. */
const RECENT_LOCAL = 256;

/** The checks of a DOWNLOAD's cursors against those the replica (or the DOWNLOAD before it) left. */
function checkDownloadCursors(batch: DownloadBatch, downloadServerVersion: number, downloadClientVersion: number, lastClientVersion: number): void {
  checkCursor(batch.serverVersion >= downloadServerVersion, 'BAD_SERVER_VERSION', `download cursor moved back from ${downloadServerVersion} to ${batch.serverVersion}`);
  checkCursor(
    batch.lastIntegratedClientVersion >= downloadClientVersion && batch.lastIntegratedClientVersion <= lastClientVersion,
    'BAD_CLIENT_VERSION',
    `download cursor's client version ${batch.lastIntegratedClientVersion} is outside ${downloadClientVersion}..${lastClientVersion}`,
  );
  checkCursor(batch.latestServerVersion >= batch.serverVersion, 'BAD_SERVER_VERSION', `latest server version ${batch.latestServerVersion} is behind ${batch.serverVersion}`);
  checkCursor(
    batch.uploadClientVersion <= lastClientVersion,
    'BAD_CLIENT_VERSION',
    `server acknowledged client version ${batch.uploadClientVersion} beyond the last one made (${lastClientVersion})`,
  );
}

function checkCursor(ok: boolean, code: 'BAD_SERVER_VERSION' | 'BAD_CLIENT_VERSION', message: string): void {
  if (!ok) throw new TributaryError(code, message);
}

import { apply } from '../changeset/apply';
import { BufferedState } from '../changeset/buffered-state';
import { decodeChangeset, encodeChangeset } from '../changeset/codec';
import type { Instruction } from '../changeset/instructions';
import { TributaryError } from '../errors';
import { UploadIntegration } from '../merge/integrate';
import { HybridLogicalClock } from '../model/clock';
import { RealmPathError, resolveRealmPath } from '../model/realm-path';
import type { ClientIdentMessage } from '../protocol/messages';
import { ADMIN_REALM_PATH, ensureAdminRealm, recordRealm } from './admin-realm';
import type { CommitQueue } from './commit-queue';
import type { Logger } from '../shared/logger';
import type { AccessHolder } from './live-access';
import { currentAccess, ownerOf, type Access } from './permissions';
import { snapshotInstructions } from './snapshot';
import type { ClientFileRecord, ReadTransaction, RealmRecord, RealmTransaction, StorageDriver, StoredHistoryEntry, WriteTransaction } from './storage/types';

/** Bound of {@link SyncService}'s set of clients known to have an empty upload journal (past it, they are looked up). */
const MAX_NO_JOURNAL = 100_000;

/** The user behind a connection, from its verified token. */
export interface SyncUser {
  identity: string;
  isAdmin: boolean;
}

/** Something bound to a realm that wants to hear about new versions (a session). */
export interface RealmListener {
  realmChanged(): void;
}

/** An uploaded changeset whose header the session checked; its body is decoded when integrated. */
export interface DecodedUpload {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  data: Uint8Array;
}

function decodeUploaded(c: DecodedUpload): Instruction[] {
  try {
    return decodeChangeset(c.data);
  } catch (e) {
    throw new TributaryError('BAD_CHANGESET', `changeset ${c.clientVersion}: ${(e as Error).message}`);
  }
}

export interface DownloadBatch {
  entries: StoredHistoryEntry[];
  latestVersion: number;
  latestSalt: number;
  /** History bytes after the last entry of this batch. */
  remainingBytes: number;
}

export interface Snapshot {
  serverVersion: number;
  serverVersionSalt: number;
  lastIntegratedClientVersion: number;
  data: Uint8Array;
}

/**
 * The sync engine's storage-facing operations (bind, ident, upload, download, snapshot) and the
 * per-realm listener registry. Protocol state machines live in session.ts; this class knows
 * nothing about sockets.
 */
/** An upload's place in its client's line. */
interface LinePlace {
  done: Promise<void>;
  resolve: () => void;
}

export class SyncService {
  private readonly listeners = new Map<number, Set<RealmListener>>();
  readonly clock = new HybridLogicalClock();
  private readonly tick = () => this.clock.tick();
  /** Where bound sessions register so permission changes reach them (live-access.ts); set by the server. */
  accessWatch?: { watch(holder: AccessHolder): () => void };

  constructor(
    readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly log: Logger,
    private readonly maxPathLength: number,
    /** Time one commit job of an upload may take before the rest goes into the next job (server option `uploadSliceMs`). */
    private readonly sliceMs = 20,
  ) {}

  /** Creates `/__admin` on first start. */
  async init(): Promise<void> {
    const exists = await this.storage.read((tx) => tx.getRealm(ADMIN_REALM_PATH));
    if (!exists) {
      const admin = await this.queue.submit((tx) => ensureAdminRealm(tx, Date.now(), this.tick));
      this.log.info('created the admin realm', { path: ADMIN_REALM_PATH, realmId: admin.id });
    }
  }

  attach(realmId: number, listener: RealmListener): void {
    let set = this.listeners.get(realmId);
    if (!set) this.listeners.set(realmId, (set = new Set()));
    set.add(listener);
  }

  detach(realmId: number, listener: RealmListener): void {
    const set = this.listeners.get(realmId);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) this.listeners.delete(realmId);
  }

  private readonly changed = new Set<number>();

  /**
   * Tells every session bound to the realm that its history grew. Calls made while the promise
   * continuations of one commit batch run are merged (process.nextTick runs after them), so each
   * session reads the batch's entries once and sends them in one DOWNLOAD.
   */
  notify(realmId: number): void {
    if (this.changed.size === 0) process.nextTick(() => this.flushNotifications());
    this.changed.add(realmId);
  }

  private flushNotifications(): void {
    const ids = [...this.changed];
    this.changed.clear();
    for (const realmId of ids) {
      const set = this.listeners.get(realmId);
      if (set) for (const l of [...set]) l.realmChanged();
    }
  }

  get openRealms(): number {
    return this.listeners.size;
  }

  /**
   * Resolves and authorises a BIND, creating the realm when its owner (or an admin) binds it first,
   * and allocating a client file when asked. Throws TributaryError with the session error code.
   */
  async bind(user: SyncUser, rawPath: string, needIdent: boolean): Promise<{ realm: RealmRecord; access: Access; file?: ClientFileRecord }> {
    let path: string;
    try {
      // The admin identity is not a user id, so `~` means nothing for it.
      path = resolveRealmPath(rawPath, /^[0-9a-f]{32}$/.test(user.identity) ? user.identity : null, this.maxPathLength);
    } catch (e) {
      if (e instanceof RealmPathError) throw new TributaryError('ILLEGAL_REALM_PATH', e.message);
      throw e;
    }
    const { realm, access } = await this.storage.read((tx) => ({ realm: tx.getRealm(path), access: currentAccess(tx, user, path) }));
    if (access.level === 'none') throw new TributaryError('PERMISSION_DENIED', `no access to ${path}`);
    if ((!realm || realm.deleted) && !access.mayCreate) throw new TributaryError('NO_SUCH_REALM', `no realm at ${path}`);
    if (realm && !realm.deleted && !needIdent) return { realm, access };
    let adminRealmId: number | undefined;
    const result = await this.queue.submit((tx) => {
      let r = tx.getRealm(path);
      if (r?.deleted) throw new TributaryError('NO_SUCH_REALM', `the realm at ${path} was deleted`);
      if (!r) {
        r = tx.createRealm(path, ownerOf(path), Date.now());
        if (path !== ADMIN_REALM_PATH) adminRealmId = recordRealm(tx, r, this.tick);
      }
      const file = needIdent ? tx.allocateClientFile(r.id, Date.now()) : undefined;
      return { realm: tx.getRealm(path)!, file };
    });
    if (adminRealmId !== undefined) {
      this.log.info('created realm', { path, owner: result.realm.owner });
      this.notify(adminRealmId);
    }
    return { ...result, access };
  }

  /** Checks a client's IDENT against storage; returns its client file and the realm's latest version. */
  async ident(realmId: number, msg: ClientIdentMessage): Promise<{ file: ClientFileRecord; latestVersion: number }> {
    return this.storage.read((tx) => {
      const file = tx.getClientFile(realmId, msg.fileIdent);
      if (!file || file.salt !== msg.fileSalt) throw new TributaryError('BAD_CLIENT_FILE_IDENT', `unknown client file ${msg.fileIdent} or wrong salt`);
      const realm = realmById(tx, realmId);
      const latest = realm.latestVersion;
      if (msg.serverVersion > latest || msg.latestServerVersion > latest) {
        throw new TributaryError('BAD_SERVER_VERSION', `the client is at server version ${Math.max(msg.serverVersion, msg.latestServerVersion)}, the server at ${latest}`);
      }
      if (msg.serverVersion > msg.latestServerVersion) throw new TributaryError('BAD_SERVER_VERSION', 'download cursor beyond the latest server version the client knows');
      if (tx.versionSalt(realmId, msg.latestServerVersion) !== msg.latestServerVersionSalt) {
        throw new TributaryError('DIVERGING_HISTORIES', `salt of server version ${msg.latestServerVersion} differs`);
      }
      if (msg.lastIntegratedClientVersion > file.lastIntegratedClientVersion || (msg.serverVersion === 0 && msg.lastIntegratedClientVersion !== 0)) {
        throw new TributaryError('BAD_CLIENT_VERSION', 'download cursor names a client version the server has not integrated');
      }
      return { file, latestVersion: latest };
    });
  }

  /**
   * Integrates one UPLOAD message's changesets (already decoded and checked for order) through the
   * group commit, and records the upload cursor. Already-integrated client versions are skipped.
   * Resolves after the last of them is durable; the caller then records its acknowledgement and
   * calls {@link notify}.
   *
   * A big upload (or a merge against a long history) is integrated in slices of about
   * `sliceMs` each, one commit job per slice, so the event loop and every other session keep
   * moving in between; each slice is durable on its own (a crash keeps a prefix, which the client's
   * re-upload completes). The client's merge state (its indexed history and reciprocal copies) is
   * kept between slices and between UPLOAD messages, and dropped when a job fails or the session
   * ends ({@link endUploads}).
   *
   * `guard` chains the uploads of one session that are in the commit queue together: once one of
   * them fails (in its job or with its batch), the later ones fail without writing, so a client's
   * changesets are never integrated with a gap before them. The session sets `ended` when it
   * closes: an upload still finishing then leaves nothing of the client behind (see `noJournal`).
   */
  async upload(
    realmId: number,
    fileIdent: number,
    changesets: DecodedUpload[],
    progress: { clientVersion: number; serverVersion: number },
    guard?: { failed: boolean; ended?: boolean },
  ): Promise<number> {
    let newest = 0;
    for (const c of changesets) if (c.originTimestamp > newest) newest = c.originTimestamp;
    // The clock only moves forward: observing the newest is observing all, unless that one is
    // refused as too far ahead, when the others still count.
    if (changesets.length > 0 && !this.clock.observe(newest)) for (const c of changesets) this.clock.observe(c.originTimestamp);
    const key = `${realmId}:${fileIdent}`;
    // This client's uploads integrate strictly in the order they arrived: one whose turn has not
    // come waits for the one ahead of it, however the commit queue orders their jobs.
    const place = this.joinLine(key);
    let next = 0;
    let latestBefore: number | undefined;
    try {
      for (;;) {
        const job = this.queue.submit(
          (tx) => {
            const ahead = this.lines.get(key)![0]!;
            if (ahead !== place) return { deferred: ahead.done };
            try {
              if (guard?.failed) throw new TributaryError('OTHER_ERROR', 'an earlier upload of this session failed');
              const rt = tx.realm(realmId);
              latestBefore ??= rt.latestVersion();
              const sliced = this.integrateSlice(tx, rt, key, fileIdent, changesets, next, latestBefore, progress);
              // Done within this transaction: the next upload of the client may follow in it.
              if (sliced.next >= changesets.length) this.leaveLine(key, place);
              return sliced;
            } catch (e) {
              if (guard) guard.failed = true;
              this.merges.delete(key);
              this.leaveLine(key, place);
              throw e;
            }
          },
          // Further slices commit alone, so other sessions' short writes never wait for a slice
          // and its commit in one transaction.
          { background: next > 0 },
        );
        let result: { deferred: Promise<void> } | { next: number; latest: number };
        try {
          result = await job;
        } catch (e) {
          // The job or its batch failed: the kept merge state may be ahead of the database.
          if (guard) guard.failed = true;
          this.merges.delete(key);
          throw e;
        }
        if ('deferred' in result) {
          await result.deferred;
          continue;
        }
        next = result.next;
        if (next >= changesets.length) return result.latest;
        this.notify(realmId); // others see the prefix while the rest is integrated
      }
    } finally {
      this.leaveLine(key, place);
      // Nothing else of this client waiting and no other client's entries held: an idle client
      // keeps no merge state (the next upload builds it again from storage).
      const idle = !this.lines.has(key) ? this.merges.get(key) : undefined;
      if (idle && idle.heldEntries === 0) {
        this.merges.delete(key);
        // Committed (a failure dropped the state above): the session's next upload need not look
        // for journal rows (one SELECT per UPLOAD of a client that writes steadily without
        // conflicts). Not once the session has ended: its endUploads has run, and nothing may stay
        // behind it (another server sharing the storage could take the client over).
        if (idle.journalEmpty && guard && !guard.ended && this.noJournal.size < MAX_NO_JOURNAL) this.noJournal.add(key);
      }
    }
  }

  /** See {@link CommitQueue.afterShortCommit}. */
  afterShortCommit(fn: () => void): boolean {
    return this.queue.afterShortCommit(fn);
  }

  /** Clients whose merge state is kept between uploads (for stats and tests). */
  get mergeStates(): number {
    return this.merges.size;
  }

  /** Forgets a client's kept merge state (its session ended). */
  endUploads(realmId: number, fileIdent: number): void {
    this.merges.delete(`${realmId}:${fileIdent}`);
    this.noJournal.delete(`${realmId}:${fileIdent}`);
  }

  /** Merge state kept per `realmId:fileIdent` between slices and UPLOAD messages. */
  private readonly merges = new Map<string, UploadIntegration>();
  /**
   * Clients of live sessions whose upload journal is known empty (their last integration ended
   * with none): the next one skips the look. Taken out when an integration starts (put back if it
   * ends the same way) and when the session ends.
   */
  private readonly noJournal = new Set<string>();
  /**
   * Each client's uploads (`realmId:fileIdent`) in arrival order, until each has integrated its
   * last changeset: only the first may integrate; the others wait for its `done`.
   */
  private readonly lines = new Map<string, LinePlace[]>();

  private joinLine(key: string): LinePlace {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const place = { done, resolve };
    const line = this.lines.get(key);
    if (line) line.push(place);
    else this.lines.set(key, [place]);
    return place;
  }

  /** Takes `place` out of its line (once; later calls do nothing) and wakes whoever waits on it. */
  private leaveLine(key: string, place: LinePlace): void {
    const line = this.lines.get(key);
    const i = line ? line.indexOf(place) : -1;
    if (i < 0) return;
    line!.splice(i, 1);
    if (line!.length === 0) this.lines.delete(key);
    place.resolve();
  }

  /**
   * One slice of an upload's commit job: loads what the merge state lacks, then merges, applies and
   * appends changesets from `from` on until the slice's time is up. Records the upload cursor with
   * the last changeset.
   */
  private integrateSlice(
    tx: WriteTransaction,
    rt: RealmTransaction,
    key: string,
    fileIdent: number,
    changesets: DecodedUpload[],
    from: number,
    latestBefore: number,
    progress: { clientVersion: number; serverVersion: number },
  ): { next: number; latest: number } {
    const deadline = performance.now() + this.sliceMs;
    const inTime = () => performance.now() < deadline;
    if (progress.serverVersion > latestBefore) {
      throw new TributaryError('BAD_SERVER_VERSION', `upload based on server version ${progress.serverVersion}, the server is at ${latestBefore}`);
    }
    let last = rt.lastIntegratedClientVersion(fileIdent);
    let i = from;
    while (i < changesets.length && changesets[i]!.clientVersion <= last) i++; // idempotent re-upload
    if (i < changesets.length) {
      let merge = this.merges.get(key);
      if (!merge) this.merges.set(key, (merge = new UploadIntegration(fileIdent, undefined, undefined, this.noJournal.delete(key))));
      merge.use(rt, rt);
      if (!merge.load(changesets[i]!.lastIntegratedServerVersion, inTime)) return { next: i, latest: rt.latestVersion() };
      // Objects the slice edits again and again are read and written once.
      const state = new BufferedState(rt);
      for (; i < changesets.length; i++) {
        const c = changesets[i]!;
        if (c.clientVersion <= last) continue;
        if (c.lastIntegratedServerVersion > latestBefore) {
          throw new TributaryError('BAD_SERVER_VERSION', `changeset based on server version ${c.lastIntegratedServerVersion}, the server is at ${latestBefore}`);
        }
        const result = merge.integrate({
          clientVersion: c.clientVersion,
          lastIntegratedServerVersion: c.lastIntegratedServerVersion,
          originTimestamp: c.originTimestamp,
          instructions: decodeUploaded(c),
          data: c.data,
        });
        if (result.version !== undefined) apply(state, result.instructions);
        last = c.clientVersion;
        if (performance.now() >= deadline) {
          i++;
          break;
        }
      }
      state.flush();
      merge.flush();
    }
    if (i >= changesets.length) tx.setUploadProgress(rt.realmId, fileIdent, progress.clientVersion, progress.serverVersion, Date.now());
    return { next: i, latest: rt.latestVersion() };
  }

  /** The next DOWNLOAD batch after `after`: at most `maxCount` entries, and about `maxBytes`. */
  async download(realmId: number, after: number, maxBytes: number, maxCount?: number): Promise<DownloadBatch> {
    return this.storage.read((tx) => {
      const realm = realmById(tx, realmId);
      const entries = tx.readHistory(realmId, after, maxBytes, maxCount);
      const last = entries.length > 0 ? entries[entries.length - 1]!.cumulativeBytes : tx.cumulativeBytes(realmId, after);
      return {
        entries,
        latestVersion: realm.latestVersion,
        latestSalt: realm.latestSalt,
        remainingBytes: Math.max(0, tx.cumulativeBytes(realmId, realm.latestVersion) - last),
      };
    });
  }

  async latestVersion(realmId: number): Promise<number> {
    return this.storage.read((tx) => realmById(tx, realmId).latestVersion);
  }

  /** A snapshot of the realm's current state, for STATE, with the cursor it corresponds to. */
  async snapshot(realmId: number, fileIdent: number): Promise<Snapshot> {
    return this.storage.read((tx) => {
      const realm = realmById(tx, realmId);
      const file = tx.getClientFile(realmId, fileIdent);
      const instructions = snapshotInstructions(tx.realmState(realmId));
      return {
        serverVersion: realm.latestVersion,
        serverVersionSalt: realm.latestSalt,
        lastIntegratedClientVersion: file?.lastIntegratedClientVersion ?? 0,
        data: encodeChangeset(instructions),
      };
    });
  }
}

function realmById(tx: ReadTransaction, realmId: number): RealmRecord {
  const realm = tx.getRealmById(realmId);
  if (!realm) throw new TributaryError('NO_SUCH_REALM', `realm ${realmId} does not exist`);
  return realm;
}

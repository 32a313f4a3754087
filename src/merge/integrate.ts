import type { Instruction } from '../changeset';
import { TributaryError } from '../errors';
import { FootprintIndex, footprintOf } from './footprint';
import { LinkResolver } from './links';
import { type SchemaLookup, transform } from './transform';

/** One entry of a realm's server history. */
export interface HistoryEntry {
  version: number;
  /** Client file ident of the origin (0 for the server itself). */
  originFileIdent: number;
  originTimestamp: number;
  /** The origin's client version (for idempotent re-upload), 0 for server-made entries. */
  clientVersion: number;
  instructions: Instruction[];
}

/**
 * What the server-side integration needs from storage. Implemented in memory (simulation) and
 * inside a SQLite / Postgres transaction by the server's storage drivers.
 */
export interface ServerHistoryAccess {
  latestVersion(): number;
  /** Entries with version > `after`, in version order; at most `limit` of them when given. */
  entriesAfter(after: number, limit?: number): Iterable<HistoryEntry>;
  /** Last client version integrated from `fileIdent` (0 if none). */
  lastIntegratedClientVersion(fileIdent: number): number;
  /**
   * The reciprocal (transformed) copy of history entry `version` as `fileIdent` will see it.
   * `undefined` = not transformed yet; `[]` = transformed to nothing (discarded). These differ.
   */
  getReciprocal(fileIdent: number, version: number): Instruction[] | undefined;
  setReciprocal(fileIdent: number, version: number, instructions: Instruction[]): void;
  /** Drops reciprocal entries with version <= `upTo` (the client has acknowledged them). */
  trimReciprocal(fileIdent: number, upTo: number): void;
  /**
   * The upload journal of `fileIdent`: its changesets, as uploaded, whose merge changed history
   * entries as that client sees them, with client version > `afterClientVersion`, oldest first, at
   * most `limit`. Stored reciprocal copies plus the journal replayed over them give the client's
   * current reciprocal copies (see {@link UploadIntegration}).
   */
  journaled(fileIdent: number, afterClientVersion: number, limit: number): JournaledUpload[];
  /** Appends to the upload journal of `fileIdent` (client versions ascend). */
  journal(fileIdent: number, upload: JournaledUpload): void;
  /** Empties the upload journal of `fileIdent`. */
  clearJournal(fileIdent: number): void;
  /** Appends and returns the new version (latestVersion()+1); records lastIntegratedClientVersion. */
  append(entry: Omit<HistoryEntry, 'version'>): number;
}

export interface UploadedChangeset {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  instructions: Instruction[];
  /** `instructions` as encoded by the client, when at hand: the journal stores it without encoding again. */
  data?: Uint8Array;
}

/** An uploaded changeset in the upload journal: as uploaded, with the version it was appended as. */
export interface JournaledUpload extends UploadedChangeset {
  version: number;
}

export interface IntegrateResult {
  /** `undefined` when the changeset was already integrated (idempotent re-upload). */
  version?: number;
  /** The transformed instructions that were appended (to apply to the server's state). */
  instructions: Instruction[];
}

/**
 * Server side of PROTOCOL.md §5's algorithm: transforms an uploaded changeset from client file
 * `fileIdent` past every history entry after its base version that did not come from that client
 * (using and updating the per-client reciprocal copies), appends it and returns the appended
 * instructions, which the caller applies to the server's state in the same transaction.
 *
 * An upload at or below the last integrated client version is skipped (`version` undefined), so
 * re-sending after a reconnect is always safe. A changeset that transformation emptied is still
 * appended (it advances the client's integrated version). Throws
 * TributaryError('INVALID_SCHEMA_CHANGE') on incompatible concurrent schema changes; the caller
 * rolls the transaction back.
 *
 * `schema` tells the merge which properties are links (see {@link SchemaLookup}); when omitted and
 * `access` is itself a state store (has `getSchema`), the server state is used.
 *
 * Each call builds the client's merge state afresh (replaying its upload journal); to integrate
 * many changesets of one client, keep one {@link UploadIntegration}.
 *
 * @example
 * const { version, instructions } = integrateUpload(tx, fileIdent, upload);
 * if (version !== undefined) apply(tx, instructions);
 */
export function integrateUpload(access: ServerHistoryAccess, fileIdent: number, upload: UploadedChangeset, schema?: SchemaLookup): IntegrateResult {
  const integration = new UploadIntegration(fileIdent);
  integration.use(access, schema);
  integration.load(upload.lastIntegratedServerVersion);
  const result = integration.integrate(upload);
  integration.flush();
  return result;
}

/** A history entry as one client's integration sees it: its reciprocal copy, loaded once. */
interface SeenEntry {
  version: number;
  originFileIdent: number;
  originTimestamp: number;
  instructions: Instruction[];
}

/**
 * The uploads of client file `fileIdent`, integrated in order (PROTOCOL.md §5): each changeset is
 * transformed past the history entries after its base that did not come from that client, using
 * and updating the client's reciprocal copies of those entries, then appended.
 *
 * The entries are read and indexed by footprint once and kept, and a changeset is transformed only
 * past the entries whose footprint meets its own (every other pair transforms to itself), so the
 * work follows the pairs that touch the same objects, not n·m.
 *
 * The reciprocal copies stay in memory and are never written back. What makes them durable is the
 * upload journal: every changeset whose merge changed an entry is journaled as uploaded, in the
 * transaction that appends it. An instance built later (after a restart, a failed transaction or
 * the end of the session) reads the stored copies and replays the journal over them, which gives
 * exactly the copies the lost instance held (the merge is deterministic, and the schema it
 * consults only ever grows). Once the client's uploads are based past every entry whose copy the
 * journal changed, no later upload can meet those copies again and {@link flush} empties the
 * journal; one that grows to `foldRatio` rows per changed copy is folded into stored copies. A merge of n
 * offline changesets against m entries on the same objects thus writes n journal rows, not the
 * changed copies again after every slice (up to n·m/objects rows).
 *
 * One instance may serve many transactions of the same client (a big upload integrated in slices,
 * or one UPLOAD after another): call {@link use} with each transaction's access, {@link load}
 * (which reads only entries appended since, replays the journal the first time, and can stop at a
 * deadline), then {@link integrate} and {@link flush}. After a transaction that failed or rolled
 * back, drop the instance.
 *
 * @example
 * const merge = new UploadIntegration(fileIdent);
 * merge.use(tx, state);
 * while (!merge.load(upload[0].lastIntegratedServerVersion, inTime)) await nextSlice();
 * for (const c of upload) { const r = merge.integrate(c); if (r.version !== undefined) apply(state, r.instructions); }
 * merge.flush();
 */
export class UploadIntegration {
  private access: ServerHistoryAccess | null = null;
  private lookup: SchemaLookup | undefined;
  /** Indexed by absolute position; positions below `start` were trimmed (null). */
  private readonly entries: (SeenEntry | null)[] = [];
  private start = 0;
  private readonly index = new FootprintIndex();
  /** The newest version examined (own entries included); null before the first load. */
  private loadedThrough: number | null = null;
  /** The highest base of an integrated changeset: reciprocal copies at or below it are not needed. */
  private base = -1;
  /** Client version of the last journal row replayed; null once the journal is replayed (or when there was none). */
  private replayedThrough: number | null = null;
  /** Rows in the client's upload journal (known once it is replayed). */
  private journalRows = 0;
  /** Entries whose copy changed since the stored copies were written: by a journaled changeset. */
  private readonly dirty = new Set<SeenEntry>();
  /** The base the kept entries and `dirty` were last trimmed to. */
  private trimmedTo = -1;

  /**
   * `loadChunk`: entries (and journal rows) read per storage query while loading (default 256).
   * `foldRatio`: a journal of this many rows per changed copy is folded into stored copies at the
   * next {@link flush} (default 4): the journal, and what a rebuild replays, stays within that
   * many rows per kept entry, and the fold writes fewer copies than the rows it saves replaying.
   * `journalKnownEmpty`: the caller knows the client's journal holds no row (an earlier
   * integration of the same session ended with {@link journalEmpty} and committed), so the first
   * {@link load} does not look.
   */
  constructor(
    private readonly fileIdent: number,
    private readonly loadChunk = 256,
    private readonly foldRatio = 4,
    private readonly journalKnownEmpty = false,
  ) {}

  /**
   * Whether the client's journal is empty as far as this integration wrote it: loaded, replayed,
   * and every row it journaled folded or cleared. True once its last transaction has committed.
   */
  get journalEmpty(): boolean {
    return this.loadedThrough !== null && this.replayedThrough === null && this.journalRows === 0;
  }

  /** Binds the storage of the current transaction (and the schema, by default that storage). */
  use(access: ServerHistoryAccess, schema?: SchemaLookup): void {
    this.access = access;
    this.lookup = schema ?? (typeof (access as Partial<SchemaLookup>).getSchema === 'function' ? (access as unknown as SchemaLookup) : undefined);
  }

  /**
   * Reads the entries after `base` (first call; from further back when the journal needs them) or
   * appended since the last call, with this client's stored reciprocal copies, indexes them, and
   * the first time replays the client's upload journal over them. With `more`, stops when it
   * returns false and returns false itself if work remains; otherwise returns true once everything
   * is loaded.
   */
  load(base: number, more?: () => boolean): boolean {
    const access = this.bound();
    if (this.loadedThrough === null) {
      const first = this.journalKnownEmpty ? undefined : access.journaled(this.fileIdent, 0, 1)[0];
      this.loadedThrough = first ? Math.min(base, first.lastIntegratedServerVersion) : base;
      this.replayedThrough = first ? 0 : null;
    }
    const latest = access.latestVersion();
    while (this.loadedThrough < latest) {
      for (const e of access.entriesAfter(this.loadedThrough, this.loadChunk)) {
        this.loadedThrough = e.version;
        if (e.originFileIdent === this.fileIdent) continue; // causally before later uploads
        const seen = access.getReciprocal(this.fileIdent, e.version) ?? e.instructions;
        this.index.add(this.entries.length, footprintOf(seen, new LinkResolver(this.lookup, [seen])));
        this.entries.push({ version: e.version, originFileIdent: e.originFileIdent, originTimestamp: e.originTimestamp, instructions: seen });
        // Checked per entry, not per chunk: a chunk of big entries could outlast a short slice.
        if (more && !more()) break;
      }
      if (more && !more() && this.loadedThrough < latest) return false;
    }
    while (this.replayedThrough !== null) {
      const rows = access.journaled(this.fileIdent, this.replayedThrough, this.loadChunk);
      if (rows.length === 0) {
        this.replayedThrough = null;
        break;
      }
      for (const row of rows) {
        this.merge(row, row.version);
        this.replayedThrough = row.clientVersion;
        this.journalRows++;
        if (more && !more()) return false;
      }
    }
    return true;
  }

  /**
   * Integrates the next changeset of this client (bases never decrease). One at or below the last
   * integrated client version is skipped (`version` undefined), so re-sending is always safe; one
   * that transformation emptied is still appended (it advances the client's integrated version).
   * Everything up to the latest version must have been {@link load}ed in this transaction. Throws
   * TributaryError('INVALID_SCHEMA_CHANGE') on incompatible concurrent schema changes; the caller
   * rolls the transaction back (and drops this instance).
   */
  integrate(upload: UploadedChangeset): IntegrateResult {
    const access = this.bound();
    if (upload.clientVersion <= access.lastIntegratedClientVersion(this.fileIdent)) return { instructions: [] };
    if (this.loadedThrough === null || this.loadedThrough < access.latestVersion() || this.replayedThrough !== null) {
      throw new TributaryError('INTERNAL_ERROR', `upload integration of client ${this.fileIdent} is not loaded up to the latest version`);
    }
    if (upload.lastIntegratedServerVersion < this.base) {
      throw new TributaryError('BAD_CLIENT_VERSION', `changeset ${upload.clientVersion} is based on server version ${upload.lastIntegratedServerVersion}, below an earlier changeset's ${this.base}`);
    }
    const { instructions, merged } = this.merge(upload, Infinity);
    const version = access.append({ originFileIdent: this.fileIdent, originTimestamp: upload.originTimestamp, clientVersion: upload.clientVersion, instructions });
    this.loadedThrough = version;
    if (merged) {
      access.journal(this.fileIdent, { ...upload, version });
      this.journalRows++;
    }
    return { version, instructions };
  }

  /**
   * Transforms `upload` past the loaded entries after its base and before version `before` whose
   * footprint meets its own, updating their copies; `merged` tells whether any copy changed.
   */
  private merge(upload: UploadedChangeset, before: number): { instructions: Instruction[]; merged: boolean } {
    this.base = Math.max(this.base, upload.lastIntegratedServerVersion);
    let instructions = upload.instructions;
    let merged = false;
    if (instructions.length > 0 && this.entries.length > this.start) {
      const after = Math.max(this.start - 1, lastAtOrBelow(this.entries, this.start, upload.lastIntegratedServerVersion));
      const footprint = footprintOf(instructions, new LinkResolver(this.lookup, [instructions]));
      for (const i of this.index.meeting(footprint, after)) {
        const entry = this.entries[i]!;
        if (entry.version >= before) break;
        if (entry.instructions.length === 0) continue;
        const [mine, theirs] = transform(
          { instructions, timestamp: upload.originTimestamp, fileIdent: this.fileIdent },
          { instructions: entry.instructions, timestamp: entry.originTimestamp, fileIdent: entry.originFileIdent },
          this.lookup,
        );
        instructions = mine;
        entry.instructions = theirs;
        this.dirty.add(entry);
        merged = true;
        if (instructions.length === 0) break;
      }
    }
    return { instructions, merged };
  }

  /**
   * Trims what the client will never need again: the stored reciprocal copies and the kept entries
   * at or below the highest base integrated (later uploads from this client are based on a version
   * at least as recent, as cursors never go backwards). Empties the upload journal once no entry
   * above the base has a copy it changed (the stored copies are then the current ones), and folds
   * a journal of `foldRatio` rows or more per changed copy into stored copies (writing the changed
   * ones). Call it at the end of each transaction.
   */
  flush(): void {
    const access = this.bound();
    if (this.base < 0 || this.replayedThrough !== null) return;
    if (this.trimmedTo !== this.base) {
      this.trimmedTo = this.base;
      access.trimReciprocal(this.fileIdent, this.base);
      while (this.start < this.entries.length && this.entries[this.start]!.version <= this.base) this.entries[this.start++] = null;
      for (const e of this.dirty) if (e.version <= this.base) this.dirty.delete(e);
    }
    if (this.journalRows === 0) return;
    // Clients that keep conflicting always have a changed copy above their base (each base passes
    // the entries changed before, but not the newest): the journal is folded in once it is long.
    if (this.dirty.size > 0 && this.journalRows < this.foldRatio * this.dirty.size) return;
    for (const e of this.dirty) access.setReciprocal(this.fileIdent, e.version, e.instructions);
    this.dirty.clear();
    access.clearJournal(this.fileIdent);
    this.journalRows = 0;
  }

  /**
   * History entry `version` as this client sees it (its reciprocal copy; `[]` when transformed to
   * nothing), while it is loaded and not trimmed; undefined otherwise. For tests and diagnostics.
   */
  seen(version: number): Instruction[] | undefined {
    const i = lastAtOrBelow(this.entries, this.start, version);
    const entry = i >= this.start ? this.entries[i] : null;
    return entry && entry.version === version ? entry.instructions : undefined;
  }

  /** Entries held in memory (for limits and tests). */
  get heldEntries(): number {
    return this.entries.length - this.start;
  }

  private bound(): ServerHistoryAccess {
    if (!this.access) throw new TributaryError('INTERNAL_ERROR', 'UploadIntegration.use() was not called');
    return this.access;
  }
}

/** Position (from `from`) of the last entry with version <= `version` (from - 1 when none). */
function lastAtOrBelow(entries: readonly ({ version: number } | null)[], from: number, version: number): number {
  let lo = from;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.version <= version) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** A local changeset not yet integrated by the server, as the client keeps it. */
export interface PendingChangeset {
  clientVersion: number;
  originTimestamp: number;
  /** The changeset rebased past every download integrated so far (used only to transform downloads). */
  instructions: Instruction[];
}

export interface IncomingChangeset {
  serverVersion: number;
  lastIntegratedClientVersion: number;
  originTimestamp: number;
  originFileIdent: number;
  instructions: Instruction[];
}

/**
 * Client side: transforms a downloaded changeset past the pending local ones with clientVersion >
 * its lastIntegratedClientVersion (those at or below it are already inside the download). Returns
 * the instructions to apply and the rebased pending list — only the changesets after
 * lastIntegratedClientVersion, in order, each with the same clientVersion and timestamp. A pending
 * changeset the transformation emptied stays in the list with no instructions.
 *
 * Pass the replica (or anything with `getSchema`) as `schema`, so a link the download writes to an
 * object a pending changeset deleted becomes null / a tombstone, exactly as on the server.
 *
 * @example
 * const { apply: ins, pending: rebased } = integrateDownload(fileIdent, pending, incoming, replica);
 * apply(replica, ins);
 */
export function integrateDownload(
  ownFileIdent: number,
  pending: readonly PendingChangeset[],
  incoming: IncomingChangeset,
  schema?: SchemaLookup,
): { apply: Instruction[]; pending: PendingChangeset[] } {
  const integration = new DownloadIntegration(ownFileIdent, pending, schema);
  const apply = integration.integrate(incoming);
  return { apply, pending: integration.pending };
}

/**
 * The client side of a DOWNLOAD: its changesets integrated in order against the local changesets
 * the server had not integrated (the mirror image of {@link UploadIntegration}). Each downloaded
 * changeset is transformed only past the pending changesets whose footprint meets its own, and
 * the pending ones are rebased in place; {@link pending} is the rebased list, without the ones
 * the downloads showed the server had integrated.
 *
 * Pass the replica (or anything with `getSchema`) as `schema`, so a link the download writes to an
 * object a pending changeset deleted becomes null / a tombstone, exactly as on the server.
 *
 * @example
 * const merge = new DownloadIntegration(fileIdent, pending, replica);
 * for (const c of download) apply(replica, merge.integrate(c));
 * savePending(merge.pending);
 */
export class DownloadIntegration {
  private readonly list: PendingChangeset[];
  private readonly index = new FootprintIndex();
  /** Position of the first pending changeset the server has not integrated. */
  private cut = 0;

  constructor(
    private readonly ownFileIdent: number,
    pending: readonly PendingChangeset[],
    private readonly schema?: SchemaLookup,
  ) {
    this.list = pending.map((p) => ({ ...p }));
    this.list.forEach((p, i) => this.index.add(i, footprintOf(p.instructions, new LinkResolver(schema, [p.instructions]))));
  }

  /** The instructions to apply for one downloaded changeset (in server order). */
  integrate(incoming: IncomingChangeset): Instruction[] {
    // Local changesets at or below lastIntegratedClientVersion are already inside the download.
    while (this.cut < this.list.length && this.list[this.cut]!.clientVersion <= incoming.lastIntegratedClientVersion) this.cut++;
    // The server never sends a client its own changesets; if it did, they are already applied here.
    if (incoming.originFileIdent === this.ownFileIdent) return [];
    let instructions = incoming.instructions;
    if (instructions.length === 0 || this.cut === this.list.length) return instructions;
    const footprint = footprintOf(instructions, new LinkResolver(this.schema, [instructions]));
    for (const i of this.index.meeting(footprint, this.cut - 1)) {
      const p = this.list[i]!;
      if (p.instructions.length === 0) continue;
      const [theirs, mine] = transform(
        { instructions, timestamp: incoming.originTimestamp, fileIdent: incoming.originFileIdent },
        { instructions: p.instructions, timestamp: p.originTimestamp, fileIdent: this.ownFileIdent },
        this.schema,
      );
      instructions = theirs;
      p.instructions = mine;
      if (instructions.length === 0) break;
    }
    return instructions;
  }

  /** The local changesets still pending, rebased past every download integrated so far. */
  get pending(): PendingChangeset[] {
    return this.list.slice(this.cut);
  }
}

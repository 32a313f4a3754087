import type { Instruction } from '../changeset';
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
  /** Entries with version > `after`, in version order. */
  entriesAfter(after: number): Iterable<HistoryEntry>;
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
  /** Appends and returns the new version (latestVersion()+1); records lastIntegratedClientVersion. */
  append(entry: Omit<HistoryEntry, 'version'>): number;
}

export interface UploadedChangeset {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  instructions: Instruction[];
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
 * @example
 * const { version, instructions } = integrateUpload(tx, fileIdent, upload);
 * if (version !== undefined) apply(tx, instructions);
 */
export function integrateUpload(access: ServerHistoryAccess, fileIdent: number, upload: UploadedChangeset, schema?: SchemaLookup): IntegrateResult {
  const integration = new UploadIntegration(access, fileIdent, schema);
  const result = integration.integrate(upload);
  integration.finish();
  return result;
}

/** A history entry as one client's integration sees it: its reciprocal copy, loaded once. */
interface SeenEntry {
  version: number;
  originFileIdent: number;
  originTimestamp: number;
  instructions: Instruction[];
  changed: boolean;
}

/**
 * The changesets of one UPLOAD from client file `fileIdent`, integrated in order (PROTOCOL.md §5):
 * each is transformed past the history entries after its base that did not come from that client,
 * using and updating the client's reciprocal copies of those entries, then appended.
 *
 * The entries after the first changeset's base are read and indexed by footprint once, and a
 * changeset is transformed only past the entries whose footprint meets its own (every other pair
 * transforms to itself), so the work follows the pairs that touch the same objects, not n·m. The
 * reciprocal copies stay in memory and {@link finish} writes the changed ones once.
 *
 * @example
 * const merge = new UploadIntegration(tx, fileIdent, state);
 * for (const c of upload) { const r = merge.integrate(c); if (r.version !== undefined) apply(state, r.instructions); }
 * merge.finish();
 */
export class UploadIntegration {
  private readonly lookup: SchemaLookup | undefined;
  private entries: SeenEntry[] | null = null;
  private readonly index = new FootprintIndex();
  private base = -1;

  constructor(
    private readonly access: ServerHistoryAccess,
    private readonly fileIdent: number,
    schema?: SchemaLookup,
  ) {
    this.lookup = schema ?? (typeof (access as Partial<SchemaLookup>).getSchema === 'function' ? (access as unknown as SchemaLookup) : undefined);
  }

  /**
   * Integrates the next changeset (bases never decrease within an upload). One at or below the last
   * integrated client version is skipped (`version` undefined), so re-sending is always safe; one
   * that transformation emptied is still appended (it advances the client's integrated version).
   * Throws TributaryError('INVALID_SCHEMA_CHANGE') on incompatible concurrent schema changes; the
   * caller rolls the transaction back.
   */
  integrate(upload: UploadedChangeset): IntegrateResult {
    if (upload.clientVersion <= this.access.lastIntegratedClientVersion(this.fileIdent)) return { instructions: [] };
    const entries = this.load(upload.lastIntegratedServerVersion);
    this.base = Math.max(this.base, upload.lastIntegratedServerVersion);
    let instructions = upload.instructions;
    if (instructions.length > 0 && entries.length > 0) {
      const after = lastAtOrBelow(entries, upload.lastIntegratedServerVersion);
      const footprint = footprintOf(instructions, new LinkResolver(this.lookup, [instructions]));
      for (const i of this.index.meeting(footprint, after)) {
        const entry = entries[i]!;
        if (entry.instructions.length === 0) continue;
        const [mine, theirs] = transform(
          { instructions, timestamp: upload.originTimestamp, fileIdent: this.fileIdent },
          { instructions: entry.instructions, timestamp: entry.originTimestamp, fileIdent: entry.originFileIdent },
          this.lookup,
        );
        instructions = mine;
        if (theirs !== entry.instructions) {
          entry.instructions = theirs;
          entry.changed = true;
        }
        if (instructions.length === 0) break;
      }
    }
    const version = this.access.append({ originFileIdent: this.fileIdent, originTimestamp: upload.originTimestamp, clientVersion: upload.clientVersion, instructions });
    return { version, instructions };
  }

  /** Drops reciprocal copies the client will never need again and writes the changed ones. */
  finish(): void {
    if (this.base < 0) return;
    // Copies at or below the base are never needed again: later uploads from this client are
    // based on a version at least as recent (cursors never go backwards).
    this.access.trimReciprocal(this.fileIdent, this.base);
    for (const e of this.entries ?? []) if (e.changed && e.version > this.base) this.access.setReciprocal(this.fileIdent, e.version, e.instructions);
  }

  /** The other clients' entries after `base`, with this client's reciprocal copies, indexed once. */
  private load(base: number): SeenEntry[] {
    if (this.entries) return this.entries;
    const entries: SeenEntry[] = [];
    for (const e of this.access.entriesAfter(base)) {
      if (e.originFileIdent === this.fileIdent) continue; // causally before this upload
      const seen = this.access.getReciprocal(this.fileIdent, e.version) ?? e.instructions;
      this.index.add(entries.length, footprintOf(seen, new LinkResolver(this.lookup, [seen])));
      entries.push({ version: e.version, originFileIdent: e.originFileIdent, originTimestamp: e.originTimestamp, instructions: seen, changed: false });
    }
    this.entries = entries;
    return entries;
  }
}

/** Position of the last entry with version <= `version` (-1 when none). */
function lastAtOrBelow(entries: readonly { version: number }[], version: number): number {
  let lo = 0;
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

import type { Instruction } from '../changeset';
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
  if (upload.clientVersion <= access.lastIntegratedClientVersion(fileIdent)) return { instructions: [] };
  const lookup = schema ?? (typeof (access as Partial<SchemaLookup>).getSchema === 'function' ? (access as unknown as SchemaLookup) : undefined);
  // Reciprocal copies at or below the base are never needed again: later uploads from this client
  // are based on a version at least as recent (cursors never go backwards).
  access.trimReciprocal(fileIdent, upload.lastIntegratedServerVersion);
  let instructions = upload.instructions;
  for (const entry of access.entriesAfter(upload.lastIntegratedServerVersion)) {
    if (entry.originFileIdent === fileIdent) continue; // causally before this upload
    const seen = access.getReciprocal(fileIdent, entry.version) ?? entry.instructions;
    if (seen.length === 0 || instructions.length === 0) continue;
    const [mine, theirs] = transform(
      { instructions, timestamp: upload.originTimestamp, fileIdent },
      { instructions: seen, timestamp: entry.originTimestamp, fileIdent: entry.originFileIdent },
      lookup,
    );
    instructions = mine;
    access.setReciprocal(fileIdent, entry.version, theirs);
  }
  const version = access.append({ originFileIdent: fileIdent, originTimestamp: upload.originTimestamp, clientVersion: upload.clientVersion, instructions });
  return { version, instructions };
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
  const concurrent = pending.filter((p) => p.clientVersion > incoming.lastIntegratedClientVersion);
  // The server never sends a client its own changesets; if it did, they are already applied here.
  if (incoming.originFileIdent === ownFileIdent) return { apply: [], pending: concurrent };
  let instructions = incoming.instructions;
  const rebased: PendingChangeset[] = [];
  for (const p of concurrent) {
    if (instructions.length === 0 || p.instructions.length === 0) {
      rebased.push(p);
      continue;
    }
    const [theirs, mine] = transform(
      { instructions, timestamp: incoming.originTimestamp, fileIdent: incoming.originFileIdent },
      { instructions: p.instructions, timestamp: p.originTimestamp, fileIdent: ownFileIdent },
      schema,
    );
    instructions = theirs;
    rebased.push({ ...p, instructions: mine });
  }
  return { apply: instructions, pending: rebased };
}

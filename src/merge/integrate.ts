import type { Instruction } from '../changeset';

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

/** Server side of PROTOCOL.md §5's algorithm. Implemented in this module. */
export function integrateUpload(access: ServerHistoryAccess, fileIdent: number, upload: UploadedChangeset): IntegrateResult {
  void access;
  void fileIdent;
  void upload;
  throw new Error('integrateUpload: not implemented yet');
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
 * its lastIntegratedClientVersion. Returns the instructions to apply and the rebased pending list.
 */
export function integrateDownload(
  ownFileIdent: number,
  pending: readonly PendingChangeset[],
  incoming: IncomingChangeset,
): { apply: Instruction[]; pending: PendingChangeset[] } {
  void ownFileIdent;
  void pending;
  void incoming;
  throw new Error('integrateDownload: not implemented yet');
}

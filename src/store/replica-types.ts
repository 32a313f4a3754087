/**
 * The values a replica takes and hands out: its options, its sync cursors, the content of the
 * server messages it integrates and what a commit reports. Kept apart from the classes so that the
 * replica's extensions, the sync session and the admin tools can name them without importing the
 * SQLite implementation.
 */
import type { Instruction } from '../changeset';
import type { IncomingChangeset } from '../merge';

export interface ReplicaOptions {
  /** File path of the replica; `:memory:` for a throw-away one (tests). */
  path: string;
  /** Wall clock for the HLC (tests inject one). */
  now?: () => number;
  /** Most decoded records kept in memory (default 10,000). */
  cacheSize?: number;
  /**
   * What a committed local write survives. `'normal'` (default): a crash or kill of the process
   * (SQLite WAL with synchronous=NORMAL — the commit is in the log before write() returns, with no
   * fsync); a power loss or OS crash may roll back the last writes, never half of one. `'full'`:
   * also a power loss (an fsync per write; about 0.4 ms each on a typical disk, on the event loop).
   */
  durability?: Durability;
  /**
   * How long (ms) downloaded changes may wait for their COMMIT (default 5; 0: each download
   * commits at once). They are in effect at once — reads, listeners and local writes see them —
   * and the downloads of that window commit together: one WAL append instead of one per DOWNLOAD,
   * a quarter of a reader's CPU under load. A local write commits them with itself. What a process
   * crash takes back is downloaded again; the server holds it durably, and the cursors go back with it.
   */
  downloadCommitDelayMs?: number;
  /** Most instructions one write transaction may make (default 100,000, the server's default maxInstructionsPerChangeset). */
  maxInstructionsPerWrite?: number;
}

/** One write transaction becomes one changeset, which the server integrates in one step. */
export const DEFAULT_MAX_INSTRUCTIONS_PER_WRITE = 100_000;

/** ReplicaOptions.downloadCommitDelayMs by default. */
export const DEFAULT_DOWNLOAD_COMMIT_DELAY_MS = 5;

export type Durability = 'normal' | 'full';

export interface DownloadCursor {
  serverVersion: number;
  lastIntegratedClientVersion: number;
}

export interface UploadCursor {
  clientVersion: number;
  lastIntegratedServerVersion: number;
}

export interface SyncProgress {
  download: DownloadCursor;
  latestServerVersion: number;
  latestServerVersionSalt: number;
  /** The server's upload cursor: everything up to `clientVersion` is durable on the server. */
  acknowledged: UploadCursor;
}

/** A local changeset as stored in the history and sent in UPLOAD. */
export interface LocalChangeset {
  clientVersion: number;
  originTimestamp: number;
  /** The server version the changeset was made on (download cursor at commit time). */
  lastIntegratedServerVersion: number;
  /** The original encoded instructions. */
  data: Uint8Array;
}

/** The content of one DOWNLOAD message, changesets decoded. */
export interface DownloadBatch {
  serverVersion: number;
  lastIntegratedClientVersion: number;
  latestServerVersion: number;
  latestServerVersionSalt: number;
  uploadClientVersion: number;
  uploadServerVersion: number;
  changesets: IncomingChangeset[];
}

/** A state snapshot (STATE) and the cursor it corresponds to. */
export interface Snapshot {
  serverVersion: number;
  serverVersionSalt: number;
  lastIntegratedClientVersion: number;
  instructions: Instruction[];
}

export type CommitOrigin = 'local' | 'download' | 'snapshot';

export interface CommitEvent {
  origin: CommitOrigin;
  /** The client version of a local commit that produced a changeset. */
  clientVersion?: number;
}

/** What a replica is bound to; checked on open so a file is never synced to another realm. */
export interface ReplicaBinding {
  serverUrl: string;
  realmPath: string;
  userIdentity: string;
}

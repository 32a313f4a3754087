import type { StateStore } from '../../changeset/state';
import type { ServerHistoryAccess } from '../../merge/integrate';
import type { AccountReads, AccountWrites, PermissionLevel } from './account-types';

export type * from './account-types';

/**
 * The storage driver contract. The sync engine talks to storage only through this, so a second
 * driver (Postgres, for cluster mode) can follow the SQLite one; both run the conformance suite in
 * test/integration/storage.test.ts.
 *
 * Shape: the outer calls are asynchronous (`read`, `write`), the transaction bodies synchronous.
 * The merge (`integrateUpload`) and the strict applier (`apply`) are pure and synchronous, so they
 * run inside a body against {@link RealmTransaction}. SQLite executes a body directly; a Postgres
 * driver would lock the realm rows, load what the body needs (the history window after the oldest
 * base version, the client files, the realm state through a per-realm cache) and write the
 * collected changes back in the same database transaction.
 *
 * Durability: when the promise of `write` resolves, the transaction is durable (SQLite: the WAL
 * fsync'd after the commit, off the event loop). Acknowledgements are sent only after that, and
 * `read` sees only durable data, so nothing that could still be lost leaves the server.
 */
export interface StorageDriver {
  readonly kind: string;
  /** Runs `fn` against a consistent view of committed data. */
  read<T>(fn: (tx: ReadTransaction) => T): Promise<T>;
  /**
   * Runs `fn` in one transaction and commits it durably. If `fn` throws, nothing of it is kept and
   * the promise rejects with that error (storage failures become TributaryError STORAGE_FAILURE).
   */
  write<T>(fn: (tx: WriteTransaction) => T): Promise<T>;
  close(): Promise<void>;
}

export interface UserRecord {
  /** 32 lowercase hex characters. */
  id: string;
  /** Login name of a password user; null for users of other providers. */
  username: string | null;
  /** `scrypt$…` (see passwords.ts); null when the user has no password. */
  passwordHash: string | null;
  isAdmin: boolean;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export interface RealmRecord {
  id: number;
  path: string;
  /** The identity that owns it (first path segment of a user realm), or null. */
  owner: string | null;
  createdAt: number;
  deleted: boolean;
  latestVersion: number;
  /** Salt of `latestVersion` (0 for version 0). */
  latestSalt: number;
}

export interface ClientFileRecord {
  realmId: number;
  ident: number;
  salt: number;
  /** Highest client version integrated from this file (the idempotent re-upload threshold). */
  lastIntegratedClientVersion: number;
  /** The upload cursor the server acknowledges: client version and the server version it was based on. */
  uploadClientVersion: number;
  uploadServerVersion: number;
  /** Reciprocal history of this file is kept for versions above this one. */
  reciprocalBase: number;
  /** Milliseconds since the epoch. */
  lastSeen: number;
}

/** A history entry as stored: the changeset stays encoded so downloads send it as is. */
export interface StoredHistoryEntry {
  version: number;
  salt: number;
  originFileIdent: number;
  originTimestamp: number;
  clientVersion: number;
  data: Uint8Array;
  byteSize: number;
  /** Sum of `byteSize` over versions 1..version (gives "bytes remaining" cheaply). */
  cumulativeBytes: number;
}

export interface ReadTransaction {
  /** Login identities, tokens, grants and offers (account-types.ts). */
  readonly accounts: AccountReads;
  getUserById(id: string): UserRecord | undefined;
  getUserByName(username: string): UserRecord | undefined;
  listUsers(): UserRecord[];
  getRealm(path: string): RealmRecord | undefined;
  getRealmById(id: number): RealmRecord | undefined;
  listRealms(): RealmRecord[];
  /** The grant of `userId` on `realmPath`, if any. */
  getPermission(realmPath: string, userId: string): PermissionLevel | undefined;
  getClientFile(realmId: number, ident: number): ClientFileRecord | undefined;
  /** Salt of a version; 0 for version 0; undefined for a version that does not exist. */
  versionSalt(realmId: number, version: number): number | undefined;
  /**
   * History entries after `after`, in version order, until their byte sizes add up to at least
   * `maxBytes` (at least one entry when there is any) or `maxCount` entries.
   */
  readHistory(realmId: number, after: number, maxBytes: number, maxCount?: number): StoredHistoryEntry[];
  /** Cumulative history bytes up to and including `version` (0 for version 0). */
  cumulativeBytes(realmId: number, version: number): number;
  /** The realm's object state, for reading (snapshots). Writing through it is undefined behaviour. */
  realmState(realmId: number): StateStore;
}

export interface WriteTransaction extends ReadTransaction {
  readonly accounts: AccountWrites;
  /** Throws TributaryError USER_EXISTS when the id or the username is taken. */
  createUser(user: UserRecord): void;
  /** Creates an empty realm at version 0. Throws when the path exists. */
  createRealm(path: string, owner: string | null, createdAt: number): RealmRecord;
  /** Sets (or with `null` removes) a grant. */
  setPermission(realmPath: string, userId: string, level: PermissionLevel | null): void;
  /** Allocates the next client file ident of a realm with a random salt. */
  allocateClientFile(realmId: number, now: number): ClientFileRecord;
  /** Records the upload cursor acknowledged to a client file, and when it was last seen. */
  setUploadProgress(realmId: number, ident: number, clientVersion: number, serverVersion: number, now: number): void;
  /** History, reciprocal history and state of one realm, inside this transaction. */
  realm(realmId: number): RealmTransaction;
  /** Writes a timestamp to the database's meta data: a small real write that shows storage works (/health). */
  heartbeat(now: number): void;
  /**
   * Runs `fn` under a savepoint: if it throws, its writes are undone (the enclosing transaction
   * continues) and the error is rethrown.
   */
  savepoint<T>(fn: () => T): T;
}

/** One realm inside a write transaction: what integrateUpload and apply need. */
export interface RealmTransaction extends ServerHistoryAccess, StateStore {
  readonly realmId: number;
  latestSalt(): number;
}

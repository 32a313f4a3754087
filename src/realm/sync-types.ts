import type { ReplicaHandle } from '../store';

export type SyncSessionState = 'active' | 'inactive';
export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

/**
 * What a Realm needs from a sync session. Implemented by the client layer (src/client/session.ts);
 * the realm layer only sees this interface so it stays below the client in the layering.
 */
export interface SyncSessionHandle {
  readonly state: SyncSessionState;
  readonly connectionState: ConnectionState;
  /** What the last attempt to reach the server failed with (ECONNREFUSED, HTTP 503, …), if it did. */
  readonly lastConnectionError?: string | null;
  /** The user the session syncs as. */
  readonly user: SyncUserLike;
  /** The realm URL as configured (`realm://host:9080/~/private`). */
  readonly url: string;
  pause(): void;
  resume(): void;
  /** Resolves when the server has acknowledged every local change committed before the call. */
  uploadAllLocalChanges(timeoutMs?: number): Promise<void>;
  /** Resolves when everything the server had when asked has been downloaded and applied. */
  downloadAllServerChanges(timeoutMs?: number): Promise<void>;
  /** realm-js progress notifications (see src/client/progress.ts). */
  addProgressNotification?(direction: 'upload' | 'download', mode: 'reportIndefinitely' | 'forCurrentlyOutstandingWork', callback: (transferred: number, transferable: number) => void): void;
  removeProgressNotification?(callback: (transferred: number, transferable: number) => void): void;
  /** Local changes not yet acknowledged by the server. */
  readonly hasPendingUploads?: boolean;
  /** Resolves when they are; rejects on timeout or when the connection is lost (see registry.ts). */
  finishUploads?(timeoutMs: number): Promise<void>;
  isConnected?(): boolean;
  addConnectionNotification?(callback: (newState: ConnectionState, oldState: ConnectionState) => void): void;
  removeConnectionNotification?(callback: (newState: ConnectionState, oldState: ConnectionState) => void): void;
  reconnect?(): void;
  addErrorListener(listener: (error: Error) => void): void;
  removeErrorListener(listener: (error: Error) => void): void;
  close(): void;
}

export interface OpenSessionOptions {
  replica: ReplicaHandle;
  url: string;
  /** Called with every session error (fatal ones stop the session; see docs/client.md). */
  onError?: (error: Error) => void;
  /** Where failures of user callbacks on the session (progress notifications) are reported. */
  log?: { error(msg: string, fields?: Record<string, unknown>): void };
}

/** A logged-in user as the realm layer sees it (src/client's User implements it). */
export interface SyncUserLike {
  readonly identity: string;
  readonly isAdmin: boolean;
  openSyncSession(options: OpenSessionOptions): SyncSessionHandle;
}

/** `sync` in a Realm configuration. */
export interface SyncConfiguration {
  user: SyncUserLike;
  /** `realm://host:port/path`, `realms://…`; `~` is the user's identity. */
  url: string;
  /** realm-js style error callback: `(session, error) => void`. */
  error?: (session: SyncSessionHandle, error: Error) => void;
  /** Root directory of local replicas when `path` is not given (default `./tributary-data`). */
  directory?: string;
  /**
   * How long `Realm.open` waits for the server before it rejects with TIMEOUT (ms, default 30 s).
   * A refusal no retry can change (a bad token, a wrong URL) rejects at once with its code.
   * `new Realm(config)` never waits: it opens the local copy and syncs when it can.
   */
  openTimeoutMs?: number;
  /** Accepted for compatibility; every realm is fully synchronised. */
  fullSynchronization?: boolean;
}

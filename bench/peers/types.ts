import type { ServerChild } from './server-child';

export type SystemName = 'tributary' | 'sharedb' | 'yjs' | 'raw ws';

/** What a reader sees of one change: its key and the writer's `performance.now()` at write time. */
export type DeliveryListener = (key: string, sentAt: number) => void;

/** One client of a system: its own socket and (where the system has users) its own identity. */
export interface PeerClient {
  /** Makes one change of about {@link CHANGE_BYTES} bytes: one new object / map entry / doc field. */
  write(key: string, sentAt: number): void;
  /** Local changes the server has not acknowledged yet. */
  unacked(): number;
  /** Resolves once fewer than `limit` local changes are unacknowledged. */
  whenUnackedBelow(limit: number): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Which prepared identity to use (Tributary); clients of one phase never share one. */
  user: number;
  /**
   * A room shared with other users (Tributary: a realm under user 0's path, which user 0 must
   * open first; others: just the name). Otherwise the room belongs to this client alone.
   */
  shared: boolean;
  onDelivery?: DeliveryListener;
}

/** A running server of one system and a way to open clients against it. */
export interface Deployment {
  readonly server: ServerChild;
  /** Untimed set-up before `count` clients are opened (Tributary: log the users in). */
  prepareClients(count: number): Promise<void>;
  /** Opens a client and resolves once its first full sync with the room is done. */
  open(room: string, options: OpenOptions): Promise<PeerClient>;
  stop(): Promise<void>;
}

export interface PeerSystem {
  readonly name: SystemName;
  /** A fresh server child (and whatever state it needs). */
  deploy(): Promise<Deployment>;
}

/** Filler so a change (object, map entry, doc field) is about 200 bytes on the wire. */
export const BODY = 'x'.repeat(160);
export const CHANGE_BYTES = 200;

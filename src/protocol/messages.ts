import type { ErrorAction } from '../errors';

/**
 * Message shapes of the sync protocol (PROTOCOL.md §3; byte layout in docs/protocol.md).
 * Changeset bodies travel as encoded bytes (src/changeset/codec.ts) so the server can store
 * them without re-encoding. All versions, idents and salts are non-negative safe integers.
 */

export const PROTOCOL_VERSION = 1;
export const SYNC_SUBPROTOCOL = `tributary-sync.${PROTOCOL_VERSION}`;
export const SYNC_PATH = '/sync';

export interface UploadChangeset {
  clientVersion: number;
  lastIntegratedServerVersion: number;
  originTimestamp: number;
  data: Uint8Array;
}

export interface DownloadChangeset {
  serverVersion: number;
  lastIntegratedClientVersion: number;
  originTimestamp: number;
  originFileIdent: number;
  data: Uint8Array;
}

// client → server
export interface BindMessage {
  type: 'BIND';
  session: number;
  path: string;
  needIdent: boolean;
}
export interface ClientIdentMessage {
  type: 'IDENT';
  session: number;
  fileIdent: number;
  fileSalt: number;
  /** Download cursor: the server version the client has integrated ... */
  serverVersion: number;
  /** ... and the last client version the server had integrated at that point. */
  lastIntegratedClientVersion: number;
  latestServerVersion: number;
  latestServerVersionSalt: number;
}
export interface UploadMessage {
  type: 'UPLOAD';
  session: number;
  /** Upload cursor: client version uploaded so far, and the server version it was based on. */
  progressClientVersion: number;
  progressServerVersion: number;
  changesets: UploadChangeset[];
}
export interface MarkMessage {
  type: 'MARK';
  session: number;
  requestId: number;
}
export interface StateRequestMessage {
  type: 'STATE_REQUEST';
  session: number;
}
export interface UnbindMessage {
  type: 'UNBIND';
  session: number;
}
export interface RefreshMessage {
  type: 'REFRESH';
  token: string;
}
export interface PingMessage {
  type: 'PING';
  timestamp: number;
  rtt: number;
}

// server → client
export interface ServerIdentMessage {
  type: 'IDENT';
  session: number;
  fileIdent: number;
  fileSalt: number;
}
export interface DownloadMessage {
  type: 'DOWNLOAD';
  session: number;
  /** Download cursor after these changesets. */
  serverVersion: number;
  lastIntegratedClientVersion: number;
  latestServerVersion: number;
  latestServerVersionSalt: number;
  /** The server's upload cursor for this client: the acknowledgement of durable uploads. */
  uploadClientVersion: number;
  uploadServerVersion: number;
  downloadableBytes: number;
  changesets: DownloadChangeset[];
}
export interface StateMessage {
  type: 'STATE';
  session: number;
  serverVersion: number;
  serverVersionSalt: number;
  lastIntegratedClientVersion: number;
  /** Segments of one snapshot, numbered from 0; the client applies them when `last` arrives. */
  segment: number;
  last: boolean;
  data: Uint8Array;
}
export interface ServerMarkMessage {
  type: 'MARK';
  session: number;
  requestId: number;
}
export interface UnboundMessage {
  type: 'UNBOUND';
  session: number;
}
export interface PongMessage {
  type: 'PONG';
  timestamp: number;
}
export interface ErrorMessage {
  type: 'ERROR';
  /** 0 for a connection-level error. */
  session: number;
  /** Protocol error number (src/errors.ts). */
  code: number;
  message: string;
  tryAgain: boolean;
  action: ErrorAction;
  backoffMs: number;
}

export type ClientMessage =
  | BindMessage
  | ClientIdentMessage
  | UploadMessage
  | MarkMessage
  | StateRequestMessage
  | UnbindMessage
  | RefreshMessage
  | PingMessage;

export type ServerMessage =
  | ServerIdentMessage
  | DownloadMessage
  | StateMessage
  | ServerMarkMessage
  | UnboundMessage
  | PongMessage
  | ErrorMessage;

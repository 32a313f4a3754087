import type { ClientMessage, ServerMessage } from './messages';

/** Limits enforced when decoding messages (options with documented defaults). */
export interface ProtocolLimits {
  /** Largest message accepted, in bytes (default 16 MiB). */
  maxMessageBytes: number;
  /** Longest realm path, in characters (default 1024). */
  maxPathLength: number;
  /** Longest token in REFRESH, in bytes (default 16 KiB). */
  maxTokenBytes: number;
  /** Most changesets in one UPLOAD or DOWNLOAD (default 10,000). */
  maxChangesetsPerMessage: number;
  /** Longest error message text, in bytes (default 4 KiB). */
  maxErrorMessageBytes: number;
}

export const DEFAULT_PROTOCOL_LIMITS: ProtocolLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxPathLength: 1024,
  maxTokenBytes: 16 * 1024,
  maxChangesetsPerMessage: 10_000,
  maxErrorMessageBytes: 4096,
};

/** Encodes a client→server message as one binary WebSocket frame body. */
export function encodeClientMessage(message: ClientMessage): Uint8Array {
  void message;
  throw new Error('not implemented yet');
}

/**
 * Decodes a client→server message. Never throws anything but TributaryError with code
 * BAD_SYNTAX, UNKNOWN_MESSAGE or LIMITS_EXCEEDED.
 */
export function decodeClientMessage(bytes: Uint8Array, limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS): ClientMessage {
  void bytes;
  void limits;
  throw new Error('not implemented yet');
}

export function encodeServerMessage(message: ServerMessage): Uint8Array {
  void message;
  throw new Error('not implemented yet');
}

export function decodeServerMessage(bytes: Uint8Array, limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS): ServerMessage {
  void bytes;
  void limits;
  throw new Error('not implemented yet');
}

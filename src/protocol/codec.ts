import { Reader, Writer, withWriter } from '../changeset/codec-binary';
import { TributaryError } from '../errors';
import type { ClientMessage, ServerMessage } from './messages';
import { CLIENT_MESSAGES, ERROR_ACTIONS, SERVER_MESSAGES, type FieldList, type MessageLayout } from './schema';

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

/** Codes the message decoders may throw; anything else is a bug. */
export const MESSAGE_DECODE_ERROR_CODES = ['BAD_SYNTAX', 'UNKNOWN_MESSAGE', 'LIMITS_EXCEEDED'] as const;

type Table = Record<string, MessageLayout>;

function byCode(table: Table): Map<number, [string, MessageLayout]> {
  const m = new Map<number, [string, MessageLayout]>();
  for (const [type, layout] of Object.entries(table)) m.set(layout.code, [type, layout]);
  return m;
}

const CLIENT_BY_CODE = byCode(CLIENT_MESSAGES);
const SERVER_BY_CODE = byCode(SERVER_MESSAGES);

function bad(message: string): never {
  throw new TributaryError('INVALID_ARGUMENT', message);
}

/** Where a bad field is, for the error message only (not built while encoding). */
function fieldPath(where: string, index: number, name: string): string {
  return `${where}${index >= 0 ? `[${index}]` : ''}.${name}`;
}

function writeFields(w: Writer, fields: FieldList, msg: Record<string, unknown>, where: string, index = -1): void {
  for (const [name, kind] of fields) {
    const v = msg[name];
    if (typeof kind === 'object') {
      if (!Array.isArray(v)) bad(`${fieldPath(where, index, name)} must be an array`);
      w.uvarint(v.length);
      const inner = fieldPath(where, index, name);
      for (let i = 0; i < v.length; i++) writeFields(w, kind.list, v[i] as Record<string, unknown>, inner, i);
      continue;
    }
    switch (kind) {
      case 'uint':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${fieldPath(where, index, name)} must be a non-negative safe integer, got ${String(v)}`);
        w.uvarint(v);
        break;
      case 'bool':
        if (typeof v !== 'boolean') bad(`${fieldPath(where, index, name)} must be a boolean`);
        w.u8(v ? 1 : 0);
        break;
      case 'path':
      case 'token':
      case 'text':
        if (typeof v !== 'string') bad(`${fieldPath(where, index, name)} must be a string`);
        w.string(v);
        break;
      case 'bytes':
        if (!(v instanceof Uint8Array)) bad(`${fieldPath(where, index, name)} must be a Uint8Array`);
        w.bytes(v);
        break;
      case 'action': {
        const i = ERROR_ACTIONS.indexOf(v as (typeof ERROR_ACTIONS)[number]);
        if (i < 0) bad(`${fieldPath(where, index, name)} must be one of ${ERROR_ACTIONS.join(', ')}`);
        w.u8(i);
        break;
      }
    }
  }
}

function limitExceeded(what: string): never {
  throw new TributaryError('LIMITS_EXCEEDED', what);
}

function readFields(r: Reader, fields: FieldList, limits: ProtocolLimits): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of fields) {
    if (typeof kind === 'object') {
      // Every field takes at least one byte: an impossible count fails before anything is allocated.
      const n = r.count(limits.maxChangesetsPerMessage, kind.list.length, name, () =>
        limitExceeded(`more than ${limits.maxChangesetsPerMessage} ${name} in one message`),
      );
      const items: Record<string, unknown>[] = [];
      for (let i = 0; i < n; i++) items.push(readFields(r, kind.list, limits));
      out[name] = items;
      continue;
    }
    switch (kind) {
      case 'uint':
        out[name] = r.uvarint();
        break;
      case 'bool':
        out[name] = r.bool();
        break;
      case 'path': {
        // UTF-8 takes at most 3 bytes per UTF-16 code unit, so this bound is exact enough to
        // reject before decoding; the character count is checked after.
        const s = r.string(limits.maxPathLength * 3, () => limitExceeded(`realm path longer than ${limits.maxPathLength} characters`));
        if (s.length > limits.maxPathLength) limitExceeded(`realm path longer than ${limits.maxPathLength} characters`);
        out[name] = s;
        break;
      }
      case 'token':
        out[name] = r.string(limits.maxTokenBytes, () => limitExceeded(`token longer than ${limits.maxTokenBytes} bytes`));
        break;
      case 'text':
        out[name] = r.string(limits.maxErrorMessageBytes, () => limitExceeded(`error message longer than ${limits.maxErrorMessageBytes} bytes`));
        break;
      case 'bytes':
        out[name] = r.bytes(limits.maxMessageBytes);
        break;
      case 'action': {
        const b = r.u8();
        const action = ERROR_ACTIONS[b];
        if (action === undefined) r.fail(`unknown error action ${b}`);
        out[name] = action;
        break;
      }
    }
  }
  return out;
}

function encode(table: Table, message: { type: string }): Uint8Array {
  const layout = Object.prototype.hasOwnProperty.call(table, message.type) ? table[message.type] : undefined;
  if (!layout) bad(`unknown message type '${String(message.type)}'`);
  return withWriter((w) => {
    w.u8(layout.code);
    writeFields(w, layout.fields, message as unknown as Record<string, unknown>, message.type);
  });
}

function decode(byCodeTable: Map<number, [string, MessageLayout]>, bytes: Uint8Array, limits: ProtocolLimits): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TributaryError('BAD_SYNTAX', 'a message must be binary');
  if (bytes.length > limits.maxMessageBytes) limitExceeded(`message of ${bytes.length} bytes exceeds the limit of ${limits.maxMessageBytes}`);
  if (bytes.length === 0) throw new TributaryError('BAD_SYNTAX', 'empty message');
  const entry = byCodeTable.get(bytes[0]!);
  if (!entry) throw new TributaryError('UNKNOWN_MESSAGE', `unknown message type byte ${bytes[0]}`);
  const [type, layout] = entry;
  const r = new Reader(bytes, 'BAD_SYNTAX');
  r.pos = 1;
  const fields = readFields(r, layout.fields, limits);
  r.end();
  return { type, ...fields };
}

/**
 * Encodes a client→server message as one binary WebSocket frame body. Throws
 * TributaryError('INVALID_ARGUMENT') when a field does not fit its kind.
 *
 * @example
 * const frame = encodeClientMessage({ type: 'BIND', session: 1, path: '/~/tasks', needIdent: true });
 * decodeServerMessage(frame); // throws UNKNOWN_MESSAGE: client frames are not server frames
 */
export function encodeClientMessage(message: ClientMessage): Uint8Array {
  return encode(CLIENT_MESSAGES, message);
}

/**
 * Decodes a client→server message. Never throws anything but TributaryError with code
 * BAD_SYNTAX, UNKNOWN_MESSAGE or LIMITS_EXCEEDED.
 */
export function decodeClientMessage(bytes: Uint8Array, limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS): ClientMessage {
  return decode(CLIENT_BY_CODE, bytes, limits) as ClientMessage;
}

/** Encodes a server→client message as one binary WebSocket frame body. */
export function encodeServerMessage(message: ServerMessage): Uint8Array {
  return encode(SERVER_MESSAGES, message);
}

/** Decodes a server→client message; throws only TributaryError BAD_SYNTAX, UNKNOWN_MESSAGE or LIMITS_EXCEEDED. */
export function decodeServerMessage(bytes: Uint8Array, limits: ProtocolLimits = DEFAULT_PROTOCOL_LIMITS): ServerMessage {
  return decode(SERVER_BY_CODE, bytes, limits) as ServerMessage;
}

import type { ErrorAction } from '../errors';
import type { ClientMessage, ServerMessage } from './messages';

/**
 * The wire layout of every message, as data: per message a type byte and an ordered list of
 * (field name, field kind). One generic encoder/decoder (codec.ts) walks these tables, the types
 * below check at compile time that they describe exactly the interfaces in messages.ts, and a test
 * pins a hash of them with PROTOCOL_VERSION — so the wire cannot change without a version bump.
 *
 * Field kinds (byte layouts in docs/protocol.md §4):
 * - `uint`: non-negative safe integer, LEB128 varint
 * - `bool`: one byte, 0 or 1
 * - `path` / `token` / `text`: length-prefixed UTF-8, bounded by maxPathLength / maxTokenBytes /
 *   maxErrorMessageBytes
 * - `bytes`: length-prefixed bytes, bounded by the message size
 * - `action`: one byte, index into ERROR_ACTIONS
 * - `{ list: fields }`: a count (bounded by maxChangesetsPerMessage) then that many records
 */
export type ScalarKind = 'uint' | 'bool' | 'path' | 'token' | 'text' | 'bytes' | 'action';
export type FieldKind = ScalarKind | { readonly list: FieldList };
export type FieldList = readonly (readonly [name: string, kind: FieldKind])[];

export interface MessageLayout {
  readonly code: number;
  readonly fields: FieldList;
}

/** Wire order of ERROR's `action` byte. */
export const ERROR_ACTIONS = ['retry', 'reset', 'fatal'] as const satisfies readonly ErrorAction[];

const UPLOAD_CHANGESET = [
  ['clientVersion', 'uint'],
  ['lastIntegratedServerVersion', 'uint'],
  ['originTimestamp', 'uint'],
  ['data', 'bytes'],
] as const;

const DOWNLOAD_CHANGESET = [
  ['serverVersion', 'uint'],
  ['lastIntegratedClientVersion', 'uint'],
  ['originTimestamp', 'uint'],
  ['originFileIdent', 'uint'],
  ['data', 'bytes'],
] as const;

/** Client → server messages. */
export const CLIENT_MESSAGES = {
  BIND: {
    code: 1,
    fields: [
      ['session', 'uint'],
      ['path', 'path'],
      ['needIdent', 'bool'],
    ],
  },
  IDENT: {
    code: 2,
    fields: [
      ['session', 'uint'],
      ['fileIdent', 'uint'],
      ['fileSalt', 'uint'],
      ['serverVersion', 'uint'],
      ['lastIntegratedClientVersion', 'uint'],
      ['latestServerVersion', 'uint'],
      ['latestServerVersionSalt', 'uint'],
    ],
  },
  UPLOAD: {
    code: 3,
    fields: [
      ['session', 'uint'],
      ['progressClientVersion', 'uint'],
      ['progressServerVersion', 'uint'],
      ['changesets', { list: UPLOAD_CHANGESET }],
    ],
  },
  MARK: {
    code: 4,
    fields: [
      ['session', 'uint'],
      ['requestId', 'uint'],
    ],
  },
  STATE_REQUEST: { code: 5, fields: [['session', 'uint']] },
  UNBIND: { code: 6, fields: [['session', 'uint']] },
  REFRESH: { code: 7, fields: [['token', 'token']] },
  PING: {
    code: 8,
    fields: [
      ['timestamp', 'uint'],
      ['rtt', 'uint'],
    ],
  },
} as const satisfies Record<ClientMessage['type'], MessageLayout>;

/** Server → client messages. Codes start at 0x11 so a frame sent the wrong way is recognisable. */
export const SERVER_MESSAGES = {
  IDENT: {
    code: 0x11,
    fields: [
      ['session', 'uint'],
      ['fileIdent', 'uint'],
      ['fileSalt', 'uint'],
    ],
  },
  DOWNLOAD: {
    code: 0x12,
    fields: [
      ['session', 'uint'],
      ['serverVersion', 'uint'],
      ['lastIntegratedClientVersion', 'uint'],
      ['latestServerVersion', 'uint'],
      ['latestServerVersionSalt', 'uint'],
      ['uploadClientVersion', 'uint'],
      ['uploadServerVersion', 'uint'],
      ['downloadableBytes', 'uint'],
      ['changesets', { list: DOWNLOAD_CHANGESET }],
    ],
  },
  STATE: {
    code: 0x13,
    fields: [
      ['session', 'uint'],
      ['serverVersion', 'uint'],
      ['serverVersionSalt', 'uint'],
      ['lastIntegratedClientVersion', 'uint'],
      ['segment', 'uint'],
      ['last', 'bool'],
      ['data', 'bytes'],
    ],
  },
  MARK: {
    code: 0x14,
    fields: [
      ['session', 'uint'],
      ['requestId', 'uint'],
    ],
  },
  UNBOUND: { code: 0x15, fields: [['session', 'uint']] },
  PONG: { code: 0x16, fields: [['timestamp', 'uint']] },
  ERROR: {
    code: 0x17,
    fields: [
      ['session', 'uint'],
      ['code', 'uint'],
      ['message', 'text'],
      ['tryAgain', 'bool'],
      ['action', 'action'],
      ['backoffMs', 'uint'],
    ],
  },
} as const satisfies Record<ServerMessage['type'], MessageLayout>;

// ---- compile-time correspondence between the tables and messages.ts ----

type KindType<K> = K extends 'uint'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'path' | 'token' | 'text'
      ? string
      : K extends 'bytes'
        ? Uint8Array
        : K extends 'action'
          ? ErrorAction
          : K extends { readonly list: infer L }
            ? FieldsType<L>[]
            : never;

type FieldsType<L> = L extends readonly (readonly [string, unknown])[] ? { [F in L[number] as F[0]]: KindType<F[1]> } : never;

/** The message type a layout table describes. */
export type InferMessages<T extends Record<string, MessageLayout>> = {
  [K in keyof T & string]: { type: K } & FieldsType<T[K]['fields']>;
}[keyof T & string];

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Flatten<T> = T extends unknown ? { [K in keyof T]: T[K] extends unknown[] ? { [J in keyof T[K][number]]: T[K][number][J] }[] : T[K] } : never;

type MessagesOf<U, T extends string> = Extract<U, { type: T }>;
type CheckEach<T extends Record<string, MessageLayout>, U extends { type: string }> = {
  [K in keyof T & string]: Exact<Flatten<MessagesOf<InferMessages<T>, K>>, Flatten<MessagesOf<U, K>>>;
};
type AllTrue<R> = R[keyof R] extends true ? true : false;

/** Fails to compile when a table and the interfaces in messages.ts disagree. */
const clientTablesMatchTypes: AllTrue<CheckEach<typeof CLIENT_MESSAGES, ClientMessage>> = true;
const serverTablesMatchTypes: AllTrue<CheckEach<typeof SERVER_MESSAGES, ServerMessage>> = true;
void clientTablesMatchTypes;
void serverTablesMatchTypes;

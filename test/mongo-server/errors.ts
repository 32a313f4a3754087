/**
 * The server's error family: every failed command becomes a reply `{ ok: 0, errmsg, code, codeName }`
 * (plus `errorLabels` when any apply). Codes and names are MongoDB's own (src/mongo/base/error_codes.yml);
 * numbered assertions without a name are reported as `Location<code>`, as mongod does.
 */
import type { Document } from 'mongodb';

export const ErrorCode = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  IllegalOperation: 20,
  LockTimeout: 24,
  NamespaceNotFound: 26,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NoMatchingDocument: 47,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  InvalidIdField: 53,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  NoReplicationEnabled: 76,
  IndexNotFound: 27,
  ShutdownInProgress: 91,
  WriteConflict: 112,
  ConflictingOperationInProgress: 117,
  CommandNotSupported: 115,
  PrimarySteppedDown: 189,
  TransactionTooOld: 225,
  NotImplemented: 238,
  SnapshotTooOld: 239,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  InvalidResumeToken: 260,
  ExceededTimeLimit: 262,
  OperationNotSupportedInTransaction: 263,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
  UnsupportedOpQueryCommand: 352,
  DuplicateKey: 11000,
  NotWritablePrimary: 10107,
  InterruptedAtShutdown: 11600,
  Interrupted: 11601,
  InterruptedDueToReplStateChange: 11602,
  NotPrimaryNoSecondaryOk: 13435,
  NotPrimaryOrSecondary: 13436,
  HostUnreachable: 6,
  HostNotFound: 7,
  NetworkTimeout: 89,
  SocketException: 9001,
  /** "The $changeStream stage is only supported on replica sets". */
  ChangeStreamNotOnStandalone: 40573,
  /** "OP_MSG requests require a $db argument". */
  MissingDbArgument: 40571,
  /** "$changeStream is only valid as the first stage in a pipeline". */
  ChangeStreamNotFirst: 40602,
  /** "Unrecognized pipeline stage name". */
  UnrecognizedStage: 40324,
  /** "BSON field '...' is an unknown field." */
  UnknownField: 40415,
} as const;

export type ErrorName = keyof typeof ErrorCode;

const NAMED = new Map<number, string>();
for (const [name, code] of Object.entries(ErrorCode)) {
  // Numbered assertions keep mongod's generated name; only real named codes map to their name.
  if (code < 40000 || code === 11000) NAMED.set(code, name);
}

/** mongod's codeName for a code: the enum name, or `Location<code>` for numbered assertions. */
export function codeNameOf(code: number): string {
  return NAMED.get(code) ?? `Location${code}`;
}

/** A command failure, turned into an `ok: 0` reply by the dispatcher. */
export class MongoCommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Labels the server adds regardless of context (e.g. NonResumableChangeStreamError). */
  readonly labels: string[];
  /** Extra reply fields (e.g. `writeConcernError`, `keyValue`). */
  readonly extra: Document | undefined;

  constructor(code: number, message: string, options: { labels?: string[]; extra?: Document; codeName?: string } = {}) {
    super(message);
    this.code = code;
    this.codeName = options.codeName ?? codeNameOf(code);
    this.labels = options.labels ?? [];
    this.extra = options.extra;
  }
}

/** Shorthand: `fail('BadValue', 'unknown operator: $foo')`. */
export function fail(name: ErrorName, message: string, options?: { labels?: string[]; extra?: Document }): never {
  throw new MongoCommandError(ErrorCode[name], message, options);
}

/**
 * Codes a driver may retry (retryable reads, retryable writes): MongoDB adds `RetryableWriteError`
 * to these on retryable writes and on commitTransaction/abortTransaction.
 */
export const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  ErrorCode.HostUnreachable,
  ErrorCode.HostNotFound,
  ErrorCode.NetworkTimeout,
  ErrorCode.ShutdownInProgress,
  ErrorCode.PrimarySteppedDown,
  ErrorCode.ExceededTimeLimit,
  ErrorCode.SocketException,
  ErrorCode.NotWritablePrimary,
  ErrorCode.InterruptedAtShutdown,
  ErrorCode.InterruptedDueToReplStateChange,
  ErrorCode.NotPrimaryNoSecondaryOk,
  ErrorCode.NotPrimaryOrSecondary,
  134, // ReadConcernMajorityNotAvailableYet
]);

/** Codes after which a change stream may resume (the server labels them ResumableChangeStreamError on getMore). */
export const RESUMABLE_CHANGE_STREAM_CODES: ReadonlySet<number> = new Set([
  ...RETRYABLE_CODES,
  63, // StaleShardVersion
  150, // StaleEpoch
  13388, // StaleConfig
  234, // RetryChangeStream
  133, // FailedToSatisfyReadPreference
]);

/** Codes that make a transaction's statement worth retrying as a whole transaction. */
export const TRANSIENT_TRANSACTION_CODES: ReadonlySet<number> = new Set([
  ...RETRYABLE_CODES,
  ErrorCode.NoSuchTransaction,
  ErrorCode.WriteConflict,
  ErrorCode.LockTimeout,
]);

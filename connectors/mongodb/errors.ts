import { MongoError, MongoNetworkError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { errorClassifier, type ApplyFailureKind, type Classification } from '../kit/errors';

export { connectorError, type ApplyFailureKind, type Classification } from '../kit/errors';

/**
 * MongoDB's error codes for the kit's classification (connectors/kit/errors.ts): by the server's
 * numeric `code` and the driver's error labels and classes, never by message text.
 */

/** Codes (mongod `error_codes.yml`) a retry can fix: the node is unreachable, stepping down, shutting down, or a transaction met a conflict. */
export const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  24, // LockTimeout
  43, // CursorNotFound (the server restarted under a cursor)
  46, // LockBusy
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  117, // ConflictingOperationInProgress
  133, // FailedToSatisfyReadPreference
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  251, // NoSuchTransaction (aborted by a conflict or a restart)
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** ChangeStreamHistoryLost: the resume point fell out of the oplog (capture resyncs, load.ts). */
export const HISTORY_LOST = 286;
/** The `$changeStream` stage on a standalone server. */
export const CHANGE_STREAM_STANDALONE = 40573;
/** IllegalOperation: transactions (and retryable writes) on a standalone server. */
export const ILLEGAL_OPERATION = 20;

/** Codes where MongoDB refused a value: bad values, types, paths, documents too large, validation. */
const REFUSED_CODES = new Set([2, 9, 14, 17, 28, 52, 55, 56, 57, 66, 121, 10334, 17419, 16837]);
/** Codes where the deployment cannot take the writes: privileges, a missing or read-only namespace, a standalone server. */
const CONFIGURATION_CODES = new Set([8000, 11, 13, 18, 20, 26, 73, 166]);
/** Labels meaning "run it again". */
const TRANSIENT_LABELS = ['TransientTransactionError', 'RetryableWriteError', 'ResumableChangeStreamError', 'UnknownTransactionCommitResult'];

export const mongoErrors = errorClassifier({
  codeOf(e) {
    if (!(e instanceof MongoError)) return null;
    // Replies read with promoteValues: false (the change stream's) carry the code as an Int32.
    const raw = (e as { code?: unknown }).code;
    const code = typeof raw === 'object' && raw !== null ? (raw as { valueOf(): unknown }).valueOf() : raw;
    return typeof code === 'number' ? String(code) : null;
  },
  transient: (code, e) => TRANSIENT_CODES.has(Number(code)) || TRANSIENT_LABELS.some((l) => (e as MongoError).hasErrorLabel?.(l)),
  applyKind(code): ApplyFailureKind | null {
    const n = Number(code);
    if (n === 11000) return 'race'; // a document inserted concurrently under the same _id
    if (REFUSED_CODES.has(n)) return 'refused';
    if (CONFIGURATION_CODES.has(n)) return 'configuration';
    return null;
  },
  // The driver reports a lost or unreachable server by its error classes (no server code).
  lostConnection: (e) => e instanceof MongoNetworkError || e instanceof MongoServerSelectionError || e instanceof MongoTopologyClosedError || (e instanceof MongoError && TRANSIENT_LABELS.some((l) => e.hasErrorLabel(l))),
});

export function classify(e: unknown): Classification {
  return mongoErrors.classify(e);
}

export function fromDriverError(e: unknown, doing: string) {
  return mongoErrors.fromDriverError(e, doing);
}

/** The server's numeric code of an error (or of its cause), or null. */
export function mongoCode(e: unknown): number | null {
  const c = mongoErrors.driverCode(e);
  return c === null ? null : Number(c);
}

/**
 * The error labels mongod attaches to a failed command, by context:
 * - in a transaction (not commit/abort): TransientTransactionError for transient codes
 *   (WriteConflict, NoSuchTransaction, LockTimeout, and the not-primary/shutdown/network family);
 * - commitTransaction: RetryableWriteError + UnknownTransactionCommitResult for retryable codes,
 *   UnknownTransactionCommitResult for MaxTimeMSExpired, TransientTransactionError for
 *   NoSuchTransaction; abortTransaction: RetryableWriteError for retryable codes;
 * - a retryable write (txnNumber without autocommit): RetryableWriteError for retryable codes;
 * - getMore on a change stream: ResumableChangeStreamError for resumable codes.
 * A `failCommand` fail point's `errorLabels` replace all of these (as mongod's does).
 */
import { ErrorCode, RESUMABLE_CHANGE_STREAM_CODES, RETRYABLE_CODES, TRANSIENT_TRANSACTION_CODES } from './errors';

export interface LabelContext {
  command: string;
  inTransaction: boolean;
  retryableWrite: boolean;
  changeStreamGetMore: boolean;
}

export function errorLabelsFor(code: number, context: LabelContext, own: readonly string[] = []): string[] {
  const labels = new Set(own);
  if (context.command === 'commitTransaction') {
    if (RETRYABLE_CODES.has(code)) {
      labels.add('RetryableWriteError');
      labels.add('UnknownTransactionCommitResult');
    }
    if (code === ErrorCode.MaxTimeMSExpired) labels.add('UnknownTransactionCommitResult');
    if (code === ErrorCode.NoSuchTransaction) labels.add('TransientTransactionError');
  } else if (context.command === 'abortTransaction') {
    if (RETRYABLE_CODES.has(code)) labels.add('RetryableWriteError');
  } else if (context.inTransaction) {
    if (TRANSIENT_TRANSACTION_CODES.has(code)) labels.add('TransientTransactionError');
  } else if (context.retryableWrite && RETRYABLE_CODES.has(code)) {
    labels.add('RetryableWriteError');
  }
  if (context.changeStreamGetMore && RESUMABLE_CHANGE_STREAM_CODES.has(code)) labels.add('ResumableChangeStreamError');
  return [...labels];
}

/**
 * commitTransaction and abortTransaction (on admin, with the session's lsid, txnNumber and
 * `autocommit: false`). Committing an already committed transaction succeeds again — the driver
 * retries a commit whose outcome it did not learn — and reports the original commit time.
 */
import type { Document } from 'mongodb';
import { ErrorCode, MongoCommandError } from '../errors';
import type { CommandContext } from './context';

export function commitTransactionCommand(ctx: CommandContext): Document {
  const txn = ctx.transaction!;
  if (txn.state === 'inProgress') txn.commit();
  ctx.state.cursors.closeWhere((c) => c.transactionKey === txn.key);
  ctx.operationTime = txn.commitTime;
  return {};
}

export function abortTransactionCommand(ctx: CommandContext): Document {
  const txn = ctx.transaction!;
  if (txn.state === 'committed') {
    throw new MongoCommandError(ErrorCode.TransactionCommitted, `Transaction with { txnNumber: ${txn.number.toString()} } has been committed.`);
  }
  txn.abort('abortTransaction');
  ctx.state.cursors.closeWhere((c) => c.transactionKey === txn.key);
  return {};
}

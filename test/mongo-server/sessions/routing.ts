/**
 * Which session and transaction a command runs in, from its `lsid`, `txnNumber`, `autocommit` and
 * `startTransaction` fields — with mongod's rules and errors: txnNumbers only grow per session
 * (TransactionTooOld), a transaction's later statements must name an open transaction
 * (NoSuchTransaction, "has been aborted"/"has been committed"), only the first statement may carry
 * a readConcern, and none may carry a writeConcern.
 */
import { Long } from 'mongodb';
import type { Document } from 'mongodb';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import type { CommandSpec } from '../commands/registry';
import type { ServerState } from '../server-state';
import type { ServerSession } from './session-registry';
import type { Transaction } from './transaction';

export interface Routing {
  session: ServerSession | undefined;
  transaction: Transaction | undefined;
  retryableWrite: Long | undefined;
}

export function routeCommand(state: ServerState, name: string, spec: CommandSpec, command: Document): Routing {
  const hasTxnNumber = command.txnNumber !== undefined;
  const lsid = command.lsid;
  if (lsid === undefined) {
    if (hasTxnNumber) fail('InvalidOptions', 'Transaction number requires a session ID to also be specified');
    return { session: undefined, transaction: undefined, retryableWrite: undefined };
  }
  const session = state.sessions.resolve(lsid);
  if (typeof session === 'string') fail('BadValue', session);
  if (!hasTxnNumber) {
    if (command.autocommit !== undefined || command.startTransaction !== undefined) {
      fail('InvalidOptions', 'txnNumber is required when autocommit or startTransaction is given');
    }
    if (spec.endsTransaction) fail('InvalidOptions', `${name} must be run within a transaction`);
    return { session, transaction: undefined, retryableWrite: undefined };
  }
  if (!state.isReplicaSet) fail('IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
  const txnNumber = command.txnNumber instanceof Long ? command.txnNumber : Long.fromNumber(Number(command.txnNumber));
  if (command.autocommit === undefined) {
    if (!spec.retryableWrite) {
      throw new MongoCommandError(50768, `txnNumber may only be provided for multi-document transactions and retryable write commands. autocommit:false was not provided, and ${name} is not a retryable write command.`);
    }
    if (session.txnNumber && txnNumber.lessThan(session.txnNumber)) {
      throw new MongoCommandError(ErrorCode.TransactionTooOld, `Retryable write with txnNumber ${txnNumber.toString()} is prohibited on session ${session.key} because a newer retryable write with txnNumber ${session.txnNumber.toString()} has already started on this session.`);
    }
    if (session.transaction && session.transaction.number.equals(txnNumber)) {
      fail('IllegalOperation', `Retryable write with txnNumber ${txnNumber.toString()} conflicts with the transaction of the same number on session ${session.key}`);
    }
    return { session, transaction: undefined, retryableWrite: txnNumber };
  }
  if (command.autocommit !== false) fail('InvalidOptions', 'autocommit must be false when specified');
  if (!spec.inTransaction) {
    throw new MongoCommandError(ErrorCode.OperationNotSupportedInTransaction, `Cannot run '${name}' in a multi-document transaction.`);
  }
  if (command.writeConcern !== undefined && !spec.endsTransaction) {
    fail('InvalidOptions', 'Cannot set write concern after starting a transaction.');
  }
  if (command.startTransaction !== undefined) {
    if (command.startTransaction !== true) fail('InvalidOptions', 'startTransaction must be true when specified');
    if (session.txnNumber && txnNumber.lessThan(session.txnNumber)) {
      throw new MongoCommandError(ErrorCode.TransactionTooOld, `Cannot start transaction ${txnNumber.toString()} on session ${session.key} because a newer transaction ${session.txnNumber.toString()} has already started.`);
    }
    if (session.txnNumber && txnNumber.equals(session.txnNumber)) {
      throw new MongoCommandError(ErrorCode.ConflictingOperationInProgress, `Cannot start a transaction at given transaction number ${txnNumber.toString()} a transaction with the same number is ${session.transaction?.state ?? 'in progress'}`);
    }
    if (command.readConcern !== undefined) checkTransactionReadConcern(command.readConcern);
    return { session, transaction: state.sessions.startTransaction(session, txnNumber), retryableWrite: undefined };
  }
  const txn = session.transaction;
  if (!txn || !txn.number.equals(txnNumber)) {
    throw new MongoCommandError(
      ErrorCode.NoSuchTransaction,
      `Given transaction number ${txnNumber.toString()} does not match any in-progress transactions. The active transaction number is ${session.txnNumber?.toString() ?? '-1'}`,
    );
  }
  if (command.readConcern !== undefined) fail('InvalidOptions', 'Only the first command in a transaction may specify a readConcern');
  if (txn.state === 'aborted') {
    throw new MongoCommandError(ErrorCode.NoSuchTransaction, `Transaction with { txnNumber: ${txnNumber.toString()} } has been aborted.`);
  }
  if (txn.state === 'committed' && !spec.endsTransaction) {
    throw new MongoCommandError(ErrorCode.TransactionCommitted, `Transaction with { txnNumber: ${txnNumber.toString()} } has been committed.`);
  }
  return { session, transaction: txn, retryableWrite: undefined };
}

function checkTransactionReadConcern(readConcern: unknown): void {
  const level = readConcern !== null && typeof readConcern === 'object' ? (readConcern as Document).level : undefined;
  if (level !== undefined && !['local', 'majority', 'snapshot'].includes(String(level))) {
    fail('InvalidOptions', `The readConcern level must be either 'local' (default), 'majority' or 'snapshot' in order to run in a transaction`);
  }
}

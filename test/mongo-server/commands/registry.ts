/**
 * Every command the server answers, with what the dispatcher needs to know about it: whether it
 * may run inside a transaction, whether it is a retryable write, whether it reads data (and may
 * use `readConcern: snapshot`). Anything not listed is CommandNotFound (59), as in mongod.
 */
import type { Document } from 'mongodb';
import { aggregateCommand } from './aggregate-command';
import {
  collModCommand, createCommand, createIndexesCommand, dropCommand, dropDatabaseCommand, dropIndexesCommand,
  listCollectionsCommand, listDatabasesCommand, listIndexesCommand,
} from './catalog-commands';
import type { CommandContext } from './context';
import { findAndModifyCommand } from './findandmodify';
import { countCommand, distinctCommand, findCommand, getMoreCommand, killCursorsCommand } from './read-commands';
import {
  buildInfoCommand, configureFailPointCommand, connectionStatusCommand, endSessionsCommand, killSessionsCommand, getParameterCommand,
  pingCommand, replSetGetStatusCommand,
} from './server-commands';
import { abortTransactionCommand, commitTransactionCommand } from './transaction-commands';
import { deleteCommand, insertCommand, updateCommand } from './write-commands';

export interface CommandSpec {
  run: (ctx: CommandContext) => Document | Promise<Document>;
  /** May run inside a multi-document transaction. */
  inTransaction?: boolean;
  /** Accepts a txnNumber without autocommit (a retryable write). */
  retryableWrite?: boolean;
  /** Reads collection data (so `readConcern: { level: 'snapshot' }` applies). */
  reads?: boolean;
  /** Must be run on the admin database. */
  adminOnly?: boolean;
  /** commitTransaction / abortTransaction. */
  endsTransaction?: boolean;
}

const HELLO: CommandSpec = { run: () => ({}) }; // answered by the dispatcher, which knows the connection

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['hello', HELLO],
  ['isMaster', HELLO],
  ['ismaster', HELLO],
  ['ping', { run: pingCommand }],
  ['buildInfo', { run: buildInfoCommand }],
  ['buildinfo', { run: buildInfoCommand }],
  ['connectionStatus', { run: connectionStatusCommand }],
  ['replSetGetStatus', { run: replSetGetStatusCommand, adminOnly: true }],
  ['getParameter', { run: getParameterCommand, adminOnly: true }],
  ['endSessions', { run: endSessionsCommand }],
  ['killSessions', { run: killSessionsCommand }],
  ['configureFailPoint', { run: configureFailPointCommand, adminOnly: true }],
  ['find', { run: findCommand, inTransaction: true, reads: true }],
  ['getMore', { run: getMoreCommand, inTransaction: true }],
  ['killCursors', { run: killCursorsCommand, inTransaction: true }],
  ['count', { run: countCommand, reads: true }],
  ['distinct', { run: distinctCommand, inTransaction: true, reads: true }],
  ['aggregate', { run: aggregateCommand, inTransaction: true, reads: true }],
  ['insert', { run: insertCommand, inTransaction: true, retryableWrite: true }],
  ['update', { run: updateCommand, inTransaction: true, retryableWrite: true }],
  ['delete', { run: deleteCommand, inTransaction: true, retryableWrite: true }],
  ['findAndModify', { run: findAndModifyCommand, inTransaction: true, retryableWrite: true }],
  ['findandmodify', { run: findAndModifyCommand, inTransaction: true, retryableWrite: true }],
  ['create', { run: createCommand }],
  ['drop', { run: dropCommand }],
  ['dropDatabase', { run: dropDatabaseCommand }],
  ['collMod', { run: collModCommand }],
  ['listCollections', { run: listCollectionsCommand }],
  ['listDatabases', { run: listDatabasesCommand }],
  ['createIndexes', { run: createIndexesCommand }],
  ['listIndexes', { run: listIndexesCommand }],
  ['dropIndexes', { run: dropIndexesCommand }],
  ['commitTransaction', { run: commitTransactionCommand, inTransaction: true, adminOnly: true, endsTransaction: true }],
  ['abortTransaction', { run: abortTransactionCommand, inTransaction: true, adminOnly: true, endsTransaction: true }],
]);

/**
 * insert, update and delete — the commands the driver sends for insertOne/Many, updateOne/Many,
 * replaceOne, deleteOne/Many and Collection.bulkWrite (one command per run of same-kind operations,
 * the statements in `documents` / `updates` / `deletes`, usually as OP_MSG document sequences).
 * Statement errors (duplicate key, bad update) are reported per statement in `writeErrors` with
 * their index; `ordered: false` carries on after them. Outside a transaction each document write is
 * committed on its own, with its own cluster time and oplog entry.
 */
import type { Document } from 'mongodb';
import { isNumeric, isPlainDocument, toNumber } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import type { DocumentChange } from '../storage/changes';
import { checkCollation, checkWritable, collectionArgument, flag, requiredArray } from './arguments';
import { applyChanges, blockedBy, collectionView, type CommandContext } from './context';
import { matchingDocuments } from './matching';
import { duplicateKeyError, planDocumentUpdate, planUpsert, prepareInsert, validateUpdateSpec } from './write-planning';
import { clockForUpdates, writeReplyFields } from './write-reply';

/** Errors that end the whole command rather than being one statement's writeError. */
const COMMAND_LEVEL = new Set<number>([
  ErrorCode.WriteConflict, ErrorCode.NoSuchTransaction, ErrorCode.MaxTimeMSExpired, ErrorCode.Interrupted,
  ErrorCode.TransactionCommitted, ErrorCode.TransactionTooOld, ErrorCode.NotImplemented,
]);

interface StatementRun {
  n: number;
  writeErrors: Document[];
}

/** Runs statements in order, collecting writeErrors; in a transaction the first error aborts it. */
async function runStatements(ctx: CommandContext, statements: unknown[], ordered: boolean, run: (statement: unknown, index: number) => Promise<number>): Promise<StatementRun> {
  const result: StatementRun = { n: 0, writeErrors: [] };
  for (let index = 0; index < statements.length; index++) {
    try {
      result.n += await run(statements[index], index);
    } catch (error) {
      if (!(error instanceof MongoCommandError) || COMMAND_LEVEL.has(error.code)) throw error;
      result.writeErrors.push({ index, code: error.code, ...(error.extra ?? {}), errmsg: error.message });
      if (ctx.transaction) {
        ctx.transaction.abort(`a write in it failed: ${error.message}`);
        break;
      }
      if (ordered) break;
    }
  }
  return result;
}

/** Waits until no open transaction holds `keys` (or fails with WriteConflict inside a transaction). */
async function untilWritable(ctx: CommandContext, db: string, coll: string, keys: string[]): Promise<boolean> {
  const wait = blockedBy(ctx, db, coll, keys);
  if (!wait) return true;
  await wait;
  return false;
}

export async function insertCommand(ctx: CommandContext): Promise<Document> {
  const coll = collectionArgument(ctx.command, 'insert', ctx.db);
  checkWritable(ctx.db, coll);
  const documents = requiredArray(ctx.command, 'documents', 'insert');
  const ordered = flag(ctx.command, 'ordered', true);
  const result = await runStatements(ctx, documents, ordered, async (statement) => {
    const { doc, key } = prepareInsert(statement);
    for (;;) {
      if (!(await untilWritable(ctx, ctx.db, coll, [key]))) continue;
      if (collectionView(ctx, ctx.db, coll).get(key)) throw duplicateKeyError(ctx.db, coll, doc._id);
      applyChanges(ctx, [{ kind: 'insert', db: ctx.db, coll, key, after: doc }]);
      return 1;
    }
  });
  return { n: result.n, ...(result.writeErrors.length ? { writeErrors: result.writeErrors } : {}), ...writeReplyFields(ctx) };
}

export async function updateCommand(ctx: CommandContext): Promise<Document> {
  const coll = collectionArgument(ctx.command, 'update', ctx.db);
  checkWritable(ctx.db, coll);
  const updates = requiredArray(ctx.command, 'updates', 'update');
  const ordered = flag(ctx.command, 'ordered', true);
  let nModified = 0;
  const upserted: Document[] = [];
  const result = await runStatements(ctx, updates, ordered, async (statement, index) => {
    if (!isPlainDocument(statement)) fail('TypeMismatch', `update statements must be objects`);
    checkCollation(statement);
    if (Array.isArray(statement.arrayFilters) && statement.arrayFilters.length > 0) {
      fail('NotImplemented', `arrayFilters are not implemented by the test server`);
    }
    const multi = flag(statement, 'multi', false);
    const upsert = flag(statement, 'upsert', false);
    const query = (statement.q ?? {}) as Document;
    if (!isPlainDocument(query)) fail('TypeMismatch', `BSON field 'update.updates.q' is the wrong type, expected type 'object'`);
    const u = validateUpdateSpec(statement.u, multi);
    const options = clockForUpdates(ctx);
    for (;;) {
      const view = collectionView(ctx, ctx.db, coll);
      const targets = matchingDocuments(view, query, multi ? 0 : 1);
      const changes: DocumentChange[] = [];
      let upsertedId: unknown;
      for (const [key, before] of targets) {
        const change = planDocumentUpdate(ctx.db, coll, key, before, u, options);
        if (change) changes.push(change);
      }
      if (targets.length === 0 && upsert) {
        const planned = planUpsert(ctx.db, coll, view, query, u, options);
        changes.push(planned.change);
        upsertedId = planned.id;
      }
      if (!(await untilWritable(ctx, ctx.db, coll, changes.map((c) => c.key)))) continue;
      applyChanges(ctx, changes);
      if (upsertedId !== undefined) {
        upserted.push({ index, _id: upsertedId });
        return 1;
      }
      nModified += changes.length;
      return targets.length;
    }
  });
  return {
    n: result.n,
    ...(upserted.length ? { upserted } : {}),
    nModified,
    ...(result.writeErrors.length ? { writeErrors: result.writeErrors } : {}),
    ...writeReplyFields(ctx),
  };
}

export async function deleteCommand(ctx: CommandContext): Promise<Document> {
  const coll = collectionArgument(ctx.command, 'delete', ctx.db);
  checkWritable(ctx.db, coll);
  const deletes = requiredArray(ctx.command, 'deletes', 'delete');
  const ordered = flag(ctx.command, 'ordered', true);
  const result = await runStatements(ctx, deletes, ordered, async (statement) => {
    if (!isPlainDocument(statement)) fail('TypeMismatch', `delete statements must be objects`);
    checkCollation(statement);
    const limit = isNumeric(statement.limit) ? toNumber(statement.limit) : Number.NaN;
    if (limit !== 0 && limit !== 1) fail('FailedToParse', `The limit field in delete objects must be 0 or 1. Got ${String(statement.limit)}`);
    const query = (statement.q ?? {}) as Document;
    if (!isPlainDocument(query)) fail('TypeMismatch', `BSON field 'delete.deletes.q' is the wrong type, expected type 'object'`);
    for (;;) {
      const targets = matchingDocuments(collectionView(ctx, ctx.db, coll), query, limit);
      if (!(await untilWritable(ctx, ctx.db, coll, targets.map(([key]) => key)))) continue;
      applyChanges(ctx, targets.map(([key, before]) => ({ kind: 'delete' as const, db: ctx.db, coll, key, before })));
      return targets.length;
    }
  });
  return { n: result.n, ...(result.writeErrors.length ? { writeErrors: result.writeErrors } : {}), ...writeReplyFields(ctx) };
}

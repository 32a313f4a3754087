/**
 * find, getMore, killCursors, count and distinct. A find evaluates its filter, sort, skip and limit
 * when it runs; the cursor then hands out that result in batches (so every batch of one cursor
 * reflects the same point in time).
 */
import { Long } from 'mongodb';
import type { Document } from 'mongodb';
import { isPlainDocument, valuesEqual } from '../bson-values';
import { toTimestamp } from '../cluster-clock';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import { collectPath, splitPath } from '../paths';
import { compileProjection } from '../projection';
import { parseSort, sortDocuments } from '../sort';
import { checkCollation, collectionArgument, flag, nonNegative, optionalDocument, requiredArray } from './arguments';
import { collectionView, type CommandContext } from './context';
import { cursorReply, DEFAULT_FIRST_BATCH, takeBatch } from './cursor-replies';
import { matchingDocuments } from './matching';
import { changeStreamGetMore } from './change-stream-commands';

export function findCommand(ctx: CommandContext): Document {
  const coll = collectionArgument(ctx.command, 'find', ctx.db);
  const filter = optionalDocument(ctx.command, 'filter');
  const sort = parseSort(optionalDocument(ctx.command, 'sort'));
  const project = compileProjection(optionalDocument(ctx.command, 'projection'));
  const skip = nonNegative(ctx.command, 'skip', 0);
  const limit = nonNegative(ctx.command, 'limit', 0);
  const batchSize = nonNegative(ctx.command, 'batchSize', DEFAULT_FIRST_BATCH);
  const singleBatch = flag(ctx.command, 'singleBatch', false);
  checkCollation(ctx.command);
  if (flag(ctx.command, 'tailable', false)) fail('BadValue', `error processing query: ns=${ctx.db}.${coll} tailable cursor requested on non capped collection`);
  if (ctx.command.min !== undefined || ctx.command.max !== undefined) fail('NotImplemented', `min/max are not implemented by the test server`);
  // Without a sort, scanning can stop as soon as skip + limit documents matched.
  const early = sort.length === 0 && limit > 0 ? skip + limit : 0;
  let docs = matchingDocuments(collectionView(ctx, ctx.db, coll), filter, early).map(([, doc]) => doc);
  sortDocuments(docs, sort);
  if (skip > 0 || limit > 0) docs = docs.slice(skip, limit > 0 ? skip + limit : undefined);
  const ns = `${ctx.db}.${coll}`;
  const firstSize = limit > 0 && (batchSize === 0 || limit < batchSize) ? limit : batchSize;
  const [batch, offset] = takeBatch(docs, 0, firstSize, project);
  let id: Long | undefined;
  if (offset < docs.length && !singleBatch) {
    const remaining = docs.slice(offset).map(project);
    id = openDocumentCursor(ctx, ns, remaining).id;
  }
  return cursorReply(ctx, 'firstBatch', batch, id, ns);
}

export function openDocumentCursor(ctx: CommandContext, ns: string, documents: Document[]): { id: Long } {
  return ctx.state.cursors.open({
    ns,
    source: { kind: 'documents', documents, offset: 0 },
    sessionId: ctx.session?.key,
    transactionKey: ctx.transaction?.key,
  });
}

export async function getMoreCommand(ctx: CommandContext): Promise<Document> {
  const id = ctx.command.getMore;
  if (!(id instanceof Long)) {
    throw new MongoCommandError(ErrorCode.TypeMismatch, `BSON field 'getMore.getMore' is the wrong type '${typeof id}', expected type 'long'`);
  }
  // Database-level cursors (aggregate: 1) are named '$cmd.aggregate', which no collection may be.
  const coll = ctx.command.collection === '$cmd.aggregate' ? '$cmd.aggregate' : collectionArgument(ctx.command, 'collection', ctx.db);
  const batchSize = nonNegative(ctx.command, 'batchSize', 0);
  const cursor = ctx.state.cursors.get(id);
  if (!cursor) throw new MongoCommandError(ErrorCode.CursorNotFound, `cursor id ${id.toString()} not found`);
  const ns = `${ctx.db}.${coll}`;
  if (cursor.ns !== ns) {
    throw new MongoCommandError(ErrorCode.Unauthorized, `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
  }
  if (cursor.sessionId !== ctx.session?.key) {
    throw new MongoCommandError(50737, `Cannot run getMore on cursor ${id.toString()}, which was created in session ${cursor.sessionId ?? '(none)'}, in session ${ctx.session?.key ?? '(none)'}`);
  }
  if (cursor.busy) throw new MongoCommandError(ErrorCode.ConflictingOperationInProgress, `cursor id ${id.toString()} is already in use`);
  cursor.lastUsed = Date.now();
  if (cursor.source.kind === 'changeStream') return changeStreamGetMore(ctx, cursor, batchSize);
  const source = cursor.source;
  const [batch, offset] = takeBatch(source.documents, source.offset, batchSize);
  source.offset = offset;
  const exhausted = offset >= source.documents.length;
  if (exhausted) ctx.state.cursors.close(id);
  return cursorReply(ctx, 'nextBatch', batch, exhausted ? undefined : id, ns);
}

export function killCursorsCommand(ctx: CommandContext): Document {
  collectionArgument(ctx.command, 'killCursors', ctx.db);
  const ids = requiredArray(ctx.command, 'cursors', 'killCursors');
  const cursorsKilled: Long[] = [];
  const cursorsNotFound: Long[] = [];
  for (const id of ids) {
    if (!(id instanceof Long)) fail('TypeMismatch', `BSON field 'killCursors.cursors' must hold longs`);
    (ctx.state.cursors.close(id) ? cursorsKilled : cursorsNotFound).push(id);
  }
  return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [] };
}

export function countCommand(ctx: CommandContext): Document {
  const coll = collectionArgument(ctx.command, 'count', ctx.db);
  const query = optionalDocument(ctx.command, 'query');
  const skip = nonNegative(ctx.command, 'skip', 0);
  const limit = nonNegative(ctx.command, 'limit', 0);
  checkCollation(ctx.command);
  const view = collectionView(ctx, ctx.db, coll);
  let n = query && Object.keys(query).length > 0 ? matchingDocuments(view, query).length : ctx.state.engine.catalog.get(ctx.db, coll) && !ctx.transaction && ctx.readAt === undefined ? ctx.state.engine.catalog.get(ctx.db, coll)!.count : [...view.scan()].length;
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n };
}

export function distinctCommand(ctx: CommandContext): Document {
  const coll = collectionArgument(ctx.command, 'distinct', ctx.db);
  const key = ctx.command.key;
  if (typeof key !== 'string') fail('TypeMismatch', `BSON field 'distinct.key' is missing or not a string`);
  checkCollation(ctx.command);
  const values: unknown[] = [];
  const parts = splitPath(key);
  for (const [, doc] of matchingDocuments(collectionView(ctx, ctx.db, coll), optionalDocument(ctx.command, 'query'))) {
    for (const v of collectPath(doc, parts)) {
      for (const item of Array.isArray(v) ? v : [v]) {
        if (item === undefined) continue;
        if (!values.some((seen) => valuesEqual(seen, item) && isPlainDocument(seen) === isPlainDocument(item))) values.push(item);
      }
    }
  }
  const reply: Document = { values };
  if (ctx.readAt !== undefined) reply.atClusterTime = toTimestamp(ctx.readAt);
  return reply;
}

/**
 * `aggregate`: a `$changeStream` pipeline opens a change stream (change-stream-commands.ts); any
 * other pipeline runs over the collection (aggregation.ts) and returns a cursor. `cursor` is
 * required, as in mongod; `explain` is not implemented.
 */
import type { Document } from 'mongodb';
import { isPlainDocument } from '../bson-values';
import { fail } from '../errors';
import { compilePipeline, runPipeline } from '../aggregation';
import { checkCollation, collectionArgument, nonNegative, requiredArray } from './arguments';
import { openChangeStream } from './change-stream-commands';
import { collectionView, type CommandContext } from './context';
import { cursorReply, DEFAULT_FIRST_BATCH, takeBatch } from './cursor-replies';
import { matchingDocuments } from './matching';
import { openDocumentCursor } from './read-commands';

export function aggregateCommand(ctx: CommandContext): Document {
  const target = ctx.command.aggregate;
  const coll = typeof target === 'string' ? collectionArgument(ctx.command, 'aggregate', ctx.db) : undefined;
  if (coll === undefined && !(typeof target === 'object' || typeof target === 'number') ) {
    fail('InvalidNamespace', `Invalid collection name: ${String(target)}`);
  }
  const pipeline = requiredArray(ctx.command, 'pipeline', 'aggregate') as Document[];
  if (ctx.command.explain) fail('NotImplemented', `explain is not implemented by the test server`);
  if (!isPlainDocument(ctx.command.cursor)) {
    fail('FailedToParse', `The 'cursor' option is required, except for aggregate with the explain argument`);
  }
  checkCollation(ctx.command);
  const batchSize = ctx.command.cursor.batchSize === undefined ? undefined : nonNegative(ctx.command.cursor as Document, 'batchSize', DEFAULT_FIRST_BATCH);
  const first = pipeline[0];
  if (isPlainDocument(first) && '$changeStream' in first) return openChangeStream(ctx, coll, pipeline, batchSize);
  if (coll === undefined) fail('NotImplemented', `database-level aggregation (aggregate: 1) is implemented only for $changeStream by the test server`);
  const stages = compilePipeline(pipeline);
  // A leading $match goes through the _id lookup path like find does.
  const view = collectionView(ctx, ctx.db, coll);
  const leadingMatch = isPlainDocument(first) && '$match' in first ? (first.$match as Document) : undefined;
  const input = leadingMatch ? matchingDocuments(view, leadingMatch).map(([, d]) => d) : [...view.scan()].map(([, d]) => d);
  const docs = runPipeline(leadingMatch ? stages.slice(1) : stages, input);
  const ns = `${ctx.db}.${coll}`;
  const [batch, offset] = takeBatch(docs, 0, batchSize ?? DEFAULT_FIRST_BATCH);
  const id = offset < docs.length ? openDocumentCursor(ctx, ns, docs.slice(offset)).id : undefined;
  return cursorReply(ctx, 'firstBatch', batch, id, ns);
}

/**
 * Change streams over the wire: `aggregate` with a leading `$changeStream` stage opens one (on a
 * collection, on a database with `aggregate: 1`, or on the deployment with `allChangesForCluster`
 * on admin); `getMore` tails it. A getMore waits up to its `maxTimeMS` (1 s when absent, mongod's
 * default for awaitData cursors) for new oplog entries — woken by the commit, not by polling — and
 * returns as soon as there is at least one event. Every reply carries `postBatchResumeToken`.
 */
import type { Document } from 'mongodb';
import { isNumeric, toNumber } from '../bson-values';
import { ErrorCode, MongoCommandError } from '../errors';
import { idKey } from '../id-key';
import { compileEventStages } from '../change-stream/pipeline';
import { parseChangeStreamSpec } from '../change-stream/spec';
import { ChangeStreamReader } from '../change-stream/stream-cursor';
import type { DocumentLookup } from '../change-stream/events';
import type { Cursor } from '../cursors';
import type { ServerState } from '../server-state';
import type { CommandContext } from './context';
import { cursorReply, DEFAULT_FIRST_BATCH } from './cursor-replies';

const DEFAULT_AWAIT_MS = 1000;

function lookupIn(state: ServerState): DocumentLookup {
  return (entry) => {
    const store = entry.coll === undefined ? undefined : state.engine.catalog.get(entry.db, entry.coll);
    if (!store || !entry.uuid || !store.uuid.equals(entry.uuid) || !entry.documentKey) return null;
    return store.get(idKey(entry.documentKey._id)) ?? null;
  };
}

export function openChangeStream(ctx: CommandContext, coll: string | undefined, pipeline: Document[], batchSize: number | undefined): Document {
  if (!ctx.state.isReplicaSet) {
    throw new MongoCommandError(ErrorCode.ChangeStreamNotOnStandalone, 'The $changeStream stage is only supported on replica sets');
  }
  if (ctx.transaction) {
    throw new MongoCommandError(ErrorCode.OperationNotSupportedInTransaction, `Operation not permitted in transaction :: caused by :: $changeStream is not allowed in a transaction`);
  }
  const spec = parseChangeStreamSpec(pipeline[0]!.$changeStream, ctx.db, coll);
  const stages = compileEventStages(pipeline.slice(1));
  const reader = new ChangeStreamReader(ctx.state.engine, spec, stages, lookupIn(ctx.state));
  const batch = reader.read(batchSize ?? DEFAULT_FIRST_BATCH, 'aggregate');
  const ns = coll === undefined ? `${ctx.db}.$cmd.aggregate` : `${ctx.db}.${coll}`;
  const cursor = batch.exhausted
    ? undefined
    : ctx.state.cursors.open({ ns, source: { kind: 'changeStream', reader }, sessionId: ctx.session?.key, transactionKey: undefined });
  return cursorReply(ctx, 'firstBatch', batch.events, cursor?.id, ns, { postBatchResumeToken: batch.postBatchResumeToken });
}

export async function changeStreamGetMore(ctx: CommandContext, cursor: Cursor, batchSize: number): Promise<Document> {
  if (cursor.source.kind !== 'changeStream') throw new Error('not a change stream cursor');
  const reader = cursor.source.reader;
  const awaitMs = isNumeric(ctx.command.maxTimeMS) ? toNumber(ctx.command.maxTimeMS) : DEFAULT_AWAIT_MS;
  const deadline = Date.now() + awaitMs;
  cursor.busy = true;
  try {
    for (;;) {
      if (ctx.state.cursors.get(cursor.id) !== cursor) {
        throw new MongoCommandError(237, `cursor id ${cursor.id.toString()} was killed while a getMore waited on it`, { codeName: 'CursorKilled' });
      }
      let batch;
      try {
        batch = reader.read(batchSize === 0 ? Number.MAX_SAFE_INTEGER : batchSize, 'getMore');
      } catch (error) {
        ctx.state.cursors.close(cursor.id);
        throw error;
      }
      if (batch.events.length > 0 || batch.exhausted || Date.now() >= deadline || ctx.signal.aborted) {
        if (batch.exhausted) ctx.state.cursors.close(cursor.id);
        cursor.lastUsed = Date.now();
        return cursorReply(ctx, 'nextBatch', batch.events, batch.exhausted ? undefined : cursor.id, cursor.ns, {
          postBatchResumeToken: batch.postBatchResumeToken,
        });
      }
      await ctx.state.engine.oplog.waitForAppend(deadline, ctx.signal);
    }
  } finally {
    cursor.busy = false;
  }
}

/**
 * Cursor replies: `{ cursor: { firstBatch | nextBatch, id, ns[, postBatchResumeToken][, atClusterTime] } }`.
 * Batches hold at most `batchSize` documents and 16 MiB (a first batch defaults to 101 documents,
 * later ones to as many as fit), as mongod's do.
 */
import { BSON, Long } from 'mongodb';
import type { Document } from 'mongodb';
import { toTimestamp } from '../cluster-clock';
import type { Projector } from '../projection';
import type { CommandContext } from './context';

export const DEFAULT_FIRST_BATCH = 101;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** Takes the next batch from `documents` starting at `offset`; returns the batch and the new offset. */
export function takeBatch(documents: Document[], offset: number, batchSize: number, project?: Projector): [Document[], number] {
  const batch: Document[] = [];
  let bytes = 0;
  let i = offset;
  while (i < documents.length && (batchSize === 0 || batch.length < batchSize)) {
    const doc = project ? project(documents[i]!) : documents[i]!;
    const size = BSON.calculateObjectSize(doc);
    if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
    bytes += size;
    batch.push(doc);
    i++;
  }
  return [batch, i];
}

export function cursorReply(
  ctx: CommandContext,
  field: 'firstBatch' | 'nextBatch',
  batch: Document[],
  id: Long | undefined,
  ns: string,
  extra: Document = {},
): Document {
  const cursor: Document = { [field]: batch, id: id ?? Long.ZERO, ns, ...extra };
  if (ctx.readAt !== undefined && field === 'firstBatch') cursor.atClusterTime = toTimestamp(ctx.readAt);
  return { cursor };
}

/**
 * A change stream's position in the oplog and the batches read from it. Each batch ends with a
 * `postBatchResumeToken`: the last returned event's token when the batch was cut short by its size,
 * otherwise a high-water mark at the latest cluster time (so a stream that saw nothing still moves
 * its resume point forward). Falling behind the oplog window — before or while reading — is
 * ChangeStreamHistoryLost (286), labelled NonResumableChangeStreamError, with mongod's text.
 */
import { BSON } from 'mongodb';
import type { Document } from 'mongodb';
import { ErrorCode, MongoCommandError } from '../errors';
import { encodeToken, highWaterMark, type StreamPosition } from '../resume-token';
import type { StorageEngine } from '../storage/engine';
import { applyEventStages, type EventStage } from './pipeline';
import { eventsOf, type DocumentLookup } from './events';
import type { ChangeStreamSpec } from './spec';

/** A reply may not exceed 16 MiB of documents per batch (mongod's limit). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export const HISTORY_LOST_MESSAGE = 'Resume of change stream was not possible, as the resume point may no longer be in the oplog.';

export function historyLost(context: 'aggregate' | 'getMore'): MongoCommandError {
  const prefix = context === 'aggregate' ? 'PlanExecutor error during aggregation :: caused by :: ' : 'Executor error during getMore :: caused by :: ';
  return new MongoCommandError(ErrorCode.ChangeStreamHistoryLost, prefix + HISTORY_LOST_MESSAGE, { labels: ['NonResumableChangeStreamError'] });
}

export interface StreamBatch {
  events: Document[];
  postBatchResumeToken: Document;
  /** The stream ended (an invalidate was returned): the cursor must be closed. */
  exhausted: boolean;
}

export class ChangeStreamReader {
  private after: StreamPosition;
  private invalidated = false;

  constructor(
    private readonly engine: StorageEngine,
    private readonly spec: ChangeStreamSpec,
    private readonly stages: readonly EventStage[],
    private readonly lookup: DocumentLookup,
  ) {
    this.after = spec.after ?? highWaterMark(engine.clock.current);
  }

  /** Events after the current position, at most `limit` of them (and 16 MiB). */
  read(limit: number, context: 'aggregate' | 'getMore'): StreamBatch {
    const oplog = this.engine.oplog;
    if (oplog.lostThrough > this.after) throw historyLost(context);
    const events: Document[] = [];
    let bytes = 0;
    let index = oplog.seek(this.after);
    let cut = false;
    scan: for (; index < oplog.end; index++) {
      const entry = oplog.at(index)!;
      for (const event of eventsOf(entry, this.spec, this.lookup)) {
        if (event.position <= this.after) continue;
        if (events.length >= limit) {
          cut = true;
          break scan;
        }
        const doc = applyEventStages(event.build(), this.stages);
        if (doc) {
          const size = BSON.calculateObjectSize(doc);
          if (events.length > 0 && bytes + size > MAX_BATCH_BYTES) {
            cut = true;
            break scan;
          }
          bytes += size;
          events.push(doc);
        }
        this.after = event.position;
        if (event.invalidates) {
          this.invalidated = true;
          break scan;
        }
      }
    }
    if (!cut && !this.invalidated) {
      const mark = highWaterMark(this.engine.clock.current);
      if (mark > this.after) this.after = mark;
    }
    return { events, postBatchResumeToken: encodeToken(this.after), exhausted: this.invalidated };
  }
}

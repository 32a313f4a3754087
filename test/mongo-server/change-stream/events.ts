/**
 * Oplog entries → change events, as MongoDB documents them: `_id` (the resume token),
 * `operationType`, `clusterTime`, `wallTime`, `ns`, `documentKey`, `fullDocument`,
 * `fullDocumentBeforeChange`, `updateDescription`, and `lsid`/`txnNumber` for writes made in a
 * transaction. A drop yields `drop` and, on a stream over that collection, `invalidate`; a
 * dropDatabase yields `dropDatabase` and, on a stream over that database, `invalidate`.
 */
import type { Document } from 'mongodb';
import { toTimestamp } from '../cluster-clock';
import { ErrorCode, MongoCommandError } from '../errors';
import { encodeToken, SUB_EVENT, SUB_INVALIDATE, type StreamPosition } from '../resume-token';
import { entryPosition, type OplogEntry } from '../storage/oplog';
import { formatDocument } from '../value-format';
import { isInternalDatabase, type ChangeStreamSpec, type WatchScope } from './spec';

export interface StreamEvent {
  position: StreamPosition;
  /** Builds the event document (lazily: skipped events cost nothing). */
  build(): Document;
  invalidates: boolean;
}

/** Looks a document up by namespace, collection UUID and `_id` (for `fullDocument: 'updateLookup'`). */
export type DocumentLookup = (entry: OplogEntry) => Document | null;

function inScope(entry: OplogEntry, scope: WatchScope): boolean {
  switch (scope.kind) {
    case 'collection':
      return entry.db === scope.db && entry.coll === scope.coll;
    case 'database':
      return entry.db === scope.db && !(entry.coll?.startsWith('system.') ?? false);
    case 'cluster':
      return !isInternalDatabase(entry.db) && !(entry.coll?.startsWith('system.') ?? false);
  }
}

export function eventsOf(entry: OplogEntry, spec: ChangeStreamSpec, lookup: DocumentLookup): StreamEvent[] {
  if (!inScope(entry, spec.scope)) return [];
  const events: StreamEvent[] = [{ position: entryPosition(entry, SUB_EVENT), build: () => buildEvent(entry, spec, lookup), invalidates: false }];
  const invalidates =
    (entry.op === 'drop' && spec.scope.kind === 'collection') || (entry.op === 'dropDatabase' && spec.scope.kind === 'database');
  if (invalidates) {
    const p = entryPosition(entry, SUB_INVALIDATE);
    events.push({
      position: p,
      build: () => ({ _id: encodeToken(p), operationType: 'invalidate', clusterTime: toTimestamp(entry.time), wallTime: entry.wall }),
      invalidates: true,
    });
  }
  return events;
}

function buildEvent(entry: OplogEntry, spec: ChangeStreamSpec, lookup: DocumentLookup): Document {
  const event: Document = {
    _id: encodeToken(entryPosition(entry, SUB_EVENT)),
    operationType: entry.op,
    clusterTime: toTimestamp(entry.time),
    wallTime: entry.wall,
  };
  switch (entry.op) {
    case 'insert':
      event.fullDocument = entry.after;
      break;
    case 'replace':
      event.fullDocument = entry.after;
      addPreImage(event, entry, spec);
      break;
    case 'update':
      addPostImage(event, entry, spec, lookup);
      addPreImage(event, entry, spec);
      break;
    case 'delete':
      addPreImage(event, entry, spec);
      break;
    case 'drop':
    case 'dropDatabase':
      break;
  }
  event.ns = entry.coll === undefined ? { db: entry.db } : { db: entry.db, coll: entry.coll };
  if (entry.documentKey) event.documentKey = entry.documentKey;
  if (entry.updateDescription) event.updateDescription = entry.updateDescription;
  if (entry.lsid) {
    event.lsid = entry.lsid;
    event.txnNumber = entry.txnNumber;
  }
  return event;
}

function addPostImage(event: Document, entry: OplogEntry, spec: ChangeStreamSpec, lookup: DocumentLookup): void {
  switch (spec.fullDocument) {
    case 'default':
      return;
    case 'updateLookup':
      event.fullDocument = lookup(entry);
      return;
    case 'whenAvailable':
      event.fullDocument = entry.imagesRecorded ? entry.after : null;
      return;
    case 'required':
      if (!entry.imagesRecorded) throw missingImage('post', entry);
      event.fullDocument = entry.after;
  }
}

function addPreImage(event: Document, entry: OplogEntry, spec: ChangeStreamSpec): void {
  switch (spec.fullDocumentBeforeChange) {
    case 'off':
      return;
    case 'whenAvailable':
      event.fullDocumentBeforeChange = entry.imagesRecorded ? entry.before : null;
      return;
    case 'required':
      if (!entry.imagesRecorded) throw missingImage('pre', entry);
      event.fullDocumentBeforeChange = entry.before;
  }
}

function missingImage(which: 'pre' | 'post', entry: OplogEntry): MongoCommandError {
  const field = which === 'pre' ? 'fullDocumentBeforeChange' : 'fullDocument';
  return new MongoCommandError(
    ErrorCode.NoMatchingDocument,
    `Change stream was configured to require a ${which}-image (${field}: 'required') for all update, delete and replace events, but the ${which}-image was not available for event: ${formatDocument({ ns: `${entry.db}.${entry.coll}`, documentKey: entry.documentKey })}; enable changeStreamPreAndPostImages on the collection`,
  );
}

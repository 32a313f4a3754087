/**
 * The `$changeStream` stage of an aggregate: what it watches (a collection, a database, or the
 * whole deployment with `allChangesForCluster` on `admin`), where it starts (`resumeAfter`,
 * `startAfter`, `startAtOperationTime`, or now) and what its events carry (`fullDocument`,
 * `fullDocumentBeforeChange`). Validated here so the cursor only ever sees a well-formed spec.
 */
import { Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { fromTimestamp } from '../cluster-clock';
import { isPlainDocument, typeName } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import { decodeToken, justBefore, SUB_INVALIDATE, subOf, type StreamPosition } from '../resume-token';

export type WatchScope =
  | { kind: 'collection'; db: string; coll: string }
  | { kind: 'database'; db: string }
  | { kind: 'cluster' };

export type FullDocumentMode = 'default' | 'updateLookup' | 'whenAvailable' | 'required';
export type PreImageMode = 'off' | 'whenAvailable' | 'required';

export interface ChangeStreamSpec {
  scope: WatchScope;
  fullDocument: FullDocumentMode;
  fullDocumentBeforeChange: PreImageMode;
  /** Resume point: events strictly after it; undefined means "from now". */
  after: StreamPosition | undefined;
  /** How the start was given (for the history check and error texts). */
  startedBy: 'resumeAfter' | 'startAfter' | 'startAtOperationTime' | 'now';
}

const KNOWN_FIELDS = new Set([
  'resumeAfter', 'startAfter', 'startAtOperationTime', 'fullDocument', 'fullDocumentBeforeChange',
  'allChangesForCluster', 'showExpandedEvents',
]);

const INTERNAL_DATABASES = new Set(['admin', 'config', 'local']);

export function parseChangeStreamSpec(stage: unknown, db: string, coll: string | undefined): ChangeStreamSpec {
  if (!isPlainDocument(stage)) fail('FailedToParse', `the $changeStream stage specification must be an object, but found ${typeof stage}`);
  for (const key of Object.keys(stage)) {
    if (!KNOWN_FIELDS.has(key)) throw new MongoCommandError(ErrorCode.UnknownField, `BSON field '$changeStream.${key}' is an unknown field.`);
  }
  if (stage.showExpandedEvents) {
    fail('NotImplemented', `showExpandedEvents is not implemented by the test server (no create/createIndexes/modify/rename events)`);
  }
  const scope = scopeOf(Boolean(stage.allChangesForCluster), db, coll);
  const fullDocument = (stage.fullDocument ?? 'default') as FullDocumentMode;
  if (!['default', 'updateLookup', 'whenAvailable', 'required'].includes(fullDocument)) {
    fail('BadValue', `unrecognized fullDocument option: ${String(fullDocument)}`);
  }
  const fullDocumentBeforeChange = (stage.fullDocumentBeforeChange ?? 'off') as PreImageMode;
  if (!['off', 'whenAvailable', 'required'].includes(fullDocumentBeforeChange)) {
    fail('BadValue', `unrecognized fullDocumentBeforeChange option: ${String(fullDocumentBeforeChange)}`);
  }
  const starts = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter((k) => stage[k] !== undefined);
  if (starts.length > 1) {
    throw new MongoCommandError(40674, `Only one type of resume option is allowed, but multiple were found: ${starts.join(', ')}`);
  }
  let after: StreamPosition | undefined;
  let startedBy: ChangeStreamSpec['startedBy'] = 'now';
  if (stage.resumeAfter !== undefined) {
    after = decodeToken(stage.resumeAfter);
    startedBy = 'resumeAfter';
    if (subOf(after) === SUB_INVALIDATE) {
      fail('InvalidResumeToken', `Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.`);
    }
  } else if (stage.startAfter !== undefined) {
    after = decodeToken(stage.startAfter);
    startedBy = 'startAfter';
  } else if (stage.startAtOperationTime !== undefined) {
    if (!(stage.startAtOperationTime instanceof Timestamp)) {
      fail('TypeMismatch', `BSON field '$changeStream.startAtOperationTime' is the wrong type '${typeName(stage.startAtOperationTime)}', expected type 'timestamp'`);
    }
    after = justBefore(fromTimestamp(stage.startAtOperationTime));
    startedBy = 'startAtOperationTime';
  }
  return { scope, fullDocument, fullDocumentBeforeChange, after, startedBy };
}

function scopeOf(allChangesForCluster: boolean, db: string, coll: string | undefined): WatchScope {
  if (allChangesForCluster) {
    if (db !== 'admin' || coll !== undefined) {
      fail('InvalidNamespace', `A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name; found ${coll === undefined ? db : `${db}.${coll}`}`);
    }
    return { kind: 'cluster' };
  }
  if (INTERNAL_DATABASES.has(db)) fail('InvalidNamespace', `$changeStream may not be opened on the internal ${db} database`);
  if (coll === undefined) return { kind: 'database', db };
  if (coll.startsWith('system.')) fail('InvalidNamespace', `$changeStream may not be opened on the internal ${db}.${coll} collection`);
  return { kind: 'collection', db, coll };
}

export function isInternalDatabase(db: string): boolean {
  return INTERNAL_DATABASES.has(db);
}

/**
 * Turning one update or delete statement into document changes against a view, without applying
 * them — so the caller can first wait for (or conflict with) transactions holding those documents,
 * and then apply everything the statement does at once.
 */
import { BSON, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import { identical, isPlainDocument } from '../bson-values';
import { ErrorCode, fail, MongoCommandError } from '../errors';
import { idKey } from '../id-key';
import type { DocumentChange } from '../storage/changes';
import { applyOperatorUpdate, applyReplacement, idFirst, isOperatorUpdate, upsertDocument, type UpdateOptions } from '../update';
import { describeUpdate } from '../update-description';
import { formatDocument } from '../value-format';
import type { CollectionView } from './context';

export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

export function checkDocumentSize(doc: Document): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > MAX_DOCUMENT_BYTES) {
    throw new MongoCommandError(10334, `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and 16793600(16MB)`, { codeName: 'BSONObjectTooLarge' });
  }
}

/** Checks a document to insert and puts `_id` first (generating one when absent is the caller's job). */
export function prepareInsert(doc: unknown): { doc: Document; key: string } {
  if (!isPlainDocument(doc)) fail('TypeMismatch', `documents to insert must be objects`);
  for (const key of Object.keys(doc)) {
    if (key.startsWith('$')) fail('BadValue', `Document can't have $ prefixed field names: ${key}`);
  }
  const ordered = '_id' in doc ? idFirst(doc) : { _id: new ObjectId(), ...doc };
  const key = idKey(ordered._id);
  checkDocumentSize(ordered);
  return { doc: ordered, key };
}

export function duplicateKeyError(db: string, coll: string, id: unknown): MongoCommandError {
  return new MongoCommandError(
    ErrorCode.DuplicateKey,
    `E11000 duplicate key error collection: ${db}.${coll} index: _id_ dup key: ${formatDocument({ _id: id })}`,
    { extra: { keyPattern: { _id: 1 }, keyValue: { _id: id } } },
  );
}

/** The change an update makes to one document; undefined when it leaves the document as it was. */
export function planDocumentUpdate(
  db: string,
  coll: string,
  key: string,
  before: Document,
  update: Document,
  options: UpdateOptions,
): DocumentChange | undefined {
  if (isOperatorUpdate(update)) {
    const { doc, touched } = applyOperatorUpdate(before, update, options);
    if (identical(doc, before)) return undefined;
    checkDocumentSize(doc);
    return { kind: 'update', db, coll, key, before, after: doc, description: describeUpdate(before, doc, touched) };
  }
  const after = applyReplacement(before, update);
  if (identical(after, before)) return undefined;
  checkDocumentSize(after);
  return { kind: 'replace', db, coll, key, before, after };
}

/** The insert an upsert makes when nothing matched (after checking its `_id` is free). */
export function planUpsert(
  db: string,
  coll: string,
  view: CollectionView,
  query: Document | undefined,
  update: Document,
  options: UpdateOptions,
): { change: DocumentChange; id: unknown } {
  const { doc } = upsertDocument(query, update, options);
  const key = idKey(doc._id);
  checkDocumentSize(doc);
  if (view.get(key)) throw duplicateKeyError(db, coll, doc._id);
  return { change: { kind: 'insert', db, coll, key, after: doc }, id: doc._id };
}

/** Checks an update statement's `u` before use. */
export function validateUpdateSpec(u: unknown, multi: boolean): Document {
  if (Array.isArray(u)) fail('NotImplemented', `pipeline-style updates are not implemented by the test server`);
  if (!isPlainDocument(u)) fail('FailedToParse', `Update argument must be either an object or an array`);
  if (multi && !isOperatorUpdate(u) && Object.keys(u).length > 0) {
    fail('FailedToParse', `multi update is not supported for replacement-style update`);
  }
  return u;
}

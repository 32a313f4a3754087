import type { ObjectSchemaInput } from '../model';

/**
 * What the dequeuer wrote per message before `ProcessedBatch` (keyed by the message id). It no
 * longer writes it; realms that hold such rows are still checked against them, and they are
 * pruned by age as before.
 */
export const ProcessedMessageSchema: ObjectSchemaInput = {
  name: 'ProcessedMessage',
  primaryKey: 'id',
  properties: { id: 'string', source: 'string', at: 'date' },
};

/**
 * One per transaction the dequeuer wrote into a realm, in the same transaction as the messages'
 * data: `ids` is the JSON array of the ids of the messages applied there. A redelivered message
 * whose id a batch lists is acknowledged without being applied again (see `ProcessedIndex`).
 */
export const ProcessedBatchSchema: ObjectSchemaInput = {
  name: 'ProcessedBatch',
  primaryKey: 'id',
  properties: { id: 'string', source: 'string', ids: 'string', at: 'date' },
};

/** A message given up after `maxAttempts`, kept in the dead-letter realm for a person to look at. */
export const DeadLetterSchema: ObjectSchemaInput = {
  name: 'DeadLetter',
  primaryKey: 'id',
  properties: {
    id: 'string',
    source: 'string',
    subject: 'string',
    /** The body as UTF-8 when it is valid UTF-8, else base64 (see `encoding`). */
    body: 'string',
    encoding: 'string',
    headers: 'string',
    error: 'string',
    attempts: 'int',
    at: 'date',
  },
};

/**
 * One per polled target, in the realm the poller writes: who polls it and until when, and the
 * source's validators (ETag / Last-Modified) for the data as written, so whoever takes over
 * continues with conditional requests.
 */
export const PollerLeaseSchema: ObjectSchemaInput = {
  name: 'PollerLease',
  primaryKey: 'target',
  properties: {
    target: 'string',
    owner: 'string?',
    leaseUntil: 'date?',
    etag: 'string?',
    lastModified: 'string?',
    lastPollAt: 'date?',
    lastChangeAt: 'date?',
    lastError: 'string?',
  },
};

import type { ObjectSchemaInput } from '../model';

/**
 * Written in the same transaction as a dequeued message's data, keyed by the message id: a
 * redelivered message finds it and is acknowledged without being applied again.
 */
export const ProcessedMessageSchema: ObjectSchemaInput = {
  name: 'ProcessedMessage',
  primaryKey: 'id',
  properties: { id: 'string', source: 'string', at: 'date' },
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

import type { ConformanceDriver } from '../driver';

/**
 * STUB — the MongoDB conformance driver, to be written with the MongoDB connector. It is not
 * registered in any test file: `test/connectors/mongodb.test.ts` is added together with the driver
 * and calls `describeConformance(mongodbDriver)`, exactly like postgres.test.ts.
 *
 * How to implement each member (test/helpers/mongo-target.ts opens the database for you: the
 * wire-level test server test/mongo-server as a single-node replica set, or MONGO_URL):
 * - `skipReason()`: null (the test server always runs); with MONGO_URL unset nothing is needed.
 * - `open(label)`: `openMongoTarget(label)`; the database name is the target's `dbName`.
 * - `connectorConfig()`: the MongoDB connector's own keys, e.g. `{ url, database: dbName }`.
 * - `createTable(spec)`: `db.createCollection(spec.name, { changeStreamPreAndPostImages: { enabled:
 *   true } })` when `spec.counters` is non-empty (old values of `$inc` updates); remember the spec:
 *   `_id` is the `id` column (or a composite key document), references are fields holding `_id`s.
 * - `transaction(ops)` / `session()`: one `client.startSession()` and `session.withTransaction`
 *   running `insertOne` / `replaceOne({ _id }, row, { upsert: true })` / `updateOne({ _id }, { $set })`
 *   / `deleteOne` (and the cascade of `references[].onDelete`) / `updateOne({ _id }, { $inc })`.
 * - `rows(table, columns)`: `find({}).sort({ _id: 1 })`, `_id` back to `id`, Dates as ISO text,
 *   missing fields as null.
 * - `addColumn`: nothing in MongoDB; `columnNames`: the union of the documents' field names.
 * - `isTransientWriteError(e)`: `e.hasErrorLabel?.('TransientTransactionError') || e.code === 112`.
 * - `unreachableConfig()`: a URL on a closed loopback port with a short `serverSelectionTimeoutMS`.
 */
export const mongodbDriver: ConformanceDriver = {
  type: 'mongodb',
  skipReason: () => 'the MongoDB connector is not built yet (test/connectors/drivers/mongodb.ts is a stub)',
  open: () => Promise.reject(new Error('not implemented: the MongoDB conformance driver')),
  isTransientWriteError: () => false,
  unreachableConfig: () => {
    throw new Error('not implemented: the MongoDB conformance driver');
  },
};

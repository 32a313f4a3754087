/**
 * A wire-level MongoDB test server: the real `mongodb` driver talks to it over TCP as it would to
 * a single-node replica set (or a standalone). Test infrastructure only — see README.md for what
 * it implements and what it does not.
 */
export { startMongoTestServer, type MongoTestServer } from './server';
export type { MongoTestServerOptions } from './options';
export type { FailNextOptions } from './fail-points';
export { ErrorCode } from './errors';

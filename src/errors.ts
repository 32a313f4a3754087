/**
 * One coded error family for the whole project. Codes are stable (documented in docs/errors.md and
 * pinned by a test); messages may change. Protocol errors carry Realm-style numbers: 1xx for the
 * connection, 2xx for a session; each has an action for the client.
 */

export type ErrorAction = 'retry' | 'reset' | 'fatal';

interface CodeInfo {
  /** Protocol number, when the error travels in an ERROR message. */
  protocol?: number;
  action: ErrorAction;
  /** One line for docs/errors.md: what it means and what to do. */
  doc: string;
}

export const ERROR_CODES = {
  // connection level (1xx)
  CONNECTION_CLOSED: { protocol: 100, action: 'retry', doc: 'The connection was closed normally; reconnect when needed.' },
  OTHER_ERROR: { protocol: 101, action: 'retry', doc: 'An unexpected server-side failure; the client retries with back-off.' },
  UNKNOWN_MESSAGE: { protocol: 102, action: 'fatal', doc: 'A message type the server does not know; client and server versions differ.' },
  BAD_SYNTAX: { protocol: 103, action: 'fatal', doc: 'A message could not be decoded (truncated frame, bad field, trailing bytes).' },
  LIMITS_EXCEEDED: { protocol: 104, action: 'fatal', doc: 'A message, head, path, token or changeset exceeded a configured limit.' },
  WRONG_PROTOCOL_VERSION: { protocol: 105, action: 'fatal', doc: 'The client asked for a protocol version the server does not speak; upgrade one side.' },
  BAD_SESSION_IDENT: { protocol: 106, action: 'fatal', doc: 'A message named a session id that is zero or not bound on this connection.' },
  REUSE_OF_SESSION_IDENT: { protocol: 107, action: 'fatal', doc: 'BIND used a session id that is already bound on this connection.' },
  BOUND_IN_OTHER_SESSION: { protocol: 108, action: 'fatal', doc: 'The same client file is bound by another session at the same time.' },
  BAD_MESSAGE_ORDER: { protocol: 109, action: 'fatal', doc: 'A message arrived in a state where it is not allowed (e.g. UPLOAD before IDENT).' },
  BAD_DECOMPRESSION: { protocol: 110, action: 'fatal', doc: 'A compressed body could not be inflated.' },
  BAD_CHANGESET_HEADER: { protocol: 111, action: 'fatal', doc: "A changeset header is malformed (versions), or its timestamp is more than maxClockSkew ahead of the server's clock (fix the device clock)." },
  TIMED_OUT: { protocol: 112, action: 'retry', doc: 'The connection stalled: a message stopped arriving part-way for longer than frameTimeout; the client reconnects.' },
  // session level (2xx)
  TOKEN_EXPIRED: { protocol: 202, action: 'retry', doc: 'The access token expired; refresh it (REFRESH) and bind again.' },
  BAD_AUTHENTICATION: { protocol: 203, action: 'fatal', doc: 'The access token is missing, malformed or not signed by this server; log in again.' },
  ILLEGAL_REALM_PATH: { protocol: 204, action: 'fatal', doc: 'The realm path is invalid (empty segment, `..`, bad characters, too long, misplaced `~`).' },
  NO_SUCH_REALM: { protocol: 205, action: 'fatal', doc: 'The realm does not exist and the user may not create it.' },
  PERMISSION_DENIED: { protocol: 206, action: 'fatal', doc: 'The user lacks read or write permission on this realm.' },
  BAD_CLIENT_FILE_IDENT: { protocol: 208, action: 'reset', doc: 'The client file ident or its salt is unknown to the server; the client resets its replica.' },
  BAD_SERVER_VERSION: { protocol: 209, action: 'reset', doc: "The client's server version is ahead of the server or its salt differs; the client resets." },
  BAD_CLIENT_VERSION: { protocol: 210, action: 'fatal', doc: 'An upload cursor or client version moved backwards or beyond what was uploaded.' },
  DIVERGING_HISTORIES: { protocol: 211, action: 'reset', doc: 'Client and server histories diverged (e.g. restored backup); the client resets and recovers its local changes.' },
  BAD_CHANGESET: { protocol: 212, action: 'reset', doc: 'A changeset could not be decoded or applied (type mismatch, missing object, wrong list size); nothing of it was applied.' },
  CLIENT_FILE_EXPIRED: { protocol: 222, action: 'reset', doc: 'The client was not seen within the history horizon; it resets and recovers its local changes.' },
  TOO_MANY_SESSIONS: { protocol: 223, action: 'retry', doc: 'The connection already has the maximum number of sessions.' },
  INVALID_SCHEMA_CHANGE: { protocol: 224, action: 'fatal', doc: 'A schema change conflicts with the realm schema (same name, different type, primary key or target).' },
  USER_MISMATCH: { protocol: 225, action: 'fatal', doc: 'The replica belongs to a different user than the one binding it.' },
  // not on the wire
  SCHEMA_INVALID: { action: 'fatal', doc: 'A schema given to the API is malformed (unknown type, bad primary key, duplicate name).' },
  NOT_IN_TRANSACTION: { action: 'fatal', doc: 'A write was attempted outside a write transaction.' },
  INVALID_ARGUMENT: { action: 'fatal', doc: 'An API call got an argument of the wrong type or shape.' },
  INVALID_STATE: { action: 'fatal', doc: 'The call is not allowed in the current state: a write transaction is already open, the component was already started or is closed, or several users are logged in.' },
  OBJECT_INVALIDATED: { action: 'fatal', doc: 'The object or list was deleted (by this client or by a change that synced in) or its realm was closed; check isValid() before using a kept reference.' },
  PRIMARY_KEY_EXISTS: { action: 'fatal', doc: "create() was given the primary key of an existing object without an update mode; pass 'modified' or 'all' to update it." },
  READ_ONLY: { action: 'fatal', doc: 'A read-only view was written to (oldRealm, a query view, Results); write to the live realm inside write() or through a List.' },
  NOT_FOUND: { action: 'fatal', doc: 'No HTTP route or WebSocket endpoint at that path, or the method is not allowed there; check the URL and method.' },
  INTERNAL_ERROR: { action: 'fatal', doc: 'An internal invariant failed (a bug in Tributary); please report it with the log line and what led to it.' },
  AUTH_FAILED: { action: 'fatal', doc: 'Login failed: unknown user, wrong password, a bad, expired, revoked or already used refresh token, a bad admin token, or a login provider this server does not enable.' },
  USER_EXISTS: { action: 'fatal', doc: 'Registration failed: the user name is taken.' },
  RATE_LIMITED: { action: 'retry', doc: 'Too many failed logins for this account or from this address; wait the time the message (and the HTTP Retry-After header) names.' },
  REGISTRATION_CLOSED: { action: 'fatal', doc: 'The server does not let users register themselves (--registration closed); an admin creates accounts (tributary user create).' },
  NO_SUCH_USER: { action: 'fatal', doc: 'No user with that name or identity exists on the server.' },
  INVALID_OFFER: { action: 'fatal', doc: 'A permission offer token is unknown, was invalidated by its creator, or has expired.' },
  REALM_CLOSED: { action: 'fatal', doc: 'The realm (or session) was closed.' },
  DATA_DIR_IN_USE: { action: 'fatal', doc: "Another tributary server process is using this data directory (the message names its pid); stop it, or give this one its own --data-path." },
  DATA_DIR_UNWRITABLE: { action: 'fatal', doc: 'The data directory (or a file in it) cannot be created or written — read-only file system, permissions, a file where a folder should be; the message names the path and the reason.' },
  REPLICA_IN_USE: { action: 'fatal', doc: 'The local replica file is open in another process; one process at a time may use a replica (give each its own path or sync.directory).' },
  STORAGE_FAILURE: { action: 'retry', doc: 'The storage layer failed (disk full, locked database); the operation can be retried.' },
  CONFIG_INVALID: { action: 'fatal', doc: 'A configuration value is missing or malformed; the message says which.' },
  TIMEOUT: { action: 'retry', doc: 'An operation did not finish in its time limit.' },
  CONNECTOR_MAPPING_INVALID: { action: 'fatal', doc: "A connector's mapping names a table, column or type the database does not have, or is malformed; the message names it and lists what exists." },
  CONNECTOR_SOURCE_UNAVAILABLE: { action: 'retry', doc: "A connector or a dequeuer's message source lost or could not open its connection (network, shutdown, too many connections, channel closed); it retries with back-off." },
  CONNECTOR_SOURCE_FAILED: { action: 'fatal', doc: 'The database rejected a connector statement for a reason a retry cannot fix (SQLSTATE in the message); fix the cause and restart.' },
  CONNECTOR_APPLY_REFUSED: { action: 'fatal', doc: "The database refused a realm transaction a connector applied (a constraint, a trigger's exception, a value the column cannot hold): its objects were reset to the database's rows and it was kept as a dead letter; later transactions keep flowing. Inspect it with `tributary connector <type> status`, then clear it." },
  CONNECTOR_APPLY_FAILED: { action: 'fatal', doc: 'A realm transaction failed permanently in a connector for a reason other than a refusal (an unexpected SQLSTATE or error): its objects were reset to the database rows and it was kept as a dead letter; later transactions keep flowing. Inspect it with `tributary connector <type> status`, then clear it.' },
  CONNECTOR_APPLY_CONFIGURATION: { action: 'fatal', doc: "The database cannot take a connector's writes for a reason in its configuration (a missing privilege, table or column, a read-only server): the connector stopped and keeps the realm transactions for its next start; fix the cause and restart." },
  PG_WAL_LEVEL_NOT_LOGICAL: { action: 'fatal', doc: 'PostgreSQL runs with wal_level other than logical; set wal_level = logical (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL.' },
  PG_REPLICATION_PRIVILEGE: { action: 'fatal', doc: 'The connector\'s PostgreSQL role may not replicate; ALTER ROLE <role> WITH REPLICATION (and allow replication connections in pg_hba.conf).' },
  PG_REPLICA_IDENTITY: { action: 'fatal', doc: 'A mapped table has no primary key and no REPLICA IDENTITY FULL, so updates and deletes cannot be identified; add a primary key or ALTER TABLE … REPLICA IDENTITY FULL.' },
  PG_SLOT_ACTIVE: { action: 'fatal', doc: "A connector reset was refused because a walsender streams from the connector's replication slot (another connector runs against it); stop that connector first." },
  PG_SLOT_INVALID: { action: 'fatal', doc: "The connector's replication slot is missing, invalidated (max_slot_wal_keep_size) or belongs to another plugin; reset the connector (new slot, new initial load)." },
  MONGO_REPLICA_SET_REQUIRED: { action: 'fatal', doc: 'A MongoDB connector was pointed at a standalone server: change streams and transactions need a replica set (a single-node replica set is enough: mongod --replSet rs0, then rs.initiate()) or a sharded cluster.' },
  SQLSERVER_CHANGE_TRACKING_OFF: { action: 'fatal', doc: 'Change Tracking is off on the SQL Server database a connector reads; the message prints the ALTER DATABASE … SET CHANGE_TRACKING = ON statement to run.' },
  SQLSERVER_TABLE_NOT_TRACKED: { action: 'fatal', doc: 'A table a SQL Server connector maps does not have Change Tracking enabled; the message prints the ALTER TABLE … ENABLE CHANGE_TRACKING statement to run.' },
  SQLSERVER_SNAPSHOT_ISOLATION_OFF: { action: 'fatal', doc: 'The SQL Server database does not allow snapshot isolation, which the connector needs for consistent loads and polls; the message prints the ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON statement to run.' },
  INVALID_QUERY: { action: 'fatal', doc: 'A query string is malformed, names an unknown property or compares incompatible types; the message gives the offset, line and column.' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly action: ErrorAction;
  readonly protocolCode?: number;
  /** RATE_LIMITED: how long to wait before trying again. */
  readonly retryAfterMs?: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    this.name = 'TributaryError';
    this.code = code;
    const info: CodeInfo = ERROR_CODES[code];
    this.action = info.action;
    this.protocolCode = info.protocol;
  }
}

export function errorCodeForProtocol(n: number): ErrorCode | undefined {
  for (const [code, info] of Object.entries(ERROR_CODES) as [ErrorCode, CodeInfo][]) if (info.protocol === n) return code;
  return undefined;
}

/**
 * The test server's options, each with its default in one place. Limits mirror mongod's defaults
 * where mongod has one.
 */
export interface MongoTestServerOptions {
  /** Replica set name reported by hello; ignored when `standalone`. Default 'rs0'. */
  replSetName?: string;
  /** Run as a standalone mongod: no setName, no $clusterTime, no change streams or transactions. Default false. */
  standalone?: boolean;
  /** Loopback address to listen on. Default '127.0.0.1'. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Oplog entries kept (one per document written, one per drop); older ones are trimmed. Default 1,000,000. */
  oplogSize?: number;
  /** Transactions running longer are aborted (mongod's transactionLifetimeLimitSeconds). Default 60. */
  transactionLifetimeLimitSeconds?: number;
  /** Idle cursors are closed after this long (mongod's cursorTimeoutMillis). Default 600,000 ms. */
  cursorTimeoutMs?: number;
  /** Reported in hello; idle sessions are forgotten after it. Default 30 minutes. */
  logicalSessionTimeoutMinutes?: number;
  /** How long a snapshot-read session's snapshot stays readable after its last use (minSnapshotHistoryWindowInSeconds). Default 300,000 ms. */
  snapshotHistoryWindowMs?: number;
  /** Largest accepted message (hello's maxMessageSizeBytes). Default 48,000,000. */
  maxMessageSizeBytes?: number;
}

export type ResolvedOptions = Required<MongoTestServerOptions>;

export function resolveOptions(options: MongoTestServerOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    replSetName: options.replSetName ?? 'rs0',
    standalone: options.standalone ?? false,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    oplogSize: options.oplogSize ?? 1_000_000,
    transactionLifetimeLimitSeconds: options.transactionLifetimeLimitSeconds ?? 60,
    cursorTimeoutMs: options.cursorTimeoutMs ?? 600_000,
    logicalSessionTimeoutMinutes: options.logicalSessionTimeoutMinutes ?? 30,
    snapshotHistoryWindowMs: options.snapshotHistoryWindowMs ?? 300_000,
    maxMessageSizeBytes: options.maxMessageSizeBytes ?? 48_000_000,
  };
  if (!/^(127\.|localhost$|::1$)/.test(resolved.host)) {
    throw new RangeError(`the MongoDB test server listens on loopback only, not ${resolved.host}`);
  }
  if (!Number.isInteger(resolved.oplogSize) || resolved.oplogSize < 1) throw new RangeError(`oplogSize must be a positive integer`);
  return resolved;
}

/**
 * The per-database driver the connector conformance suite (conformance.ts) runs its test bodies
 * through, so the same tests run against PostgreSQL (a real throw-away cluster), MongoDB
 * (test/mongo-server, or MONGO_URL) and SQL Server (test/tds-server, or MSSQL_URL). A driver does
 * what the tests do "from the database side": create a table (collection) with given columns and
 * keys, write rows in one database transaction, read rows back, add a column — and says what a
 * connector config needs to reach the database. Connectors are created through the registry
 * (`loadConnectorModule(type).create(config)`), in this process or in a child process that the
 * suite SIGKILLs (test/connectors/connector-process.ts).
 *
 * Words: "table" is a table or a collection, "row" a row or a document, "column" a column or a
 * field. Every table has an int key column `id` unless its spec says otherwise.
 */

/** The value types the suite uses, and the realm property types they map to: int, string, double, bool, date. */
export type ColumnType = 'int' | 'string' | 'double' | 'bool' | 'date';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** NULL allowed (default true for non-key columns). */
  nullable?: boolean;
}

export interface TableSpec {
  name: string;
  /** Key columns, in order (usually `['id']`). */
  key: string[];
  /** Every column, key columns included. */
  columns: ColumnSpec[];
  /**
   * Single-column references: `column` holds the key of a row of `table` (a foreign key in SQL, an
   * id field in MongoDB). `{ follow: column }` placement and links use them; `onDelete: 'cascade'`
   * deletes the referencing rows with the referenced one (MongoDB drivers delete them in the same
   * transaction).
   */
  references?: { column: string; table: string; onDelete?: 'cascade' }[];
  /**
   * Columns the suite maps as counters (`columns: { n: { counter: true } }`): the database must
   * let the connector see old values of updates (PostgreSQL: REPLICA IDENTITY FULL).
   */
  counters?: string[];
}

/** A row as plain values: numbers, strings, booleans, Dates (read back as ISO text), null. */
export type Row = Record<string, number | string | boolean | Date | null>;

/** One write of a database transaction. `key` holds the key columns' values. */
export type DbOp =
  | { op: 'insert'; table: string; row: Row }
  /** Insert, or update every given column of the existing row. */
  | { op: 'upsert'; table: string; row: Row }
  | { op: 'update'; table: string; key: Row; set: Row }
  | { op: 'delete'; table: string; key: Row }
  | { op: 'increment'; table: string; key: Row; column: string; by: number };

/** A database session of its own (concurrent writers each use one). */
export interface DriverSession {
  /** Runs the ops in ONE database transaction (one source transaction for the connector). */
  transaction(ops: DbOp[]): Promise<void>;
  close(): Promise<void>;
}

/** One fresh database (per test group), disposed at the end. */
export interface DriverDatabase extends DriverSession {
  /**
   * The database-specific keys of a connector config for this database, merged into the
   * suite's common config (name, serverUrl, adminToken, localPath, realm, tables, conflict,
   * schemaChanges, initialLoad — connectors/kit/config.ts). PostgreSQL: `{ database: url,
   * heartbeatIntervalMs: 0 }`.
   */
  connectorConfig(): Record<string, unknown>;
  createTable(spec: TableSpec): Promise<void>;
  /** Every row of `table`, ordered by key, `columns` only (default all), dates as ISO text, absent as null. */
  rows(table: string, columns?: string[]): Promise<Row[]>;
  /** Adds a nullable column to an existing table (MongoDB: nothing to do but remember it). */
  addColumn(table: string, column: ColumnSpec): Promise<void>;
  /** The column names the table has now (MongoDB: the union of the documents' fields). */
  columnNames(table: string): Promise<string[]>;
  session(): Promise<DriverSession>;
  dispose(): Promise<void>;
}

export interface ConformanceDriver {
  /** The registry type (`postgres`, `mongodb`, `mssql`): connectors are created through its module. */
  type: string;
  /** Why the suite cannot run here (no database, no test server), or null. */
  skipReason(): string | null;
  /** A fresh database; `label` names it. */
  open(label: string): Promise<DriverDatabase>;
  /**
   * A write failure a concurrent writer retries: the database aborted its transaction because of
   * a conflict with the connector's own writes (PostgreSQL: deadlock 40P01, serialization 40001,
   * lock not available 55P03; MongoDB: WriteConflict 112 / TransientTransactionError; SQL Server:
   * deadlock victim 1205, lock timeout 1222).
   */
  isTransientWriteError(e: unknown): boolean;
  /**
   * Apply holds row locks when it reaches its barrier (PostgreSQL: SELECT … FOR UPDATE before
   * it), so a database write to a touched row waits for apply's commit. MongoDB (a snapshot and
   * write conflicts, no locks until a write) and SQL Server (the barrier before its transaction)
   * do not.
   */
  applyLocksRowsAtBarrier: boolean;
  /** The database-specific config keys of a database that does not answer (a closed port), for the unreachable-database test. */
  unreachableConfig(): Record<string, unknown>;
}

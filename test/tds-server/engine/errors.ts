/**
 * Errors the scripted engine raises, with the numbers, states and classes SQL Server uses for the
 * same condition, so a connector's error classification (by number, never by text) is exercised
 * for real. `abortsBatch` and `rollsBackTransaction` carry SQL Server's effect on the rest of the
 * batch and on an open transaction.
 */
export class SqlError extends Error {
  readonly number: number;
  readonly state: number;
  readonly class: number;
  /** Stop the rest of the batch (compile errors, deadlocks, conversion errors). */
  readonly abortsBatch: boolean;
  /** Roll back the open transaction whatever XACT_ABORT says (1205, 3960). */
  readonly rollsBackTransaction: boolean;

  constructor(number: number, message: string, options: { state?: number; class?: number; abortsBatch?: boolean; rollsBackTransaction?: boolean } = {}) {
    super(message);
    this.name = 'SqlError';
    this.number = number;
    this.state = options.state ?? 1;
    this.class = options.class ?? 16;
    this.abortsBatch = options.abortsBatch ?? false;
    this.rollsBackTransaction = options.rollsBackTransaction ?? false;
  }
}

const quote = (s: string) => s.replace(/'/g, "''");

export const errors = {
  syntax: (near: string, statement: string) =>
    new SqlError(102, `Incorrect syntax near '${near}'. The scripted TDS test server does not recognise this statement: ${statement}`, { class: 15, abortsBatch: true }),
  invalidObject: (name: string) => new SqlError(208, `Invalid object name '${name}'.`, { abortsBatch: true }),
  invalidColumn: (name: string) => new SqlError(207, `Invalid column name '${name}'.`, { abortsBatch: true }),
  ambiguousColumn: (name: string) => new SqlError(209, `Ambiguous column name '${name}'.`, { abortsBatch: true }),
  mustDeclare: (name: string) => new SqlError(137, `Must declare the scalar variable "${name}".`, { class: 15, state: 2, abortsBatch: true }),
  unknownFunction: (name: string) => new SqlError(195, `'${name}' is not a recognized built-in function name.`, { class: 15, state: 10, abortsBatch: true }),
  unknownProcedure: (name: string) => new SqlError(2812, `Could not find stored procedure '${name}'.`, { state: 62, abortsBatch: true }),
  duplicateKey: (constraint: string, table: string, key: string) =>
    new SqlError(2627, `Violation of PRIMARY KEY constraint '${constraint}'. Cannot insert duplicate key in object '${table}'. The duplicate key value is (${key}).`, { class: 14 }),
  duplicateUniqueConstraint: (constraint: string, table: string, key: string) =>
    new SqlError(2627, `Violation of UNIQUE KEY constraint '${constraint}'. Cannot insert duplicate key in object '${table}'. The duplicate key value is (${key}).`, { class: 14 }),
  duplicateIndexKey: (index: string, table: string, key: string) =>
    new SqlError(2601, `Cannot insert duplicate key row in object '${table}' with unique index '${index}'. The duplicate key value is (${key}).`, { class: 14 }),
  foreignKeyInsert: (verb: 'INSERT' | 'UPDATE' | 'MERGE', constraint: string, database: string, table: string, column: string) =>
    new SqlError(547, `The ${verb} statement conflicted with the FOREIGN KEY constraint "${constraint}". The conflict occurred in database "${database}", table "${table}", column '${column}'.`, { state: 0 }),
  foreignKeyDelete: (verb: 'DELETE' | 'UPDATE' | 'MERGE', constraint: string, database: string, table: string, column: string) =>
    new SqlError(547, `The ${verb} statement conflicted with the REFERENCE constraint "${constraint}". The conflict occurred in database "${database}", table "${table}", column '${column}'.`, { state: 0 }),
  notNull: (column: string, table: string, verb: 'INSERT' | 'UPDATE' | 'MERGE') =>
    new SqlError(515, `Cannot insert the value NULL into column '${column}', table '${table}'; column does not allow nulls. ${verb} fails.`, { state: 2 }),
  identityInsertOff: (table: string) =>
    new SqlError(544, `Cannot insert explicit value for identity column in table '${table}' when IDENTITY_INSERT is set to OFF.`),
  identityUpdate: (column: string) => new SqlError(8102, `Cannot update identity column '${column}'.`),
  computedColumn: (column: string) =>
    new SqlError(271, `The column "${column}" cannot be modified because it is either a computed column or is the result of a UNION operator.`, { abortsBatch: true }),
  rowversionColumn: () =>
    new SqlError(273, 'Cannot insert an explicit value into a timestamp column. Use INSERT with a column list to exclude the timestamp column, or insert a DEFAULT into the timestamp column.', { abortsBatch: true }),
  truncation: (table: string, column: string, value: string) =>
    new SqlError(2628, `String or binary data would be truncated in table '${table}', column '${column}'. Truncated value: '${quote(value)}'.`),
  conversion: (fromType: string, value: string, toType: string) =>
    new SqlError(245, `Conversion failed when converting the ${fromType} value '${value}' to data type ${toType}.`, { abortsBatch: true }),
  numericConversion: (fromType: string, toType: string) =>
    new SqlError(8114, `Error converting data type ${fromType} to ${toType}.`, { state: 5, abortsBatch: true }),
  dateConversion: () => new SqlError(241, 'Conversion failed when converting date and/or time from character string.', { abortsBatch: true }),
  guidConversion: () => new SqlError(8169, 'Conversion failed when converting from a character string to uniqueidentifier.', { state: 2, abortsBatch: true }),
  arithmeticOverflow: (toType: string) =>
    new SqlError(8115, `Arithmetic overflow error converting ${toType === 'numeric' ? 'numeric' : 'expression'} to data type ${toType}.`, { state: 8, abortsBatch: true }),
  integerOverflow: (type: string, value: string) => new SqlError(220, `Arithmetic overflow error for data type ${type}, value = ${value}.`, { state: 2, abortsBatch: true }),
  implicitConversion: (from: string, to: string) =>
    new SqlError(257, `Implicit conversion from data type ${from} to ${to} is not allowed. Use the CONVERT function to run this query.`, { state: 3, abortsBatch: true }),
  divideByZero: () => new SqlError(8134, 'Divide by zero error encountered.', { abortsBatch: true }),
  deadlock: (spid: number) =>
    new SqlError(1205, `Transaction (Process ID ${spid}) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.`, { class: 13, state: 51, abortsBatch: true, rollsBackTransaction: true }),
  lockTimeout: () => new SqlError(1222, 'Lock request time out period exceeded.', { state: 45 }),
  snapshotConflict: (table: string, database: string) =>
    new SqlError(3960, `Snapshot isolation transaction aborted due to update conflict. You cannot use snapshot isolation to access table '${table}' directly or indirectly in database '${database}' to update, delete, or insert the row that has been modified or deleted by another transaction. Retry the transaction or change the isolation level for the update/delete statement.`, { state: 2, abortsBatch: true, rollsBackTransaction: true }),
  snapshotNotAllowed: (database: string) =>
    new SqlError(3952, `Snapshot isolation transaction failed accessing database '${database}' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.`, { abortsBatch: true }),
  commitWithoutBegin: () => new SqlError(3902, 'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.'),
  rollbackWithoutBegin: () => new SqlError(3903, 'The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.'),
  transactionDescriptor: () =>
    new SqlError(3989, 'New request is not allowed to start because it should come with valid transaction descriptor.', { abortsBatch: true }),
  changeTrackingNotEnabledForChanges: (table: string) => new SqlError(22105, `Change tracking is not enabled on table '${table}'.`, { abortsBatch: true }),
  changeTrackingNotEnabledOnTable: (table: string) => new SqlError(4998, `Change tracking is not enabled on table '${table}'.`),
  changeTrackingAlreadyEnabled: (table: string) => new SqlError(4996, `Change tracking is already enabled for table '${table}'.`),
  changeTrackingNeedsPrimaryKey: (table: string) =>
    new SqlError(4997, `Cannot enable change tracking on table '${table}'. Change tracking requires a primary key on the table. Create a primary key on the table before enabling change tracking.`),
  changeTrackingNeedsDatabase: (database: string, table: string) =>
    new SqlError(1718, `Change tracking must be enabled on database '${database}' before it can be enabled on table '${table}'.`),
  objectExists: (name: string) => new SqlError(2714, `There is already an object named '${name}' in the database.`, { state: 6 }),
  cannotDropTable: (name: string) =>
    new SqlError(3701, `Cannot drop the table '${name}', because it does not exist or you do not have permission.`, { class: 11, state: 5 }),
  cannotDropReferenced: (table: string, constraint: string) =>
    new SqlError(3726, `Could not drop object '${table}' because it is referenced by a FOREIGN KEY constraint '${constraint}'.`),
  databaseNotFound: (name: string) => new SqlError(911, `Database '${name}' does not exist. Make sure that the name is entered correctly.`, { abortsBatch: true }),
  cannotOpenDatabase: (name: string) => new SqlError(4060, `Cannot open database "${name}" requested by the login. The login failed.`, { class: 11 }),
  loginFailed: (user: string) => new SqlError(18456, `Login failed for user '${user}'.`, { class: 14 }),
  mergeDuplicateSource: () =>
    new SqlError(8672, 'The MERGE statement attempted to UPDATE or DELETE the same row more than once. This happens when a target row matches more than one source row. A MERGE statement cannot UPDATE/DELETE the same row of the target table multiple times. Refine the ON clause to ensure a target row matches at most one source row, or use the GROUP BY clause to group the source rows.'),
  columnCountMismatch: () =>
    new SqlError(110, 'There are fewer columns in the INSERT statement than values specified in the VALUES clause. The number of values in the VALUES clause must match the number of columns specified in the INSERT statement.', { class: 15, abortsBatch: true }),
  invalidHandle: (handle: number) => new SqlError(8179, `Could not find prepared statement with handle ${handle}.`, { abortsBatch: true }),
  tableNeedsColumns: () => new SqlError(4901, 'ALTER TABLE only allows columns to be added that can contain nulls.'),
};

/**
 * The T-SQL the connector sends, built by pure functions (unit-tested in
 * test/unit/sqlserver-tsql.test.ts). Identifiers are bracket-quoted; values always travel as
 * parameters (`@name`), except the connector's own CHANGE_TRACKING_CONTEXT, a binary literal.
 * Only single statements, no variables or blocks: what `sp_executesql` runs on any SQL Server
 * 2016+ (and what the scripted test server understands).
 */

/** `[name]`, with `]` doubled. */
export const q = (id: string): string => '[' + id.replace(/]/g, ']]') + ']';

/** `[schema].[table]`. */
export const qualify = (schema: string, table: string): string => `${q(schema)}.${q(table)}`;

/** `N'…'` literal (quotes doubled), for names in catalog functions. */
export const nstring = (s: string): string => `N'${s.replace(/'/g, "''")}'`;

/** The bookkeeping tables (in the mapped schema). */
export const APPLY_POSITION_TABLE = 'tributary_apply_position';
export const CAPTURE_POSITION_TABLE = 'tributary_capture_position';
export const DEAD_LETTER_TABLE = 'tributary_dead_letter';
export const COUNTER_TABLE = 'tributary_counter';
/** One row per apply commit (change-tracked): capture counts the connector's own commits exactly, even when a later write to the same rows hides them. */
export const APPLY_COMMIT_TABLE = 'tributary_apply_commit';

/** What a statement needs of a table. */
export interface TableShape {
  schema: string;
  table: string;
  keyColumns: readonly string[];
  /** Every column read, with its SELECT expression over a column reference (default: the reference). */
  columns: readonly { name: string; select?: (ref: string) => string }[];
}

const selectItems = (t: TableShape, alias: string): string => t.columns.map((c) => `${c.select ? c.select(`${alias}.${q(c.name)}`) : `${alias}.${q(c.name)}`} AS ${q(c.name)}`).join(', ');

/** The key column aliases of a changes query: `__k0`, `__k1`… */
export const keyAlias = (i: number): string => `__k${i}`;

/**
 * Changes of a table since `@since`, with the row as it is now (NULL columns when deleted), in
 * version order: `__v` SYS_CHANGE_VERSION, `__cv` SYS_CHANGE_CREATION_VERSION, `__op` I/U/D, `__ctx`
 * SYS_CHANGE_CONTEXT, `__k<i>` the key from the change record.
 */
export function changesQuery(t: TableShape): string {
  const keyCol = (k: string) => t.columns.find((c) => c.name === k);
  const keys = t.keyColumns.map((k, i) => `${keyCol(k)?.select ? keyCol(k)!.select!(`ct.${q(k)}`) : `ct.${q(k)}`} AS ${q(keyAlias(i))}`).join(', ');
  const on = t.keyColumns.map((k) => `r.${q(k)} = ct.${q(k)}`).join(' AND ');
  return (
    `SELECT ct.SYS_CHANGE_VERSION AS [__v], ct.SYS_CHANGE_CREATION_VERSION AS [__cv], ct.SYS_CHANGE_OPERATION AS [__op], ct.SYS_CHANGE_CONTEXT AS [__ctx], ${keys}, ${selectItems(t, 'r')} ` +
    `FROM CHANGETABLE(CHANGES ${qualify(t.schema, t.table)}, @since) AS ct LEFT JOIN ${qualify(t.schema, t.table)} AS r ON ${on} ORDER BY ct.SYS_CHANGE_VERSION`
  );
}

/** A batch of a table's rows in key order (`@skip`, `@take`), for loads. */
export function scanQuery(t: TableShape): string {
  return `SELECT ${selectItems(t, 'r')} FROM ${qualify(t.schema, t.table)} AS r ORDER BY ${t.keyColumns.map((k) => `r.${q(k)}`).join(', ')} OFFSET @skip ROWS FETCH NEXT @take ROWS ONLY`;
}

/** One row by key (`@k0`, `@k1`…). */
export function rowQuery(t: TableShape): string {
  return `SELECT ${selectItems(t, 'r')} FROM ${qualify(t.schema, t.table)} AS r WHERE ${t.keyColumns.map((k, i) => `r.${q(k)} = @k${i}`).join(' AND ')}`;
}

/** The rows of `count` keys (`@k<i>_<n>`: key i, column n): `IN` for one key column, OR-ed conjunctions for several. */
export function rowsByKeysQuery(t: TableShape, count: number): string {
  const keys = Array.from({ length: count }, (_, i) => i);
  const where =
    t.keyColumns.length === 1
      ? `r.${q(t.keyColumns[0]!)} IN (${keys.map((i) => `@k${i}_0`).join(', ')})`
      : keys.map((i) => `(${t.keyColumns.map((k, n) => `r.${q(k)} = @k${i}_${n}`).join(' AND ')})`).join(' OR ');
  return `SELECT ${selectItems(t, 'r')} FROM ${qualify(t.schema, t.table)} AS r WHERE ${where}`;
}

/** `CHANGE_TRACKING_MIN_VALID_VERSION` of each table, as columns `m0`, `m1`… */
export function minValidQuery(tables: readonly { schema: string; table: string }[]): string {
  return `SELECT ${tables.map((t, i) => `CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(${nstring(`${t.schema}.${t.table}`)})) AS [m${i}]`).join(', ')}`;
}

export const CURRENT_VERSION = 'SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v';

/** `WITH CHANGE_TRACKING_CONTEXT (0x…) ` — the prefix of every write of the connector (capture skips them). */
export const withContext = (contextHex: string): string => `WITH CHANGE_TRACKING_CONTEXT (0x${contextHex}) `;

/** An output item list over `INSERTED` (and `DELETED.<col> AS [__old_<col>]` for `old`). */
function outputList(t: TableShape, old: readonly string[] = []): string {
  return [...t.columns.map((c) => `${c.select ? c.select(`INSERTED.${q(c.name)}`) : `INSERTED.${q(c.name)}`} AS ${q(c.name)}`), ...old.map((c) => `DELETED.${q(c)} AS ${q(`__old_${c}`)}`)].join(', ');
}

/** INSERT of `rows` rows (`@v<col>` for one row, `@r<row>_<col>` for several, in `columns` order), returning the rows as stored. */
export function insertStatement(t: TableShape, columns: readonly string[], contextHex: string, rows = 1): string {
  const tuple = (r: number) => `(${columns.map((_, i) => (rows === 1 ? `@v${i}` : `@r${r}_${i}`)).join(', ')})`;
  const values = columns.length === 0 ? 'DEFAULT VALUES' : `VALUES ${Array.from({ length: rows }, (_, r) => tuple(r)).join(', ')}`;
  const cols = columns.length === 0 ? '' : ` (${columns.map(q).join(', ')})`;
  return `${withContext(contextHex)}INSERT INTO ${qualify(t.schema, t.table)}${cols} OUTPUT ${outputList(t)} ${values}`;
}

/**
 * UPDATE of one row by key (`@k0`…): `set` columns from `@v<i>`; `add` columns as `c = c + @v<i>`
 * (counters). Returns the row as stored, and the old values of `add` columns as `__old_<col>`.
 */
export function updateStatement(t: TableShape, set: readonly { column: string; add?: boolean }[], contextHex: string, old: readonly string[] = []): string {
  const sets = set.map((s, i) => (s.add ? `${q(s.column)} = ${q(s.column)} + @v${i}` : `${q(s.column)} = @v${i}`)).join(', ');
  return `${withContext(contextHex)}UPDATE ${qualify(t.schema, t.table)} SET ${sets} OUTPUT ${outputList(t, old)} WHERE ${t.keyColumns.map((k, i) => `${q(k)} = @k${i}`).join(' AND ')}`;
}

export function deleteStatement(t: TableShape, contextHex: string): string {
  return `${withContext(contextHex)}DELETE FROM ${qualify(t.schema, t.table)} WHERE ${t.keyColumns.map((k, i) => `${q(k)} = @k${i}`).join(' AND ')}`;
}

/** `SET IDENTITY_INSERT t ON|OFF` (an insert that gives an identity column its value). */
export const identityInsert = (schema: string, table: string, on: boolean): string => `SET IDENTITY_INSERT ${qualify(schema, table)} ${on ? 'ON' : 'OFF'}`;

/** Keys of `t` changed since `@since` by someone else than the connector (the apply race check). */
export function foreignChangesQuery(t: TableShape, contextHex: string): string {
  return `SELECT ${t.keyColumns.map((k, i) => `ct.${q(k)} AS ${q(keyAlias(i))}`).join(', ')} FROM CHANGETABLE(CHANGES ${qualify(t.schema, t.table)}, @since) AS ct WHERE ct.SYS_CHANGE_CONTEXT IS NULL OR ct.SYS_CHANGE_CONTEXT <> 0x${contextHex}`;
}

// ── bookkeeping ──

export function createBookkeeping(schema: string): string[] {
  const t = (name: string) => qualify(schema, name);
  const ifMissing = (name: string, ddl: string) => `IF OBJECT_ID(${nstring(`${schema}.${name}`)}) IS NULL ${ddl}`;
  return [
    ifMissing(APPLY_POSITION_TABLE, `CREATE TABLE ${t(APPLY_POSITION_TABLE)} (connector nvarchar(64) NOT NULL, realm_path nvarchar(400) NOT NULL, txn bigint NOT NULL, PRIMARY KEY (connector, realm_path))`),
    ifMissing(CAPTURE_POSITION_TABLE, `CREATE TABLE ${t(CAPTURE_POSITION_TABLE)} (connector nvarchar(64) NOT NULL PRIMARY KEY, version bigint NOT NULL, reloads bigint NOT NULL)`),
    ifMissing(COUNTER_TABLE, `CREATE TABLE ${t(COUNTER_TABLE)} (connector nvarchar(64) NOT NULL, table_name nvarchar(128) NOT NULL, key_text nvarchar(400) NOT NULL, column_name nvarchar(128) NOT NULL, applied bigint NOT NULL, PRIMARY KEY (connector, table_name, key_text, column_name))`),
    ifMissing(
      DEAD_LETTER_TABLE,
      `CREATE TABLE ${t(DEAD_LETTER_TABLE)} (id bigint IDENTITY(1,1) PRIMARY KEY, connector nvarchar(64) NOT NULL, realm_path nvarchar(400) NOT NULL, txn bigint NOT NULL, code nvarchar(64) NOT NULL, error_number nvarchar(32) NULL, error nvarchar(max) NOT NULL, objects nvarchar(max) NOT NULL, instructions nvarchar(max) NOT NULL, created_at datetime2(3) NOT NULL DEFAULT SYSUTCDATETIME())`,
    ),
    ifMissing(APPLY_COMMIT_TABLE, `CREATE TABLE ${t(APPLY_COMMIT_TABLE)} (connector nvarchar(64) NOT NULL, seq bigint NOT NULL, written nvarchar(max) NULL, PRIMARY KEY (connector, seq))`),
    `IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(${nstring(`${schema}.${APPLY_COMMIT_TABLE}`)})) ALTER TABLE ${t(APPLY_COMMIT_TABLE)} ENABLE CHANGE_TRACKING`,
  ];
}

/** The entry of a marker row's `written` JSON that names the realm and the last realm transaction the commit applied (no table has this name). */
export const APPLIED_KEY = '\u0000applied';

/** The apply commit's marker row (`@connector`, `@seq`, `@written`: the rows apply wrote, JSON), and the removal of markers before `@old`. */
export const insertApplyCommit = (schema: string, contextHex: string) => `${withContext(contextHex)}INSERT INTO ${qualify(schema, APPLY_COMMIT_TABLE)} (connector, seq, written) VALUES (@connector, @seq, @written)`;
export const deleteOldApplyCommits = (schema: string, contextHex: string) => `${withContext(contextHex)}DELETE FROM ${qualify(schema, APPLY_COMMIT_TABLE)} WHERE connector = @connector AND seq < @old`;
/** The versions of the connector's apply commits since `@since`, with the rows each wrote (NULL once the marker was removed). */
export const ownCommitsQuery = (schema: string) =>
  `SELECT ct.SYS_CHANGE_VERSION AS v, c.written FROM CHANGETABLE(CHANGES ${qualify(schema, APPLY_COMMIT_TABLE)}, @since) AS ct LEFT JOIN ${qualify(schema, APPLY_COMMIT_TABLE)} AS c ON c.connector = ct.connector AND c.seq = ct.seq WHERE ct.connector = @connector AND ct.SYS_CHANGE_OPERATION = 'I'`;

/** Upsert of a `(connector, realm_path) → txn` row (`@connector`, `@path`, `@txn`). */
export function mergeApplyPosition(schema: string): string {
  return (
    `MERGE ${qualify(schema, APPLY_POSITION_TABLE)} AS p USING (SELECT @connector AS connector, @path AS realm_path) AS s ON p.connector = s.connector AND p.realm_path = s.realm_path ` +
    'WHEN MATCHED THEN UPDATE SET txn = @txn WHEN NOT MATCHED THEN INSERT (connector, realm_path, txn) VALUES (@connector, @path, @txn);'
  );
}

/** Upsert of the capture position (`@connector`, `@version`, `@reloads`). */
export function mergeCapturePosition(schema: string): string {
  return (
    `MERGE ${qualify(schema, CAPTURE_POSITION_TABLE)} AS p USING (SELECT @connector AS connector) AS s ON p.connector = s.connector ` +
    'WHEN MATCHED THEN UPDATE SET version = @version, reloads = @reloads WHEN NOT MATCHED THEN INSERT (connector, version, reloads) VALUES (@connector, @version, @reloads);'
  );
}

/** Adds `@delta` to a counter's applied total (`@connector`, `@table`, `@key`, `@column`). */
export function mergeCounterApplied(schema: string): string {
  return (
    `MERGE ${qualify(schema, COUNTER_TABLE)} AS c USING (SELECT @connector AS connector, @table AS table_name, @key AS key_text, @column AS column_name) AS s ` +
    'ON c.connector = s.connector AND c.table_name = s.table_name AND c.key_text = s.key_text AND c.column_name = s.column_name ' +
    'WHEN MATCHED THEN UPDATE SET applied = c.applied + @delta WHEN NOT MATCHED THEN INSERT (connector, table_name, key_text, column_name, applied) VALUES (@connector, @table, @key, @column, @delta);'
  );
}

// ── setup ──

/** The statements that turn on what the connector needs, printed by the setup checks. */
export const setupStatements = {
  databaseChangeTracking: (database: string) => `ALTER DATABASE ${q(database)} SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);`,
  snapshotIsolation: (database: string) => `ALTER DATABASE ${q(database)} SET ALLOW_SNAPSHOT_ISOLATION ON;`,
  tableChangeTracking: (schema: string, table: string) => `ALTER TABLE ${qualify(schema, table)} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);`,
};

export const DATABASE_STATE =
  'SELECT DB_NAME() AS name, (SELECT COUNT(*) FROM sys.change_tracking_databases WHERE database_id = DB_ID()) AS change_tracking, ' +
  '(SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) AS snapshot_isolation, CAST(SERVERPROPERTY(\'ProductVersion\') AS nvarchar(64)) AS version';

export const TRACKED_TABLES = 'SELECT SCHEMA_NAME(t.schema_id) AS schema_name, t.name AS name FROM sys.change_tracking_tables AS ct JOIN sys.tables AS t ON t.object_id = ct.object_id';

import type { ConformanceDriver } from '../driver';

/**
 * STUB — the SQL Server conformance driver, to be written with the SQL Server connector. It is not
 * registered in any test file: `test/connectors/mssql.test.ts` is added together with the driver and
 * calls `describeConformance(mssqlDriver)`, exactly like postgres.test.ts.
 *
 * How to implement each member (test/tds-server/tests/target.ts opens the scripted TDS server, or a
 * real SQL Server 2022 with MSSQL_URL; read test/tds-server/README.md "What the connector author
 * should know"):
 * - `skipReason()`: null.
 * - `open(label)`: a server from `startTdsTestServer({ database: { changeTracking: true,
 *   allowSnapshotIsolation: true } })` (or MSSQL_URL's database), a pool with `encrypt: false`.
 * - `connectorConfig()`: the SQL Server connector's own keys, e.g. `{ database: server.config() }`.
 * - `createTable(spec)`: `CREATE TABLE dbo.<name>` (int → int, string → nvarchar(400), double →
 *   float, bool → bit, date → datetime2(3)), PRIMARY KEY on `spec.key`, FOREIGN KEY … ON DELETE
 *   CASCADE for `references`, then `ALTER TABLE … ENABLE CHANGE_TRACKING WITH
 *   (TRACK_COLUMNS_UPDATED = ON)`.
 * - `transaction(ops)` / `session()`: `new sql.Transaction(pool)`; each op as `request.query` with
 *   parameters (never `request.batch` with inputs: the scripted server refuses the declarations);
 *   `upsert` as MERGE; `increment` as `SET n = n + @by`.
 * - `rows(table, columns)`: `SELECT … ORDER BY` the key; bigint comes back as text and decimals as
 *   numbers (tedious), Dates as ISO text.
 * - `addColumn`: `ALTER TABLE … ADD <name> <type> NULL`; `columnNames`: `sys.columns`.
 * - `isTransientWriteError(e)`: `e.number === 1205 || e.number === 1222` (the scripted server
 *   answers a locked row with 1222 at once instead of blocking).
 * - `unreachableConfig()`: `{ database: { server: '127.0.0.1', port: <a closed port>, … } }`.
 */
export const mssqlDriver: ConformanceDriver = {
  type: 'mssql',
  skipReason: () => 'the SQL Server connector is not built yet (test/connectors/drivers/mssql.ts is a stub)',
  open: () => Promise.reject(new Error('not implemented: the SQL Server conformance driver')),
  isTransientWriteError: () => false,
  unreachableConfig: () => {
    throw new Error('not implemented: the SQL Server conformance driver');
  },
};

/**
 * The SQL Server connector (docs/connectors/sqlserver.md): Change Tracking into realms, the
 * Adapter stream back into tables.
 *
 * @example
 * import { SqlServerConnector } from 'tributary/connectors/sqlserver';
 * const c = new SqlServerConnector(config, { log });
 * await c.start();
 */
export { SqlServerConnector, type SqlServerConnectorOptions, type SqlServerConnectorStatus, type SqlServerConnectorResetResult } from './connector';
export { validateConfig, poolConfig, describeDatabase, type SqlServerConnectorConfig, type TableMappingInput, type DatabaseInput, type Placement, type InitialLoad, type ConflictPolicy } from './config';
export { classify, classifyApplyError, mssqlErrors } from './errors';
export { compositeKey, keyPartText } from './mapping';
export { decodeCompositeKey, encodeCompositeKey } from '../kit/keys';
export { SQL_TYPES, columnType, type SqlColumnType } from './types';
export { setupStatements } from './tsql';
export { inspectSqlServerConnector, testSqlServerConnection, formatDatabaseStatus, realmSchemaOfConfig, type SqlServerDatabaseStatus } from './operations';
export { versionCodec, type Version } from './position';
export { sqlserverModule } from './module';
export type { Connector, ConnectorModule, ConnectorStatus } from '../contract';

/**
 * The PostgreSQL connector (docs/connectors/postgres.md).
 *
 * @example
 * import { PostgresConnector } from 'tributary/connectors/postgres';
 * const c = new PostgresConnector(config, { adminUser });
 * await c.start();
 */
export { PostgresConnector, controlRealmPath, type PostgresConnectorOptions, type PostgresConnectorStatus, type PostgresConnectorReport, type PostgresConnectorResetResult } from './connector';
export { inspectPostgresConnector, testPostgresConnection, slotWarnings, type DatabaseStatus, type SlotStatus, type SlotWarning } from './operations';
export { classify, type Classification } from './errors';
export { validateConfig, type PostgresConnectorConfig, type TableMappingInput, type Placement, type InitialLoad } from './config';
export { startWithRetry, type StartRetryOptions } from './start-retry';
export { runPostgresConnector, loadConnectorConfig, postgresConnectorStatus, resetPostgresConnector, clearPostgresDeadLetters, postgresRealmSchema } from './run';
export { realmSchemaOfConfig } from './realm-schema';
export type { LoadProgress } from './load';
export { encodeCompositeKey, decodeCompositeKey } from './mapping';
export { compositeKey, pgKeyText } from './keys';
export { DEAD_LETTER_TABLE, type DeadLetter, type DeadLetterRecord, type DeadLetterStore } from './dead-letters';
export { realmTypeFor, KNOWN_TYPES } from './types';
export { decodePgOutput, decodeReplicationFrame } from './pgoutput';
export { parseLsn, formatLsn, STATE_TYPE } from './position';
export type { Connector, ConnectorModule, ConnectorStatus } from '../contract';
export type { ConflictPolicy } from './config';

/**
 * The PostgreSQL connector (docs/connectors/postgres.md).
 *
 * @example
 * import { PostgresConnector } from 'tributary/connectors/postgres';
 * const c = new PostgresConnector(config, { adminUser });
 * await c.start();
 */
export { PostgresConnector, controlRealmPath, type PostgresConnectorOptions, type PostgresConnectorStatus } from './connector';
export { validateConfig, type PostgresConnectorConfig, type TableMappingInput, type Placement, type InitialLoad } from './config';
export { runPostgresConnector, loadConnectorConfig } from './run';
export type { LoadProgress } from './load';
export { encodeCompositeKey, decodeCompositeKey } from './mapping';
export { realmTypeFor, KNOWN_TYPES } from './types';
export { decodePgOutput, decodeReplicationFrame } from './pgoutput';
export { parseLsn, formatLsn, STATE_TYPE } from './position';

/**
 * The MongoDB connector (docs/connectors/mongodb.md).
 *
 * @example
 * import { MongoConnector } from 'tributary/connectors/mongodb';
 * const c = new MongoConnector(config, { adminUser });
 * await c.start();
 */
export { MongoConnector, type MongoConnectorOptions, type MongoConnectorStatus } from './connector';
export { mongodbModule } from './module';
export { classify } from './errors';
export { validateConfig, redactUrl, type MongoConnectorConfig, type TableMappingInput } from './config';
export { inspectMongoConnector, resetMongoConnector, testMongoConnection, type MongoDatabaseStatus, type MongoResetResult } from './operations';
export { inferSchema, type SchemaConflict } from './infer';
export { bsonKind, toBsonValue, toRealmValue, typeOfValue, type FieldType } from './types';
export { mongoPositionCodec, type MongoPosition } from './position';
export type { Connector, ConnectorModule, ConnectorStatus } from '../contract';

export { Server, type ServerConfig } from './server';
export { SERVER_OPTIONS, resolveOptions, defaultOptions, envName, flagName, optionsMarkdownTable, type ServerOptions, type ServerOptionName } from './options';
export { JsonLogger, silentLogger, type Logger, type LogLevel, type LogFields } from '../shared/logger';
export { readAdminToken, adminTokenFile } from './keys';
export { ADMIN_IDENTITY } from './tokens';
export { ADMIN_REALM_PATH } from './admin-realm';
export { SqliteDriver } from './storage/sqlite';
export type * from './storage/types';

export * from './values';
export * from './schema';
export * from './realm-path';
export * from './clock';

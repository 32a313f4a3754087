export * from './messages';
export * from './codec';
export * from './schema';
export * from './wire-schema';

export * from './transform';
export * from './integrate';
export * from './memory-history';

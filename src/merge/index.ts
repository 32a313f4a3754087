export * from './transform';
export * from './integrate';

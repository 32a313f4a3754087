export * from './instructions';
export * from './state';
export * from './apply';
export * from './codec';
export * from './buffered-state';

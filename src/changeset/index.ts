export * from './instructions';
export * from './state';
export * from './apply';
export * from './codec';

export * from './replica';
export * from './recovery';
export { REPLICA_FORMAT } from './replica-schema';
export * from './location';

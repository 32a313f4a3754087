export { Realm, type RealmConfiguration } from './realm';
export { RealmObject } from './object';
export { List } from './list';
export { Results, type SortDescriptor } from './results';
export { Collection } from './collection';
export type { UpdateMode } from './context';
export * from './sync-types';

export { ADMIN_REALM_PATH } from './constants';
export { RealmDirectory, type DirectoryChange, type RealmDirectoryOptions } from './realm-directory';
export { LocalCopies } from './local-copies';
export { adapterPredicate, notifierPattern, patternKey, testPattern, type PathPredicate } from './path-filter';
export { realmBaseUrl, checkAdminUser, type AdminUserLike } from './connection-settings';
export { Semaphore } from './semaphore';
export { LazyReplica } from './lazy-replica';

export { Notifier, DEFAULT_LISTENER_DIRECTORY, type NotifierEvent, type NotifierOptions, type NotifierLogger, type NotifierHandler, type RetryOptions } from './notifier';
export type { ChangeEvent } from './realm-watcher';
export type { ChangeSet } from './changes';
export {
  addListener,
  removeListener,
  removeAllListeners,
  localListenerRealms,
  setListenerDirectory,
  getListenerDirectory,
  setListenerLogger,
  setListenerOptions,
  sharedNotifier,
  type ListenerOptions,
  type RealmListenerConfiguration,
} from './global';

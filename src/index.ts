/**
 * Public entry. Two faces over one implementation (docs/api.md):
 *
 * - Realm-compatible: `const Realm = require('tributary')` / `import Realm from 'tributary'`,
 *   with `Realm.Sync.User`, `Realm.Sync.Credentials`, `Realm.Object`, `Realm.List`,
 *   `Realm.Results`, `Realm.Collection`.
 * - Typed: `import { Realm, User, Credentials, Server } from 'tributary'`.
 */
import { AuthError, Session, User, setLogLevel, setLogger } from './client';
import { Credentials } from './client/credentials';
import { Collection, Realm as RealmBase, SubscriptionState, waitForUploadsOnClose } from './realm';
import * as notifierApi from './notifier';
import { Adapter } from './adapter';

/**
 * Accepted and ignored: realm-js needed a feature token to unlock the notifier and Adapter;
 * Tributary has no locked features.
 */
function setFeatureToken(token?: unknown): void {
  void token;
}

/** `Realm.Sync` of realm-js 2.x: users, credentials, sessions. */
const Sync = {
  User,
  Credentials,
  Session,
  setFeatureToken,
  /** The realm-js 1.x name of setFeatureToken; accepted and ignored. */
  setAccessToken: setFeatureToken,
  // The global notifier (API.md §3).
  addListener: notifierApi.addListener,
  removeListener: notifierApi.removeListener,
  removeAllListeners: notifierApi.removeAllListeners,
  localListenerRealms: notifierApi.localListenerRealms,
  setListenerDirectory: notifierApi.setListenerDirectory,
  getListenerDirectory: notifierApi.getListenerDirectory,
  setListenerLogger: notifierApi.setListenerLogger,
  setListenerOptions: notifierApi.setListenerOptions,
  /** The Data Adapter (API.md §4). */
  Adapter,
  /** realm-js sync logging: `setLogLevel('debug')`, `setLogger((level, message) => …)` (src/client/sync-log.ts). */
  setLogLevel,
  setLogger,
  /** realm-js connection states, as `session.connectionState` reports them. */
  ConnectionState: { Disconnected: 'disconnected', Connecting: 'connecting', Connected: 'connected' } as const,
  /** Every connection waiting to reconnect tries now. */
  reconnect: () => User.reconnectAll(),
  /** What a failed login or account/permission call rejects with (a TributaryError). */
  AuthError,
  /** realm-js query-based-sync subscription states (subscriptions complete at once: every realm is fully synced). */
  SubscriptionState,
  /**
   * Tributary addition: resolves once the realms closed with changes not yet uploaded have
   * uploaded them (close() lets them finish, as realm-js did; see docs/api.md).
   */
  waitForUploadsOnClose,
};

/** Realm with the `Realm.Sync` namespace of realm-js. */
export class Realm extends RealmBase {
  static readonly Sync = Sync;
  static readonly User = User;
  static readonly Credentials = Credentials;
  static readonly Collection = Collection;
}

export { User, Session, AuthError } from './client';
export { Credentials } from './client/credentials';
export type { NodeCallback } from './client/user';
export type { UserOptions, SessionOptions, ConnectionOptions } from './client';
export type { ProgressCallback, ProgressDirection, ProgressMode } from './client/progress';
export { RealmObject, List, Results, Collection, diff as collectionDiff, Subscription, SubscriptionState } from './realm';
export type {
  RealmConfiguration,
  RealmObjectClass,
  SyncConfiguration,
  SyncSessionHandle,
  UpdateMode,
  CollectionChangeSet,
  ObjectChanges,
  RealmSchemaView,
  RealmPropertyView,
} from './realm';
export type { ServerConfig } from './server';
/**
 * The sync server (src/server). Loaded on first use, so a program that only syncs as a client
 * never loads the server's code: the property below is a getter.
 */
export declare const Server: typeof import('./server').Server;
Object.defineProperty(exports, 'Server', {
  enumerable: true,
  configurable: true,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  get: () => (require('./server') as typeof import('./server')).Server,
});
export { Notifier } from './notifier';
export { Adapter } from './adapter';
export {
  Fetcher,
  Poller,
  Dequeuer,
  RabbitMqSource,
  JetStreamSource,
  MessageBuffer,
  httpJsonSource,
  fetchRequestSchema,
  HttpStatusError,
  PermanentError,
  PollHttpError,
  ProcessedBatchSchema,
  ProcessedMessageSchema,
  DeadLetterSchema,
  PollerLeaseSchema,
} from './patterns';
export type {
  FetcherOptions,
  PollerOptions,
  DequeuerOptions,
  DequeueTarget,
  MessageSource,
  SourceMessage,
  FetchRequestView,
  CallFunction,
  PollFunction,
  PollResult,
} from './patterns';
export type { AdapterInstruction, AdapterInstructionType, AdapterTransaction, AdapterValue } from './adapter';
export type { ChangeEvent, ChangeSet, NotifierEvent, NotifierOptions, NotifierLogger, NotifierHandler, RealmListenerConfiguration } from './notifier';
export { FunctionsRuntime, type FunctionsRuntimeConfig, type FunctionInfo, type FunctionStatus } from './functions';
export { TributaryError, ERROR_CODES, type ErrorCode } from './errors';
export { ObjectId, UUID, Decimal128 } from './model';
export default Realm;

// `const Realm = require('tributary')` must give the Realm class itself (realm-js programs do
// that); every named export stays reachable as a static property of it.
// Properties are copied as descriptors, so the lazy `Server` getter stays lazy.
declare const module: { exports: Record<string, unknown> } | undefined;
if (typeof module !== 'undefined' && module.exports && module.exports.Realm === Realm) {
  const named = Object.getOwnPropertyDescriptors(module.exports);
  for (const [k, d] of Object.entries(named)) if (k !== 'default' && !(k in Realm)) Object.defineProperty(Realm, k, { ...d, enumerable: true });
  Object.defineProperty(Realm, 'default', { value: Realm });
  Object.defineProperty(Realm, '__esModule', { value: true });
  module.exports = Realm as unknown as Record<string, unknown>;
}
// For Node's ESM loader, which finds the names of a CommonJS module's exports by reading its text:
// it cannot see the getter above. Never runs.
// eslint-disable-next-line no-constant-condition
if (0 as number) module!.exports = { Server };

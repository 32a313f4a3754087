/**
 * Public entry. Two faces over one implementation (docs/client.md):
 *
 * - Realm-compatible: `const Realm = require('tributary')` / `import Realm from 'tributary'`,
 *   with `Realm.Sync.User`, `Realm.Object`, `Realm.List`, `Realm.Results`.
 * - Typed: `import { Realm, User } from 'tributary'`.
 */
import { Session, User } from './client';
import { Realm as RealmBase } from './realm';

/** Realm with the `Realm.Sync` namespace of realm-js. */
export class Realm extends RealmBase {
  static readonly Sync = { User, Session };
  static readonly User = User;
}

export { User, Session } from './client';
export type { UserOptions, SessionOptions, ConnectionOptions } from './client';
export { RealmObject, List, Results, Collection } from './realm';
export type { RealmConfiguration, SyncConfiguration, SyncSessionHandle, UpdateMode } from './realm';
export { Server, type ServerConfig } from './server';
export { TributaryError, ERROR_CODES, type ErrorCode } from './errors';
export { ObjectId, UUID, Decimal128 } from './model';
export default Realm;

// `const Realm = require('tributary')` must give the Realm class itself (realm-js programs do
// that); every named export stays reachable as a static property of it.
declare const module: { exports: Record<string, unknown> } | undefined;
if (typeof module !== 'undefined' && module.exports && module.exports.Realm === Realm) {
  const named = { ...module.exports };
  for (const [k, v] of Object.entries(named)) if (k !== 'default' && !(k in Realm)) Object.defineProperty(Realm, k, { value: v, enumerable: true });
  Object.defineProperty(Realm, 'default', { value: Realm });
  Object.defineProperty(Realm, '__esModule', { value: true });
  module.exports = Realm as unknown as Record<string, unknown>;
}

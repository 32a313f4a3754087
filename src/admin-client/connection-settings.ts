import { TributaryError } from '../errors';
import { parseServerUrl } from '../store';

/** What an admin tool needs from a user: realm-js programs pass `User.adminUser(token)`. */
export interface AdminUserLike {
  readonly identity: string;
  readonly isAdmin: boolean;
  readonly server?: string;
}

/**
 * Validates an admin tool's server URL (`realm://host:port`, `realms://`, `http(s)://`; no path)
 * and returns the base realm URLs are built on (`realm://host:port` or `realms://host:port`).
 */
export function realmBaseUrl(serverUrl: string): string {
  if (typeof serverUrl !== 'string') throw new TributaryError('INVALID_ARGUMENT', 'serverUrl must be a string such as realm://127.0.0.1:9080');
  const address = parseServerUrl(serverUrl);
  const u = new URL(serverUrl);
  if (u.pathname !== '' && u.pathname !== '/') throw new TributaryError('INVALID_ARGUMENT', `serverUrl must name only a host and port, not a path: '${serverUrl}'`);
  return address.syncUrl.replace(/^ws(s?):\/\//, 'realm$1://').replace(/\/sync$/, '');
}

export function checkAdminUser(user: unknown): asserts user is AdminUserLike {
  if (!user || typeof user !== 'object' || typeof (user as AdminUserLike).identity !== 'string') {
    throw new TributaryError('INVALID_ARGUMENT', 'adminUser must be a User (for example User.adminUser(adminToken))');
  }
  if (!(user as AdminUserLike).isAdmin) throw new TributaryError('PERMISSION_DENIED', 'User needs to be an admin.');
}

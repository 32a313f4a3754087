import * as nodePath from 'node:path';
import { TributaryError } from '../errors';
import { resolveRealmPath } from '../model';

/** A server address in every form the client needs it. */
export interface ServerAddress {
  /** `http(s)://host:port` — where `/auth` lives. */
  httpBase: string;
  /** `ws(s)://host:port/sync` — the sync endpoint. */
  syncUrl: string;
  /** `host_port`, safe as a directory name. */
  hostKey: string;
}

const SCHEMES: Record<string, { http: string; ws: string }> = {
  'realm:': { http: 'http:', ws: 'ws:' },
  'realms:': { http: 'https:', ws: 'wss:' },
  'http:': { http: 'http:', ws: 'ws:' },
  'https:': { http: 'https:', ws: 'wss:' },
  'ws:': { http: 'http:', ws: 'ws:' },
  'wss:': { http: 'https:', ws: 'wss:' },
};

/** Parses `realm://`, `realms://`, `http(s)://` or `ws(s)://` URLs (any path is ignored). */
export function parseServerUrl(url: string): ServerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TributaryError('INVALID_ARGUMENT', `not a server URL: '${url}'`);
  }
  const scheme = SCHEMES[u.protocol];
  if (!scheme) throw new TributaryError('INVALID_ARGUMENT', `unsupported URL scheme '${u.protocol}' in '${url}' (use realm://, realms://, http:// or https://)`);
  const host = u.host; // includes the port when given
  return {
    httpBase: `${scheme.http}//${host}`,
    syncUrl: `${scheme.ws}//${host}/sync`,
    hostKey: host.replace(/[^A-Za-z0-9.-]/g, '_'),
  };
}

/** A synced realm's URL split into its server and its server-side path (`~` kept). */
export interface RealmLocation extends ServerAddress {
  /** The path as the server gets it, `~` unresolved (`/~/private`). */
  path: string;
}

export function parseRealmUrl(url: string): RealmLocation {
  const server = parseServerUrl(url);
  // Taken from the raw text: URL parsing would silently resolve '..' segments.
  const afterScheme = url.slice(url.indexOf('://') + 3);
  const slash = afterScheme.indexOf('/');
  const raw = slash < 0 ? '' : afterScheme.slice(slash).replace(/[?#].*$/, '');
  const path = decodeURIComponent(raw);
  if (!path || path === '/') throw new TributaryError('INVALID_ARGUMENT', `realm URL '${url}' has no realm path`);
  resolveRealmPath(path, 'x'); // validate early: a bad path is a clear error before any I/O
  return { ...server, path };
}

/** Default root of local replicas: `./tributary-data` under the working directory. */
export const DEFAULT_DATA_DIRECTORY = 'tributary-data';

/**
 * The local file of a synced realm: `<dir>/<host_port>/<identity>/<realm path with ~ resolved>.db`.
 * Realm paths are validated, so the result never escapes `dir`.
 */
export function defaultReplicaPath(location: RealmLocation, identity: string, dir = DEFAULT_DATA_DIRECTORY): string {
  const resolved = resolveRealmPath(location.path, identity);
  const safeIdentity = identity.replace(/[^A-Za-z0-9_.-]/g, '_');
  return nodePath.resolve(dir, location.hostKey, safeIdentity, ...resolved.slice(1).split('/')) + '.db';
}

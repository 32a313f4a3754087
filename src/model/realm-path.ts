/** Default upper bound on a realm path's length, in characters. */
export const MAX_REALM_PATH_LENGTH = 1024;

const SEGMENT = /^[A-Za-z0-9_.\-~$@+]+$/;

export class RealmPathError extends Error {
  readonly code = 'ILLEGAL_REALM_PATH';
  constructor(path: string, reason: string) {
    super(`illegal realm path '${path.length > 80 ? path.slice(0, 80) + '…' : path}': ${reason}`);
    this.name = 'RealmPathError';
  }
}

/**
 * Validates a server-side realm path and resolves `~` to the user's identity.
 *
 * A path starts with `/`, has one or more non-empty segments of `[A-Za-z0-9_.-~$@+]`, no `.` or
 * `..` segments and at most {@link MAX_REALM_PATH_LENGTH} characters. `~` is allowed only as a
 * whole segment and becomes `userId`. The result is never a file-system path.
 */
export function resolveRealmPath(path: string, userId: string | null, maxLength = MAX_REALM_PATH_LENGTH): string {
  if (typeof path !== 'string' || path.length === 0) throw new RealmPathError(String(path), 'empty');
  if (path.length > maxLength) throw new RealmPathError(path, `longer than ${maxLength} characters`);
  if (!path.startsWith('/')) throw new RealmPathError(path, "must start with '/'");
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  for (const seg of segments) {
    if (seg.length === 0) throw new RealmPathError(path, 'empty segment');
    if (seg === '.' || seg === '..') throw new RealmPathError(path, `'${seg}' segment`);
    if (seg === '~') {
      if (!userId) throw new RealmPathError(path, "'~' needs a logged-in user");
      out.push(userId);
      continue;
    }
    if (seg.includes('~')) throw new RealmPathError(path, "'~' must be a whole segment");
    if (!SEGMENT.test(seg)) throw new RealmPathError(path, `segment '${seg}' has characters outside [A-Za-z0-9_.-~$@+]`);
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** System realms (`/__admin`, `/__…`) are maintained by the server and visible to admins only. */
export function isSystemRealm(path: string): boolean {
  return path.startsWith('/__');
}

import { isSystemRealm } from '../model/realm-path';
import { EVERYONE } from './storage/account-types';
import type { PermissionLevel, ReadTransaction } from './storage/types';

export type AccessLevel = 'none' | PermissionLevel;

export interface Access {
  level: AccessLevel;
  /** Whether this user may create the realm by binding it. */
  mayCreate: boolean;
}

const RANK: Record<AccessLevel, number> = { none: 0, read: 1, write: 2, manage: 3 };

export function atLeast(level: AccessLevel, needed: PermissionLevel): boolean {
  return RANK[level] >= RANK[needed];
}

/** The higher of two levels (undefined counts as none). */
export function higher(a: AccessLevel | undefined, b: AccessLevel | undefined): AccessLevel {
  const x = a ?? 'none';
  const y = b ?? 'none';
  return RANK[x] >= RANK[y] ? x : y;
}

/**
 * Who may do what with a realm path (already resolved: no `~`). The rules, in order:
 * admins may do anything; system realms (`/__…`) are for admins only; a user owns every realm
 * whose first segment is their identity; otherwise only an explicit grant counts (which never
 * allows creating the realm).
 */
export function accessFor(user: { identity: string; isAdmin: boolean }, realmPath: string, grant: PermissionLevel | undefined): Access {
  if (user.isAdmin) return { level: 'manage', mayCreate: true };
  if (isSystemRealm(realmPath)) return { level: 'none', mayCreate: false };
  if (ownerOf(realmPath) === user.identity) return { level: 'manage', mayCreate: true };
  return { level: grant ?? 'none', mayCreate: false };
}

/**
 * {@link accessFor} against storage as it is now: the user's own grant or the one for everyone
 * (`*`), whichever is higher, and the admin flag as stored (a token's `adm` claim is only what
 * was true when it was issued). The server's own admin identity (`__admin`, from the admin
 * token) has no user row; its token is checked for revocation when verified.
 */
export function currentAccess(tx: ReadTransaction, user: { identity: string; isAdmin: boolean }, realmPath: string): Access {
  const stored = /^[0-9a-f]{32}$/.test(user.identity) ? tx.getUserById(user.identity) : undefined;
  const isAdmin = stored ? stored.isAdmin : user.isAdmin && !/^[0-9a-f]{32}$/.test(user.identity);
  const grant = higher(tx.getPermission(realmPath, user.identity), tx.getPermission(realmPath, EVERYONE));
  return accessFor({ identity: user.identity, isAdmin }, realmPath, grant === 'none' ? undefined : grant);
}

/** The owner of a user realm (its first segment when that is a user identity), else null. */
export function ownerOf(realmPath: string): string | null {
  const first = realmPath.split('/')[1] ?? '';
  return /^[0-9a-f]{32}$/.test(first) ? first : null;
}

import { isSystemRealm } from '../model/realm-path';
import type { PermissionLevel } from './storage/types';

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

/** The owner of a user realm (its first segment when that is a user identity), else null. */
export function ownerOf(realmPath: string): string | null {
  const first = realmPath.split('/')[1] ?? '';
  return /^[0-9a-f]{32}$/.test(first) ? first : null;
}

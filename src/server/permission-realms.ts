import { createHash } from 'node:crypto';
import type { Instruction } from '../changeset/instructions';
import { recordRealm, writeServerChangeset } from './admin-realm';
import { ownerOf } from './permissions';
import { EVERYONE, type GrantRecord, type PermissionLevel } from './storage/account-types';
import type { WriteTransaction } from './storage/types';

/**
 * Each user's permission realm, `/<identity>/__permission`, as realm-js 2.x read it in
 * `user.getGrantedPermissions()`: one `Permission {userId, path, mayRead, mayWrite, mayManage,
 * updatedAt}` per grant the user received and per grant others hold on the user's realms. The
 * schema is realm-js's (no primary key), so a program that opens the realm with that schema
 * merges with it; the server gives each object a key derived from (path, user), so it can update
 * and delete it.
 */
export const PERMISSION_REALM_NAME = '__permission';

export const PERMISSION_REALM_SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'Permission',
    primaryKey: null,
    properties: [
      { name: 'userId', type: 'string', optional: false },
      { name: 'path', type: 'string', optional: false },
      { name: 'mayRead', type: 'bool', optional: false },
      { name: 'mayWrite', type: 'bool', optional: false },
      { name: 'mayManage', type: 'bool', optional: false },
      { name: 'updatedAt', type: 'date', optional: false },
    ],
  },
];

/** The object key of the Permission for (path, user): `_` and 24 hex digits, like client-minted keys. */
export function permissionObjectKey(realmPath: string, userId: string): string {
  return '_' + createHash('sha256').update(`${realmPath}\u0000${userId}`).digest('hex').slice(0, 24);
}

export function permissionRealmPath(identity: string): string {
  return `/${identity}/${PERMISSION_REALM_NAME}`;
}

/**
 * Mirrors one grant (level null: removed) into the permission realms of the grantee and of the
 * realm's owner, creating those realms when needed. Returns the ids of the realms written, for
 * notification (the admin realm's among them when a permission realm was created).
 */
export function mirrorGrant(tx: WriteTransaction, grant: { realmPath: string; userId: string; level: PermissionLevel | null; updatedAt: number }, tick: () => number): number[] {
  const changed = new Set<number>();
  const users = new Set<string>();
  if (grant.userId !== EVERYONE) users.add(grant.userId);
  const owner = ownerOf(grant.realmPath);
  if (owner) users.add(owner);
  for (const identity of users) {
    if (!tx.getUserById(identity)) continue;
    const path = permissionRealmPath(identity);
    let realm = tx.getRealm(path);
    if (realm?.deleted) continue;
    if (!realm) {
      realm = tx.createRealm(path, identity, Date.now());
      changed.add(recordRealm(tx, realm, tick));
      writeServerChangeset(tx, realm.id, PERMISSION_REALM_SCHEMA, tick);
    }
    const key = permissionObjectKey(grant.realmPath, grant.userId);
    const exists = !!tx.realm(realm.id).getObject('Permission', key);
    const instructions: Instruction[] = [];
    if (grant.level === null) {
      if (exists) instructions.push({ op: 'Delete', type: 'Permission', id: key });
    } else {
      instructions.push({ op: exists ? 'Set' : 'Create', type: 'Permission', id: key, values: permissionValues({ ...grant, level: grant.level }) });
    }
    if (instructions.length === 0) continue;
    writeServerChangeset(tx, realm.id, instructions, tick);
    changed.add(realm.id);
  }
  return [...changed];
}

function permissionValues(g: Pick<GrantRecord, 'realmPath' | 'userId' | 'level' | 'updatedAt'>) {
  return { userId: g.userId, path: g.realmPath, mayRead: true, mayWrite: g.level !== 'read', mayManage: g.level === 'manage', updatedAt: new Date(g.updatedAt) };
}

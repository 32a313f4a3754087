import { apply } from '../changeset/apply';
import type { Instruction } from '../changeset/instructions';
import type { PropertySchema } from '../model';
import type { RealmRecord, UserRecord, WriteTransaction } from './storage/types';

/**
 * The `/__admin` system realm. The server keeps it as ordinary history (origin file ident 0), so
 * admins sync it like any realm and the notifier discovers realms from its RealmFile objects.
 */
export const ADMIN_REALM_PATH = '/__admin';

const prop = (name: string, type: PropertySchema['type'], optional = false): PropertySchema => ({ name, type, optional });

export const ADMIN_REALM_SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'RealmFile',
    primaryKey: 'path',
    properties: [prop('path', 'string'), prop('owner', 'string', true), prop('createdAt', 'date'), prop('deleted', 'bool')],
  },
  {
    op: 'AddType',
    type: 'User',
    primaryKey: 'id',
    properties: [prop('id', 'string'), prop('username', 'string', true), prop('isAdmin', 'bool'), prop('createdAt', 'date')],
  },
];

/**
 * Applies a server-made changeset to a realm's state and appends it to its history. It is based on
 * the latest version, so it needs no transformation; uploads based on older versions are
 * transformed past it like past any other entry.
 */
export function writeServerChangeset(tx: WriteTransaction, realmId: number, instructions: Instruction[], tick: () => number): number {
  const rt = tx.realm(realmId);
  apply(rt, instructions);
  return rt.append({ originFileIdent: 0, originTimestamp: tick(), clientVersion: 0, instructions });
}

/** Creates `/__admin` with its schema when missing. Returns its record. */
export function ensureAdminRealm(tx: WriteTransaction, now: number, tick: () => number): RealmRecord {
  const existing = tx.getRealm(ADMIN_REALM_PATH);
  if (existing) return existing;
  const realm = tx.createRealm(ADMIN_REALM_PATH, null, now);
  writeServerChangeset(tx, realm.id, ADMIN_REALM_SCHEMA, tick);
  return tx.getRealm(ADMIN_REALM_PATH)!;
}

/** Records a new realm in `/__admin` (RealmFile). Returns the admin realm id. */
export function recordRealm(tx: WriteTransaction, realm: RealmRecord, tick: () => number): number {
  const admin = ensureAdminRealm(tx, realm.createdAt, tick);
  writeServerChangeset(
    tx,
    admin.id,
    [{ op: 'Create', type: 'RealmFile', id: realm.path, values: { owner: realm.owner, createdAt: new Date(realm.createdAt), deleted: realm.deleted } }],
    tick,
  );
  return admin.id;
}

/** Records a new user in `/__admin` (User). Returns the admin realm id. */
export function recordUser(tx: WriteTransaction, user: UserRecord, tick: () => number): number {
  const admin = ensureAdminRealm(tx, user.createdAt, tick);
  writeServerChangeset(
    tx,
    admin.id,
    [{ op: 'Create', type: 'User', id: user.id, values: { username: user.username, isAdmin: user.isAdmin, createdAt: new Date(user.createdAt) } }],
    tick,
  );
  return admin.id;
}

import { apply } from '../changeset/apply';
import type { Instruction } from '../changeset/instructions';
import type { StateStore } from '../changeset/state';
import type { PropertySchema, Value } from '../model';
import { EVERYONE, type AccountRecord, type GrantRecord } from './storage/account-types';
import type { RealmRecord, UserRecord, WriteTransaction } from './storage/types';

/**
 * The `/__admin` system realm, in the layout of the Realm Object Server's admin realm so programs
 * written for it can query it (`User.accounts`, `Account.provider_id`, `RealmFile.owner`,
 * `RealmFile.realmType`, `Permission`). The server keeps it as ordinary history (origin file
 * ident 0), so admins sync it like any realm and the notifier discovers realms from its RealmFile
 * objects. The tables are the truth; this realm mirrors them, and {@link reconcileAdminRealm}
 * repairs any difference at start.
 */
export const ADMIN_REALM_PATH = '/__admin';

const prop = (name: string, type: PropertySchema['type'], optional = false, objectType?: string): PropertySchema =>
  objectType === undefined ? { name, type, optional } : { name, type, optional, objectType };

export const ADMIN_REALM_SCHEMA: Instruction[] = [
  {
    op: 'AddType',
    type: 'User',
    primaryKey: 'id',
    properties: [
      prop('id', 'string'),
      prop('userId', 'string'),
      prop('username', 'string', true),
      prop('isAdmin', 'bool'),
      prop('createdAt', 'date'),
      prop('accounts', 'list', false, 'Account'),
    ],
  },
  {
    op: 'AddType',
    type: 'Account',
    primaryKey: 'id',
    properties: [
      prop('id', 'string'),
      prop('provider', 'string'),
      // ROS 1.x/2.x spelled it provider_id; later SDK code reads providerId. Both are kept.
      prop('provider_id', 'string'),
      prop('providerId', 'string'),
      prop('user', 'object', true, 'User'),
      prop('createdAt', 'date'),
    ],
  },
  {
    op: 'AddType',
    type: 'RealmFile',
    primaryKey: 'path',
    properties: [
      prop('path', 'string'),
      prop('realmType', 'string'),
      prop('syncLabel', 'string', true),
      prop('owner', 'object', true, 'User'),
      prop('createdAt', 'date'),
      prop('deleted', 'bool'),
    ],
  },
  {
    op: 'AddType',
    type: 'Permission',
    primaryKey: 'id',
    properties: [
      prop('id', 'string'),
      prop('path', 'string'),
      prop('userId', 'string'),
      prop('user', 'object', true, 'User'),
      prop('realmFile', 'object', true, 'RealmFile'),
      prop('mayRead', 'bool'),
      prop('mayWrite', 'bool'),
      prop('mayManage', 'bool'),
      prop('updatedAt', 'date'),
    ],
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

/** The admin realm while a server changeset is built: `push` applies at once, so later instructions see earlier ones. */
interface Staged {
  state: StateStore;
  push(instructions: Instruction[]): void;
}

/** Builds one server changeset of `/__admin` (nothing when `build` pushes nothing). Returns the admin realm id. */
function write(tx: WriteTransaction, build: (staged: Staged) => void, tick: () => number): number {
  const admin = ensureAdminRealm(tx, Date.now(), tick);
  const rt = tx.realm(admin.id);
  const applied: Instruction[] = [];
  build({
    state: rt,
    push(instructions) {
      if (instructions.length === 0) return;
      apply(rt, instructions);
      applied.push(...instructions);
    },
  });
  if (applied.length > 0) rt.append({ originFileIdent: 0, originTimestamp: tick(), clientVersion: 0, instructions: applied });
  return admin.id;
}

const accountKey = (a: Pick<AccountRecord, 'provider' | 'providerId'>) => `${a.provider}/${a.providerId}`;
const grantKey = (g: Pick<GrantRecord, 'realmPath' | 'userId'>) => `${g.realmPath}|${g.userId}`;

function realmFileValues(state: StateStore, realm: RealmRecord): Record<string, Value> {
  const owner = realm.owner && state.getObject('User', realm.owner) ? realm.owner : null;
  return { realmType: 'full', syncLabel: null, owner, createdAt: new Date(realm.createdAt), deleted: realm.deleted };
}

function userInstructions(state: StateStore, user: UserRecord, accounts: AccountRecord[]): Instruction[] {
  const out: Instruction[] = [];
  const values = { userId: user.id, username: user.username, isAdmin: user.isAdmin, createdAt: new Date(user.createdAt) };
  const existing = state.getObject('User', user.id);
  if (!existing) out.push({ op: 'Create', type: 'User', id: user.id, values });
  else if (existing.values.isAdmin !== user.isAdmin || existing.values.username !== user.username || existing.values.userId !== user.id) {
    out.push({ op: 'Set', type: 'User', id: user.id, values });
  }
  let size = existing?.lists.accounts?.length ?? 0;
  const linked = new Set((existing?.lists.accounts ?? []).map((e) => e.value));
  for (const a of accounts) {
    const key = accountKey(a);
    if (!state.getObject('Account', key)) {
      out.push({ op: 'Create', type: 'Account', id: key, values: { provider: a.provider, provider_id: a.providerId, providerId: a.providerId, user: user.id, createdAt: new Date(a.createdAt) } });
    }
    if (!linked.has(key)) out.push({ op: 'ListInsert', type: 'User', id: user.id, property: 'accounts', index: size, prior: size++, value: key });
  }
  return out;
}

/** Records a new realm in `/__admin` (RealmFile). Returns the admin realm id. */
export function recordRealm(tx: WriteTransaction, realm: RealmRecord, tick: () => number): number {
  return write(tx, (w) => w.push([{ op: 'Create', type: 'RealmFile', id: realm.path, values: realmFileValues(w.state, realm) }]), tick);
}

/** Records a user (new or changed: admin flag, accounts) in `/__admin`. Returns the admin realm id. */
export function recordUser(tx: WriteTransaction, user: UserRecord, tick: () => number): number {
  return write(tx, (w) => w.push(userInstructions(w.state, user, tx.accounts.accountsOf(user.id))), tick);
}

/** Records a grant (`level` null: removed) in `/__admin` (Permission). Returns the admin realm id. */
export function recordGrant(tx: WriteTransaction, grant: Omit<GrantRecord, 'level'> & { level: GrantRecord['level'] | null }, tick: () => number): number {
  return write(tx, (w) => w.push(grantInstructions(w.state, grant)), tick);
}

function grantInstructions(state: StateStore, grant: Omit<GrantRecord, 'level'> & { level: GrantRecord['level'] | null }): Instruction[] {
  const id = grantKey(grant);
  const existing = state.getObject('Permission', id);
  if (grant.level === null) return existing ? [{ op: 'Delete', type: 'Permission', id }] : [];
  const values = {
    path: grant.realmPath,
    userId: grant.userId,
    user: grant.userId !== EVERYONE && state.getObject('User', grant.userId) ? grant.userId : null,
    realmFile: state.getObject('RealmFile', grant.realmPath) ? grant.realmPath : null,
    mayRead: true,
    mayWrite: grant.level !== 'read',
    mayManage: grant.level === 'manage',
    updatedAt: new Date(grant.updatedAt),
  };
  return [{ op: existing ? 'Set' : 'Create', type: 'Permission', id, values }];
}

/**
 * Makes `/__admin` hold every user (with accounts), realm and grant of the tables, and no grant
 * that is gone. Run at start: it builds the ROS layout after the migration retired the old realm,
 * and repairs whatever a crash between two writes could have left behind.
 */
export function reconcileAdminRealm(tx: WriteTransaction, tick: () => number): number {
  return write(
    tx,
    (w) => {
      for (const user of tx.listUsers()) w.push(userInstructions(w.state, user, tx.accounts.accountsOf(user.id)));
      for (const realm of tx.listRealms()) {
        if (realm.path === ADMIN_REALM_PATH || realm.path.startsWith(`${ADMIN_REALM_PATH}-`)) continue;
        const existing = w.state.getObject('RealmFile', realm.path);
        const values = realmFileValues(w.state, realm);
        if (!existing) w.push([{ op: 'Create', type: 'RealmFile', id: realm.path, values }]);
        else if (existing.values.deleted !== realm.deleted || (existing.values.owner ?? null) !== values.owner) {
          w.push([{ op: 'Set', type: 'RealmFile', id: realm.path, values: { deleted: realm.deleted, owner: values.owner } }]);
        }
      }
      const grants = tx.accounts.listGrants();
      const wanted = new Set(grants.map(grantKey));
      for (const g of grants) {
        const existing = w.state.getObject('Permission', grantKey(g));
        const level = existing && (existing.values.mayManage ? 'manage' : existing.values.mayWrite ? 'write' : 'read');
        if (!existing || level !== g.level) w.push(grantInstructions(w.state, g));
      }
      for (const p of [...w.state.objects('Permission')]) if (!wanted.has(String(p.id))) w.push([{ op: 'Delete', type: 'Permission', id: p.id }]);
    },
    tick,
  );
}

import { randomBytes } from 'node:crypto';
import { TributaryError } from '../errors';
import { isSystemRealm, RealmPathError, resolveRealmPath } from '../model/realm-path';
import type { Logger } from '../shared/logger';
import type { RealmNotifier } from './accounts';
import { recordGrant } from './admin-realm';
import type { CommitQueue } from './commit-queue';
import type { LiveAccess } from './live-access';
import { mirrorGrant } from './permission-realms';
import { atLeast, currentAccess, higher, type AccessLevel } from './permissions';
import { EVERYONE, type GrantRecord, type OfferRecord, type PermissionLevel } from './storage/account-types';
import type { StorageDriver, WriteTransaction } from './storage/types';

/** The caller of a permission operation (from a verified token). */
export interface Caller {
  identity: string;
  isAdmin: boolean;
}

/** A grant as the APIs show it (ROS Permission fields included). */
export interface GrantView {
  path: string;
  userId: string;
  accessLevel: AccessLevel;
  mayRead: boolean;
  mayWrite: boolean;
  mayManage: boolean;
  updatedAt: string;
}

export interface OfferView {
  token: string;
  path: string;
  accessLevel: PermissionLevel;
  expiresAt: string | null;
  createdAt: string;
}

/**
 * Access level names the APIs accept: Tributary's (`none`, `read`, `write`, `manage`) and
 * realm-js/ROS's `admin` for manage.
 */
export function parseLevel(raw: unknown): AccessLevel {
  if (raw === 'admin') return 'manage';
  if (raw === 'none' || raw === 'read' || raw === 'write' || raw === 'manage') return raw;
  throw new TributaryError('INVALID_ARGUMENT', `accessLevel must be none, read, write, manage (or admin), not ${JSON.stringify(raw)}`);
}

export function grantView(g: GrantRecord): GrantView {
  return {
    path: g.realmPath,
    userId: g.userId,
    accessLevel: g.level,
    mayRead: true,
    mayWrite: g.level !== 'read',
    mayManage: g.level === 'manage',
    updatedAt: new Date(g.updatedAt).toISOString(),
  };
}

function offerView(o: OfferRecord): OfferView {
  return { token: o.token, path: o.realmPath, accessLevel: o.level, expiresAt: o.expiresAt === null ? null : new Date(o.expiresAt).toISOString(), createdAt: new Date(o.createdAt).toISOString() };
}

/**
 * Realm-level permissions: read / write / manage per realm path and user (`*`: everyone), on top
 * of the fixed rules in permissions.ts (admins everything, owners their `/<identity>/…` realms).
 * A grant may be changed by an admin or by whoever may manage the realm (its owner, or a manage
 * grant); offers hand a level to whoever accepts a token. Every change is written to the
 * permissions table, mirrored to `/__admin` (Permission) and to the users' `__permission`
 * realms in the same transaction, and then applied to live sessions ({@link LiveAccess}).
 */
export class PermissionService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly sync: RealmNotifier,
    private readonly live: LiveAccess,
    private readonly maxPathLength: number,
    private readonly log: Logger,
  ) {}

  /** Resolves a realm path or URL (`~` is the caller) for a grant; system realms cannot be granted. */
  resolvePath(caller: Caller, raw: unknown): string {
    if (typeof raw !== 'string' || raw.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'realmPath must be a string');
    let text = raw;
    if (/^[a-z]+:\/\//i.test(raw)) {
      try {
        text = decodeURIComponent(new URL(raw).pathname);
      } catch {
        throw new TributaryError('INVALID_ARGUMENT', `not a realm URL: ${raw}`);
      }
    }
    let path: string;
    try {
      path = resolveRealmPath(text, /^[0-9a-f]{32}$/.test(caller.identity) ? caller.identity : null, this.maxPathLength);
    } catch (e) {
      if (e instanceof RealmPathError) throw new TributaryError('ILLEGAL_REALM_PATH', e.message);
      throw e;
    }
    if (isSystemRealm(path)) throw new TributaryError('PERMISSION_DENIED', `system realms (${path}) are for admins only and take no grants`);
    return path;
  }

  /** Throws PERMISSION_DENIED unless `caller` may manage `path` now. */
  async checkManage(caller: Caller, path: string): Promise<void> {
    const access = await this.storage.read((tx) => currentAccess(tx, caller, path));
    if (!atLeast(access.level, 'manage')) throw new TributaryError('PERMISSION_DENIED', `you may not manage ${path}`);
  }

  /**
   * Sets `userId`'s level on `realmPath` (`none` removes the grant). `userId` is a user identity,
   * a password user's name, or `*` for everyone.
   */
  async apply(caller: Caller, realmPath: unknown, userId: unknown, rawLevel: unknown): Promise<GrantView | null> {
    const path = this.resolvePath(caller, realmPath);
    const level = parseLevel(rawLevel);
    await this.checkManage(caller, path);
    const target = await this.resolveUser(userId);
    const now = Date.now();
    const grant = { realmPath: path, userId: target, level: level === 'none' ? null : level, updatedAt: now };
    await this.write((_tx, record) => record(grant));
    this.log.info('permission changed', { path, user: target, level, by: caller.identity });
    return grant.level === null ? null : grantView({ ...grant, level: grant.level });
  }

  /**
   * Grants for realm-js's `getGrantedPermissions(recipient)`: `currentUser` — grants the caller
   * holds; `otherUser` — grants others hold on realms the caller manages; `any` — both.
   */
  async granted(caller: Caller, recipient: unknown = 'any'): Promise<GrantView[]> {
    if (recipient !== 'any' && recipient !== 'currentUser' && recipient !== 'otherUser') throw new TributaryError('INVALID_ARGUMENT', 'recipient must be any, currentUser or otherUser');
    return this.storage.read((tx) => {
      const out: GrantRecord[] = [];
      if (recipient !== 'otherUser') out.push(...tx.accounts.listGrants({ userId: caller.identity }), ...tx.accounts.listGrants({ userId: EVERYONE }));
      if (recipient !== 'currentUser') {
        for (const g of tx.accounts.listGrants()) if (g.userId !== caller.identity && atLeast(currentAccess(tx, caller, g.realmPath).level, 'manage')) out.push(g);
      }
      const seen = new Set<string>();
      return out.filter((g) => !seen.has(`${g.realmPath}|${g.userId}`) && seen.add(`${g.realmPath}|${g.userId}`)).map(grantView);
    });
  }

  /** Every grant, optionally of one path or user (admin API). */
  async list(filter: { path?: string; user?: string } = {}): Promise<GrantView[]> {
    const userId = filter.user === undefined ? undefined : await this.resolveUser(filter.user);
    return this.storage.read((tx) => tx.accounts.listGrants({ realmPath: filter.path, userId }).map(grantView));
  }

  /** Creates an offer of `level` on `realmPath`; `expiresAt` ms, ISO text or a Date. Returns the token. */
  async offer(caller: Caller, realmPath: unknown, rawLevel: unknown, expiresAt?: unknown): Promise<OfferView> {
    const path = this.resolvePath(caller, realmPath);
    const level = parseLevel(rawLevel);
    if (level === 'none') throw new TributaryError('INVALID_ARGUMENT', 'an offer must give read, write or manage');
    await this.checkManage(caller, path);
    const expiry = expiresAt === undefined || expiresAt === null ? null : new Date(expiresAt as string | number).getTime();
    if (expiry !== null && (!Number.isFinite(expiry) || expiry <= Date.now())) throw new TributaryError('INVALID_ARGUMENT', 'expiresAt must be a time in the future');
    const offer: OfferRecord = { token: randomBytes(24).toString('base64url'), realmPath: path, level, createdBy: caller.identity, createdAt: Date.now(), expiresAt: expiry, revoked: false };
    await this.queue.submit((tx) => tx.accounts.putOffer(offer));
    this.log.info('permission offered', { path, level, by: caller.identity });
    return offerView(offer);
  }

  /** Accepts an offer: the caller gets its level (never less than they had). Returns the grant. */
  async accept(caller: Caller, token: unknown): Promise<GrantView> {
    if (!/^[0-9a-f]{32}$/.test(caller.identity)) throw new TributaryError('INVALID_ARGUMENT', 'offers are accepted by users, not with the admin token');
    const grant = await this.write((tx, record) => {
      const offer = typeof token === 'string' ? tx.accounts.getOffer(token) : undefined;
      if (!offer || offer.revoked || (offer.expiresAt !== null && offer.expiresAt <= Date.now())) throw new TributaryError('INVALID_OFFER', 'the offer is unknown, invalidated or expired');
      const had = tx.getPermission(offer.realmPath, caller.identity);
      const level = higher(had, offer.level) as PermissionLevel;
      const g = { realmPath: offer.realmPath, userId: caller.identity, level, updatedAt: Date.now() };
      if (had !== level) record(g);
      return g;
    });
    this.log.info('permission offer accepted', { path: grant.realmPath, user: caller.identity });
    return grantView(grant);
  }

  /** Invalidates an offer (its creator or an admin). */
  async invalidate(caller: Caller, token: unknown): Promise<void> {
    await this.queue.submit((tx) => {
      const offer = typeof token === 'string' ? tx.accounts.getOffer(token) : undefined;
      if (!offer) throw new TributaryError('INVALID_OFFER', 'the offer is unknown');
      if (offer.createdBy !== caller.identity && !caller.isAdmin) throw new TributaryError('PERMISSION_DENIED', 'only its creator or an admin may invalidate an offer');
      tx.accounts.revokeOffer(offer.token);
    });
  }

  async offers(caller: Caller): Promise<OfferView[]> {
    return this.storage.read((tx) => tx.accounts.listOffers(caller.isAdmin && !/^[0-9a-f]{32}$/.test(caller.identity) ? undefined : caller.identity).map(offerView));
  }

  /** A user identity from an identity, a password user's name, or `*`. */
  private async resolveUser(raw: unknown): Promise<string> {
    if (raw === EVERYONE) return EVERYONE;
    if (typeof raw !== 'string' || raw.length === 0) throw new TributaryError('INVALID_ARGUMENT', "userId must be a user identity, a user name or '*'");
    const user = await this.storage.read((tx) => (/^[0-9a-f]{32}$/.test(raw) ? tx.getUserById(raw) : undefined) ?? tx.getUserByName(raw.normalize('NFC')));
    if (!user) throw new TributaryError('NO_SUCH_USER', `no user '${raw}'`);
    return user.id;
  }

  /** Table, `/__admin` and permission realms of one grant change; returns the realms written. */
  private writeGrant(tx: WriteTransaction, grant: PendingGrant): number[] {
    const tick = () => this.sync.clock.tick();
    tx.accounts.setGrant(grant.realmPath, grant.userId, grant.level, grant.updatedAt);
    return [recordGrant(tx, grant, tick), ...mirrorGrant(tx, grant, tick)];
  }

  /**
   * Runs a job that changes grants (through `record`) in the group commit; then re-checks the live
   * sessions of the changed paths and notifies the realms written.
   */
  private async write<T>(fn: (tx: WriteTransaction, record: (grant: PendingGrant) => void) => T): Promise<T> {
    const realms = new Set<number>();
    const paths = new Set<string>();
    const result = await this.queue.submit((tx) =>
      fn(tx, (grant) => {
        for (const id of this.writeGrant(tx, grant)) realms.add(id);
        paths.add(grant.realmPath);
      }),
    );
    for (const path of paths) await this.live.recheck({ path });
    for (const id of realms) this.sync.notify(id);
    return result;
  }
}

interface PendingGrant {
  realmPath: string;
  userId: string;
  level: PermissionLevel | null;
  updatedAt: number;
}

import { TributaryError } from '../errors';
import type { AccountService } from './accounts';
import type { AdminTokens } from './admin-tokens';
import type { AuthService } from './auth';
import { Reply, type Route, type RouteRequest } from './http';
import type { LiveAccess } from './live-access';
import type { Caller, PermissionService } from './permission-service';
import type { SessionTokens } from './session-tokens';
import type { StorageDriver } from './storage/types';
import { ADMIN_IDENTITY, type TokenService } from './tokens';

export interface RouteServices {
  storage: StorageDriver;
  tokens: TokenService;
  auth: AuthService;
  accounts: AccountService;
  sessions: SessionTokens;
  adminTokens: AdminTokens;
  permissions: PermissionService;
  live: LiveAccess;
}

/**
 * The caller of an authenticated route: the token of the `Authorization` header (an access token
 * or the admin token), verified (revocation included), with the admin flag as stored now.
 */
export async function callerOf(s: Pick<RouteServices, 'tokens' | 'storage'>, request: RouteRequest): Promise<Caller> {
  if (!request.token) throw new TributaryError('BAD_AUTHENTICATION', 'this route needs Authorization: Bearer <access token>');
  const claims = await s.tokens.verify(request.token, ['access', 'admin']);
  if (claims.sub === ADMIN_IDENTITY) return { identity: ADMIN_IDENTITY, isAdmin: true };
  const user = await s.storage.read((tx) => tx.getUserById(claims.sub));
  if (!user) throw new TributaryError('BAD_AUTHENTICATION', 'the user of this token no longer exists');
  return { identity: user.id, isAdmin: user.isAdmin };
}

async function adminOf(s: RouteServices, request: RouteRequest): Promise<Caller> {
  const caller = await callerOf(s, request);
  if (!caller.isAdmin) throw new TributaryError('PERMISSION_DENIED', 'this route is for admins');
  return caller;
}

function field(body: unknown, name: string): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

/** `POST /auth` and the account routes (no token needed). */
export function authRoutes(s: RouteServices): Route[] {
  return [
    { method: 'POST', path: '/auth', handle: async (r) => s.auth.authenticate(await r.body(), { remoteAddress: r.remoteAddress }) },
    { method: 'POST', path: '/auth/revoke', handle: async (r) => s.auth.revoke(await r.body()) },
    { method: 'POST', path: '/auth/password/reset-request', handle: async (r) => s.auth.requestPasswordReset(await r.body()) },
    { method: 'POST', path: '/auth/password/reset', handle: async (r) => s.auth.completePasswordReset(await r.body()) },
    { method: 'POST', path: '/auth/email/confirm-request', handle: async (r) => s.auth.requestEmailConfirmation(await r.body()) },
    { method: 'POST', path: '/auth/email/confirm', handle: async (r) => s.auth.confirmEmail(await r.body()) },
  ];
}

const USER = /\/admin\/users\/(?<user>[^/]+)/;

/** The admin API: admin-only (the admin token, or an access token of an admin user). */
export function adminRoutes(s: RouteServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/admin/token/rotate',
      handle: async (r) => {
        await adminOf(s, r);
        return { adminToken: await s.adminTokens.rotate() };
      },
    },
    {
      method: 'GET',
      path: '/admin/users',
      handle: async (r) => {
        await adminOf(s, r);
        return { users: await s.accounts.list() };
      },
    },
    {
      method: 'POST',
      path: '/admin/users',
      handle: async (r) => {
        await adminOf(s, r);
        const body = await r.body();
        const isAdmin = field(body, 'isAdmin');
        if (isAdmin !== undefined && typeof isAdmin !== 'boolean') throw new TributaryError('INVALID_ARGUMENT', 'isAdmin must be a boolean');
        const user = await s.accounts.createPasswordUser(field(body, 'username'), field(body, 'password'), { isAdmin: !!isAdmin, byAdmin: true });
        return new Reply(201, { user: await s.accounts.view(user) });
      },
    },
    {
      method: 'GET',
      path: USER,
      handle: async (r) => {
        await adminOf(s, r);
        return { user: await s.accounts.view(await s.accounts.find(r.params.user!)) };
      },
    },
    {
      method: 'PUT',
      path: new RegExp(`${USER.source}/admin`),
      handle: async (r) => {
        await adminOf(s, r);
        const isAdmin = field(await r.body(), 'isAdmin');
        if (typeof isAdmin !== 'boolean') throw new TributaryError('INVALID_ARGUMENT', 'isAdmin must be a boolean');
        const user = await s.accounts.setAdmin(r.params.user!, isAdmin);
        await s.live.recheck({ identity: user.id });
        return { user: await s.accounts.view(user) };
      },
    },
    {
      method: 'PUT',
      path: new RegExp(`${USER.source}/password`),
      handle: async (r) => {
        await adminOf(s, r);
        const user = await s.accounts.setPassword(r.params.user!, field(await r.body(), 'password'));
        await s.sessions.revokeUser(user.id);
        return {};
      },
    },
    {
      // realm-js user.retrieveAccount(provider, providerId)
      method: 'GET',
      path: /\/auth\/users\/(?<provider>[^/]+)\/(?<providerId>[^/]+)/,
      handle: async (r) => {
        await adminOf(s, r);
        const found = await s.storage.read((tx) => {
          const a = tx.accounts.getAccount(r.params.provider!, r.params.providerId!);
          return a && { account: a, user: tx.getUserById(a.userId) };
        });
        if (!found?.user) throw new TributaryError('NO_SUCH_USER', `no ${r.params.provider} account '${r.params.providerId}'`);
        return { provider: found.account.provider, provider_id: found.account.providerId, user: { id: found.user.id, isAdmin: found.user.isAdmin } };
      },
    },
    {
      method: 'GET',
      path: '/admin/permissions',
      handle: async (r) => {
        await adminOf(s, r);
        const path = r.url.searchParams.get('path') ?? undefined;
        const user = r.url.searchParams.get('user') ?? undefined;
        return { permissions: await s.permissions.list({ path, user }) };
      },
    },
    {
      method: 'POST',
      path: '/admin/permissions',
      handle: async (r) => {
        const caller = await adminOf(s, r);
        const body = await r.body();
        return { permission: await s.permissions.apply(caller, field(body, 'path'), field(body, 'user'), field(body, 'accessLevel')) };
      },
    },
  ];
}

/**
 * The permission API of realm-js 3.x (`user.applyPermissions`, `getGrantedPermissions`,
 * `offerPermissions`, `acceptPermissionOffer`, `invalidatePermissionOffer`): any logged-in user;
 * changing a realm's grants needs the right to manage it.
 */
export function permissionRoutes(s: RouteServices): Route[] {
  return [
    {
      method: 'POST',
      path: '/permissions/apply',
      handle: async (r) => {
        const caller = await callerOf(s, r);
        const body = await r.body();
        const condition = field(body, 'condition');
        if (field(condition, 'metadataKey') !== undefined) {
          throw new TributaryError('INVALID_ARGUMENT', 'permission conditions on user metadata are not supported; name the user (condition {userId})');
        }
        const userId = field(condition, 'userId') ?? field(condition, 'username');
        return { permission: await s.permissions.apply(caller, field(body, 'realmPath') ?? field(body, 'realmUrl'), userId, field(body, 'accessLevel')) };
      },
    },
    {
      method: 'GET',
      path: '/permissions',
      handle: async (r) => ({ permissions: await s.permissions.granted(await callerOf(s, r), r.url.searchParams.get('recipient') ?? 'any') }),
    },
    { method: 'GET', path: '/permissions/offers', handle: async (r) => ({ offers: await s.permissions.offers(await callerOf(s, r)) }) },
    {
      method: 'POST',
      path: '/permissions/offers',
      handle: async (r) => {
        const caller = await callerOf(s, r);
        const body = await r.body();
        return new Reply(201, await s.permissions.offer(caller, field(body, 'realmPath') ?? field(body, 'realmUrl'), field(body, 'accessLevel'), field(body, 'expiresAt')));
      },
    },
    {
      method: 'POST',
      path: /\/permissions\/offers\/(?<token>[^/]+)\/accept/,
      handle: async (r) => ({ permission: await s.permissions.accept(await callerOf(s, r), r.params.token) }),
    },
    {
      method: 'DELETE',
      path: /\/permissions\/offers\/(?<token>[^/]+)/,
      handle: async (r) => {
        await s.permissions.invalidate(await callerOf(s, r), r.params.token);
        return {};
      },
    },
  ];
}

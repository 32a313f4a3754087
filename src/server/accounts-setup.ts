import { TributaryError } from '../errors';
import { adminTokenFile } from '../shared/admin-token';
import type { Logger } from '../shared/logger';
import { AccountService } from './accounts';
import { reconcileAdminRealm } from './admin-realm';
import { AdminTokens } from './admin-tokens';
import { AuthService, type AccountMailer } from './auth';
import { AnonymousProvider, checkProviderName, NicknameProvider, type AuthProvider } from './auth-providers';
import type { CommitQueue } from './commit-queue';
import type { Route } from './http';
import { JwtProvider, type JwtProviderOptions } from './jwt-provider';
import type { ServerKeys } from './keys';
import { LiveAccess } from './live-access';
import { LoginThrottle } from './login-throttle';
import { ManagementRealms } from './management-realms';
import type { ServerOptions } from './options';
import { PermissionService } from './permission-service';
import { adminRoutes, authRoutes, permissionRoutes, type RouteServices } from './routes';
import { SessionTokens } from './session-tokens';
import type { StorageDriver } from './storage/types';
import type { SyncService } from './sync-service';
import { TokenService, type TokenClaims } from './tokens';

/** The accounts part of {@link ServerConfig}: what the option table cannot hold. */
export interface AccountsConfig {
  /** Custom login providers (see {@link AuthProvider}). */
  authProviders?: AuthProvider[];
  /** The JWT provider, programmatically (overrides the jwt* options; a key object or JWK is allowed). */
  jwt?: JwtProviderOptions;
  /** Sends password-reset and e-mail-confirmation tokens; without it those requests send nothing. */
  mailer?: AccountMailer;
}

export interface Accounts {
  tokens: TokenService;
  /** Subscribes to "tokens were revoked" (logout, replay, password change, admin-token rotation). */
  onRevocation(listener: () => void): void;
  routes: Route[];
  services: RouteServices;
  stop(): void;
}

/**
 * Builds the accounts side of the server after storage and the sync service are up: tokens with
 * revocation, the admin token file, `/__admin` reconciled to the tables, login providers, the
 * permission service with live sessions, the management-realm processor, and the HTTP routes.
 */
export async function startAccounts(deps: {
  options: ServerOptions;
  config: AccountsConfig;
  keys: ServerKeys;
  storage: StorageDriver;
  queue: CommitQueue;
  sync: SyncService;
  log: Logger;
}): Promise<Accounts> {
  const { options: o, storage, queue, sync } = deps;
  const log = deps.log.child({ component: 'auth' });
  let revoked: (claims: TokenClaims) => Promise<boolean> = async () => false;
  const tokens = new TokenService(deps.keys.privateKey, deps.keys.publicKey, { access: o.accessTokenTtl, refresh: o.refreshTokenTtl }, Date.now, (c) => revoked(c));
  const revocationListeners = new Set<() => void>();
  const fireRevocation = () => {
    for (const l of revocationListeners) l();
  };
  const sessions = new SessionTokens(storage, queue, tokens, log, Date.now, fireRevocation);
  const adminTokens = new AdminTokens(storage, (fn) => queue.submit(fn), tokens, adminTokenFile(o.dataPath), log, fireRevocation);
  revoked = async (c) => {
    if (c.typ === 'admin') return adminTokens.isRevoked(c);
    // Access tokens obtained with an admin token die with it (auth.ts adminFamily).
    if (c.fam?.startsWith('admin:')) return adminTokens.isRevoked({ ...c, typ: 'admin', jti: c.fam.slice('admin:'.length) });
    return sessions.isRevoked(c);
  };
  await adminTokens.ensure();

  const adminRealmId = await queue.submit((tx) => reconcileAdminRealm(tx, () => sync.clock.tick()));
  sync.notify(adminRealmId);

  const live = new LiveAccess(storage, log);
  sync.accessWatch = live;
  const accounts = new AccountService(storage, queue, sync, log);
  const permissions = new PermissionService(storage, queue, sync, live, o.maxPathLength, log.child({ component: 'permissions' }));
  const throttle = new LoginThrottle({ perAccount: o.loginFailuresPerAccount, perAddress: o.loginFailuresPerAddress, maxMs: o.loginBackoffMax * 1000 });
  const providers = buildProviders(o, deps.config, log);
  const auth = new AuthService(storage, accounts, sessions, tokens, throttle, { registration: o.registration, providers, mailer: deps.config.mailer }, log);
  const management = new ManagementRealms(storage, queue, sync, permissions, log.child({ component: 'management' }));
  await management.start();

  warn(o, providers, log);
  const services: RouteServices = { storage, tokens, auth, accounts, sessions, adminTokens, permissions, live };
  return {
    tokens,
    onRevocation: (listener) => revocationListeners.add(listener),
    services,
    routes: [...authRoutes(services), ...adminRoutes(services), ...permissionRoutes(services)],
    stop: () => management.stop(),
  };
}

function buildProviders(o: ServerOptions, config: AccountsConfig, log: Logger): Map<string, AuthProvider> {
  const providers = new Map<string, AuthProvider>();
  const add = (p: AuthProvider) => {
    checkProviderName(p.name);
    if (typeof p.authenticate !== 'function') throw new TributaryError('CONFIG_INVALID', `auth provider '${p.name}' has no authenticate(request) method`);
    if (providers.has(p.name)) throw new TributaryError('CONFIG_INVALID', `two auth providers are named '${p.name}'`);
    providers.set(p.name, p);
  };
  if (o.anonymousAuth) add(new AnonymousProvider());
  if (o.nicknameAuth) add(new NicknameProvider());
  const jwt: JwtProviderOptions | undefined =
    config.jwt ??
    (o.jwtPublicKey || o.jwtJwksUrl
      ? {
          publicKey: o.jwtPublicKey || undefined,
          jwksUrl: o.jwtJwksUrl || undefined,
          algorithms: o.jwtAlgorithms.split(',').map((a) => a.trim()).filter(Boolean),
          userIdClaim: o.jwtUserIdClaim,
          adminClaim: o.jwtAdminClaim || undefined,
          issuer: o.jwtIssuer || undefined,
          audience: o.jwtAudience || undefined,
          jwksCacheMs: o.jwksCacheTtl * 1000,
        }
      : undefined);
  if (jwt) add(new JwtProvider(jwt));
  for (const p of config.authProviders ?? []) add(p);
  if (providers.size > 0) log.info('login providers', { providers: ['password', ...providers.keys()] });
  return providers;
}

function warn(o: ServerOptions, providers: Map<string, AuthProvider>, log: Logger): void {
  const everywhere = o.address === '0.0.0.0' || o.address === '::' || o.address === '';
  if (everywhere && o.registration === 'open') {
    log.warn('registration is open to anyone who can reach this server, and it listens on every interface', {
      address: o.address,
      hint: 'pass --registration closed (admins create accounts with tributary user create), or --address 127.0.0.1',
    });
  }
  for (const name of ['nickname', 'anonymous']) {
    if (providers.has(name)) log.warn(`the '${name}' login provider is enabled: anyone can log in without a secret${name === 'nickname' ? ', as any user, an admin included' : ''}; for development only`, { address: o.address });
  }
}

import { TributaryError } from '../errors';
import type { Logger } from '../shared/logger';
import type { AccountService } from './accounts';
import type { AuthProvider, AuthRequest } from './auth-providers';
import type { LoginThrottle } from './login-throttle';
import { DUMMY_HASH_PROMISE, verifyPassword } from './passwords';
import type { AuthResult, SessionTokens } from './session-tokens';
import type { StorageDriver } from './storage/types';
import { ADMIN_IDENTITY, type TokenService } from './tokens';
import { checkPassword, MAX_USERNAME } from './user-names';

export type { AuthResult } from './session-tokens';

/** Delivers account e-mails (password resets, confirmations); the server has no mailer of its own. */
export interface AccountMailer {
  sendPasswordReset(to: { identity: string; username: string }, token: string): void | Promise<void>;
  sendEmailConfirmation?(to: { identity: string; username: string }, token: string): void | Promise<void>;
}

export interface AuthServiceOptions {
  registration: 'open' | 'closed';
  /** Providers by name (jwt, nickname, anonymous, custom), those enabled on this server. */
  providers: Map<string, AuthProvider>;
  mailer?: AccountMailer;
}

/** Where a request came from. */
export interface RequestContext {
  remoteAddress: string;
}

/**
 * `POST /auth` and the account routes beside it. Providers: `password` (login, or `register:
 * true`; throttled per account and address), `refresh` (rotation), `adminToken`, and the
 * enabled ones of {@link AuthServiceOptions.providers}. Bodies come in Tributary's form
 * (`{provider, username, password}`) or ROS's (`{provider, data, user_info}`). Every failure is a
 * TributaryError that http.ts maps to a status.
 */
export class AuthService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly accounts: AccountService,
    private readonly sessions: SessionTokens,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly options: AuthServiceOptions,
    private readonly log: Logger,
  ) {}

  async authenticate(body: unknown, ctx: RequestContext): Promise<AuthResult> {
    const b = object(body);
    const userInfo = b.user_info && typeof b.user_info === 'object' && !Array.isArray(b.user_info) ? (b.user_info as Record<string, unknown>) : {};
    switch (b.provider) {
      case 'password':
        return this.password(b.username ?? b.data, b.password ?? userInfo.password, b.register ?? userInfo.register, ctx);
      case 'refresh':
        if (typeof b.refreshToken !== 'string') throw invalid('refreshToken must be a string');
        return this.sessions.refresh(b.refreshToken);
      case 'adminToken':
        return this.adminToken(b.token);
    }
    const provider = typeof b.provider === 'string' ? this.options.providers.get(b.provider) : undefined;
    if (!provider) {
      if (typeof b.provider !== 'string') throw invalid('provider must be a string');
      throw new TributaryError('AUTH_FAILED', `the '${b.provider}' login provider is not enabled on this server (enabled: ${['password', ...this.options.providers.keys()].join(', ')})`);
    }
    const request: AuthRequest = { data: b.data ?? b.token, userInfo, body: b, remoteAddress: ctx.remoteAddress };
    let identity;
    try {
      identity = await provider.authenticate(request);
    } catch (e) {
      if (e instanceof TributaryError) throw e;
      this.log.error('auth provider failed', { provider: provider.name, error: e });
      throw new TributaryError('OTHER_ERROR', `the '${provider.name}' provider failed`);
    }
    if (!identity || typeof identity.providerId !== 'string' || identity.providerId.length === 0) throw new TributaryError('AUTH_FAILED', `the '${provider.name}' provider named no user`);
    const user = await this.accounts.loginExternal(provider.name, identity.providerId, identity.isAdmin);
    return this.sessions.login(user.id, user.isAdmin);
  }

  private async password(rawName: unknown, rawPassword: unknown, register: unknown, ctx: RequestContext): Promise<AuthResult> {
    if (register !== undefined && typeof register !== 'boolean') throw invalid('register must be a boolean');
    if (register) {
      if (this.options.registration !== 'open') throw new TributaryError('REGISTRATION_CLOSED', 'registration is closed on this server; ask an admin for an account');
      const user = await this.accounts.createPasswordUser(rawName, rawPassword);
      return this.sessions.login(user.id, false);
    }
    if (typeof rawName !== 'string' || rawName.length === 0 || rawName.length > MAX_USERNAME) throw invalid(`username must be a string of 1 to ${MAX_USERNAME} characters`);
    const password = checkPassword(rawPassword);
    const username = rawName.normalize('NFC');
    this.throttle.check(username, ctx.remoteAddress);
    const user = await this.storage.read((tx) => tx.getUserByName(username));
    // Hash even for an unknown user, so response time does not tell which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE()));
    if (!user || !user.passwordHash || !ok) {
      this.throttle.failed(username, ctx.remoteAddress);
      this.log.info('login failed', { reason: user ? 'wrong password' : 'unknown user', remote: ctx.remoteAddress });
      throw new TributaryError('AUTH_FAILED', 'unknown user or wrong password');
    }
    this.throttle.succeeded(username);
    return this.sessions.login(user.id, user.isAdmin);
  }

  private async adminToken(token: unknown): Promise<AuthResult> {
    if (typeof token !== 'string') throw invalid('token must be a string');
    let jti: string | undefined;
    try {
      ({ jti } = await this.tokens.verify(token, ['admin']));
    } catch {
      throw new TributaryError('AUTH_FAILED', 'not a valid admin token');
    }
    // The access token belongs to the admin token: rotating that revokes this too (see tokenRevocation).
    return { identity: ADMIN_IDENTITY, isAdmin: true, accessToken: await this.tokens.issue(ADMIN_IDENTITY, true, 'access', { fam: adminFamily(jti!) }) };
  }

  /** `POST /auth/revoke {token}`: logs out the login the refresh token belongs to. */
  async revoke(body: unknown): Promise<Record<string, never>> {
    const { token } = object(body);
    if (typeof token !== 'string') throw invalid('token must be a string (the refresh token)');
    await this.sessions.revoke(token);
    return {};
  }

  /**
   * `POST /auth/password/reset-request {username}`: mails a reset token through the configured
   * mailer. Answers the same whether or not the user exists.
   */
  async requestPasswordReset(body: unknown): Promise<Record<string, never>> {
    return this.requestToken(body, 'password-reset');
  }

  /** `POST /auth/password/reset {token, password}`: sets the password and ends every login of the user. */
  async completePasswordReset(body: unknown): Promise<Record<string, never>> {
    const { token, password } = object(body);
    checkPassword(password);
    const user = await this.accounts.consumeAccountToken(token, 'password-reset');
    await this.accounts.setPassword(user.id, password);
    await this.sessions.revokeUser(user.id);
    this.log.info('password reset', { identity: user.id });
    return {};
  }

  async requestEmailConfirmation(body: unknown): Promise<Record<string, never>> {
    return this.requestToken(body, 'email-confirmation');
  }

  async confirmEmail(body: unknown): Promise<Record<string, never>> {
    const user = await this.accounts.consumeAccountToken(object(body).token, 'email-confirmation');
    this.log.info('e-mail confirmed', { identity: user.id });
    return {};
  }

  private async requestToken(body: unknown, purpose: 'password-reset' | 'email-confirmation'): Promise<Record<string, never>> {
    const b = object(body);
    const name = b.username ?? b.email ?? b.data;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_USERNAME) throw invalid('username must be a string');
    const mailer = this.options.mailer;
    const send = purpose === 'password-reset' ? mailer?.sendPasswordReset.bind(mailer) : mailer?.sendEmailConfirmation?.bind(mailer);
    if (!send) {
      this.log.warn(`a ${purpose} was requested, but the server has no mailer (ServerConfig.mailer); nothing was sent`);
      return {};
    }
    const issued = await this.accounts.issueAccountToken(name, purpose);
    if (issued) {
      try {
        await send({ identity: issued.user.id, username: issued.user.username! }, issued.token);
      } catch (e) {
        this.log.error(`the mailer failed to send a ${purpose}`, { identity: issued.user.id, error: e });
      }
    }
    return {};
  }
}

/** The family of access tokens obtained with an admin token. */
export function adminFamily(adminTokenId: string): string {
  return `admin:${adminTokenId}`;
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function invalid(message: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', message);
}

import { randomBytes } from 'node:crypto';
import { TributaryError } from '../errors';
import { checkUserName } from './user-names';

/** A `POST /auth` request as a provider sees it. */
export interface AuthRequest {
  /** ROS `data`: the token, nickname or user id the provider reads. (`token` bodies land here too.) */
  readonly data: unknown;
  /** ROS `user_info`: provider-specific extras (`is_admin`, `register`…); `{}` when absent. */
  readonly userInfo: Readonly<Record<string, unknown>>;
  /** The whole JSON body. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The client's address as the socket saw it. */
  readonly remoteAddress: string;
}

/** Who a provider says is logging in. */
export interface ProviderIdentity {
  /**
   * The user's id within the provider (a JWT's user-id claim, a nickname). The server keeps one
   * account per `(provider name, providerId)`: the first login creates the user, later ones log
   * into it.
   */
  providerId: string;
  /**
   * `true` / `false` sets the user's admin flag on this login; `undefined` leaves it as stored
   * (a new user is not an admin).
   */
  isAdmin?: boolean;
}

/**
 * A login provider of the programmatic {@link Server} (`new Server({ authProviders: [...] })`), the
 * counterpart of ROS's `auth.AuthProvider` subclasses. `authenticate` checks the request and says
 * who logs in, or throws (a TributaryError `AUTH_FAILED` for a refusal; anything else is logged
 * and answered as a server error). The server then finds or creates the user and issues the
 * tokens; clients log in with `Credentials.custom(name, data, userInfo)` or
 * `User.registerWithProvider(server, { provider: name, providerToken })`.
 *
 * @example
 * class ApiKeyProvider implements AuthProvider {
 *   readonly name = 'apikey';
 *   async authenticate(req: AuthRequest): Promise<ProviderIdentity> {
 *     const owner = await lookUpApiKey(String(req.data));
 *     if (!owner) throw new TributaryError('AUTH_FAILED', 'unknown API key');
 *     return { providerId: owner.id, isAdmin: owner.isStaff };
 *   }
 * }
 * const server = new Server({ dataPath: './data', authProviders: [new ApiKeyProvider()] });
 */
export interface AuthProvider {
  /** The `provider` value of `POST /auth`; not `password`, `refresh` or `adminToken`. */
  readonly name: string;
  authenticate(request: AuthRequest): ProviderIdentity | Promise<ProviderIdentity>;
}

/** Names the server handles itself; a custom provider may not take them. */
export const BUILT_IN_PROVIDERS = ['password', 'refresh', 'adminToken'];

/**
 * ROS's `nickname` provider, for development: whoever names a nickname is that user, no secret
 * asked. `user_info.is_admin: true` (realm-js `Credentials.nickname(name, true)`) makes the user an
 * admin. Off unless the server is started with `--nickname-auth`.
 */
export class NicknameProvider implements AuthProvider {
  readonly name = 'nickname';
  authenticate(request: AuthRequest): ProviderIdentity {
    const nickname = checkUserName(request.data, true);
    return { providerId: nickname, isAdmin: request.userInfo.is_admin === true ? true : undefined };
  }
}

/**
 * ROS's `anonymous` provider: every login is a new user with no way back into it after logout.
 * Off unless the server is started with `--anonymous-auth`.
 */
export class AnonymousProvider implements AuthProvider {
  readonly name = 'anonymous';
  authenticate(): ProviderIdentity {
    return { providerId: randomBytes(16).toString('hex'), isAdmin: false };
  }
}

export function checkProviderName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new TributaryError('CONFIG_INVALID', `an auth provider's name must be 1 to 64 letters, digits, '_', '.' or '-' starting with a letter, not ${JSON.stringify(name)}`);
  }
  if (BUILT_IN_PROVIDERS.includes(name)) throw new TributaryError('CONFIG_INVALID', `the provider name '${name}' is built in`);
  return name;
}

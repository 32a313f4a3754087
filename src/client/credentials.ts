import { TributaryError } from '../errors';

/**
 * Login credentials, as realm-js 2.x `Realm.Sync.Credentials`: a provider name and what it
 * needs. The secret (password or token) is a private field: it does not show in
 * `JSON.stringify`, `console.log` or `Object.keys`.
 *
 * The server always accepts `password` and `adminToken`; `jwt`, `nickname` and `anonymous` when it
 * enables them (docs/server.md, "Login providers"), and custom providers by name. A provider the
 * server does not enable is a clear AUTH_FAILED naming it.
 *
 * @example
 * const user = await Realm.Sync.User.login('http://localhost:9080', Realm.Sync.Credentials.usernamePassword('alice', 'pw'));
 * const admin = Realm.Sync.User.login('http://localhost:9080', Realm.Sync.Credentials.adminToken(token)); // synchronous
 */
export class Credentials {
  readonly #secret: string;

  private constructor(
    /** `password`, `adminToken`, `nickname`, `anonymous`, `jwt` (or a custom provider name). */
    readonly identityProvider: string,
    /** The user name, nickname or empty: the non-secret part. */
    readonly data: string,
    secret: string,
    /** Extra provider fields (`register`, `is_admin`). */
    readonly userInfo: Readonly<Record<string, unknown>>,
  ) {
    this.#secret = secret;
  }

  /** Log in with a user name and password; `createUser: true` registers the user first. */
  static usernamePassword(username: string, password: string, createUser?: boolean): Credentials {
    requireString(username, 'username');
    requireString(password, 'password');
    return new Credentials('password', username, password, createUser === undefined ? {} : { register: !!createUser });
  }

  /** ROS nickname provider (development only; the server enables it with --nickname-auth). */
  static nickname(name: string, isAdmin = false): Credentials {
    requireString(name, 'nickname');
    return new Credentials('nickname', name, '', { is_admin: !!isAdmin });
  }

  /** The admin token (`data/keys/admin.json`); logging in with it needs no round trip. */
  static adminToken(token: string): Credentials {
    requireString(token, 'admin token');
    return new Credentials('adminToken', '', token, {});
  }

  /** ROS anonymous provider: a new user on every login (the server enables it with --anonymous-auth). */
  static anonymous(): Credentials {
    return new Credentials('anonymous', '', '', {});
  }

  /** A JWT signed by the application's backend, for the server's `jwt` provider (or one named `providerName`). */
  static jwt(token: string, providerName = 'jwt'): Credentials {
    requireString(token, 'token');
    return new Credentials(providerName, '', token, {});
  }

  /** A custom provider of the server (`new Server({ authProviders })`): sent as ROS did, `{provider, data, user_info}`. */
  static custom(providerName: string, token: string, userInfo: Record<string, unknown> = {}): Credentials {
    requireString(providerName, 'provider name');
    requireString(token, 'token');
    return new Credentials(providerName, '', token, { ...userInfo });
  }

  /** realm-js social providers; a server enables them as custom providers of these names. */
  static facebook(token: string): Credentials {
    return Credentials.custom('facebook', token);
  }
  static google(token: string): Credentials {
    return Credentials.custom('google', token);
  }
  static azureAD(token: string): Credentials {
    return Credentials.custom('azuread', token);
  }

  /** realm-js exposes the token of token-based credentials. */
  get token(): string | undefined {
    return this.identityProvider === 'password' ? undefined : this.#secret;
  }

  /** @internal The `POST /auth` body. */
  _authBody(): Record<string, unknown> {
    switch (this.identityProvider) {
      case 'password':
        return { provider: 'password', username: this.data, password: this.#secret, ...(this.userInfo.register ? { register: true } : {}) };
      case 'adminToken':
        return { provider: 'adminToken', token: this.#secret };
      case 'nickname':
        return { provider: 'nickname', data: this.data, user_info: { ...this.userInfo } };
      case 'anonymous':
        return { provider: 'anonymous' };
      default:
        return { provider: this.identityProvider, token: this.#secret, data: this.#secret, user_info: { ...this.userInfo } };
    }
  }

  toJSON(): { identityProvider: string; data: string } {
    return { identityProvider: this.identityProvider, data: this.data };
  }
}

function requireString(v: unknown, what: string): void {
  if (typeof v !== 'string') throw new TributaryError('INVALID_ARGUMENT', `Credentials: ${what} must be a string`);
}

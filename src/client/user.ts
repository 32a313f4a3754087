import { ERROR_CODES, TributaryError, type ErrorCode } from '../errors';
import type { OpenSessionOptions, SyncUserLike } from '../realm/sync-types';
import { parseRealmUrl, parseServerUrl } from '../store';
import { Connection, type ConnectionOptions, type TokenSource } from './connection';
import { AuthError } from './auth-error';
import { Credentials } from './credentials';
import { decodeTokenClaims, tokenExpiry } from './jwt';
import * as permissions from './user-permissions';
import type { Realm, RealmObject, Results } from '../realm';
import { Session, type SessionOptions } from './session';

/** Client-side options of a user: connection timing and session batching. */
export interface UserOptions {
  connection?: Partial<ConnectionOptions>;
  session?: SessionOptions;
  /** HTTP time limit for /auth calls (default 15 s). */
  authTimeoutMs?: number;
}

interface AuthResponse {
  identity: string;
  isAdmin: boolean;
  accessToken: string;
  refreshToken?: string;
}

/** Renew this long before expiry (or a fifth of the token's life, if shorter). */
const REFRESH_LEAD_MS = 60_000;

/**
 * A logged-in user. Holds the tokens, renews the access token before it expires, and owns the
 * user's sync connections: one WebSocket per server, shared by all the user's realms.
 *
 * @example
 * const user = await User.login('http://localhost:9080', 'alice', 'secret');
 * const realm = await Realm.open({ schema, sync: { user, url: 'realm://localhost:9080/~/notes' } });
 */
export class User implements SyncUserLike, TokenSource {
  private static readonly registry = new Map<string, User>();

  /** Logged-in users by identity (realm-js `User.all`). */
  static get all(): Record<string, User> {
    const out: Record<string, User> = {};
    for (const u of User.registry.values()) out[u.identity] = u;
    return out;
  }

  /** realm-js `Realm.Sync.reconnect()`: every connection waiting out a back-off tries again now. */
  static reconnectAll(): void {
    for (const u of User.registry.values()) for (const c of u.#connections.values()) c.reconnectNow();
  }

  /** The only logged-in user; undefined when none; an error when there are several. */
  static get current(): User | undefined {
    const users = [...User.registry.values()];
    if (users.length > 1) throw new TributaryError('INVALID_STATE', 'Multiple users are logged in');
    return users[0];
  }

  /**
   * Logs in. Forms (realm-js 2.x): `login(server, credentials)` — synchronous for
   * `Credentials.adminToken` (no round trip), a Promise otherwise; `login(server, username,
   * password)` → Promise; `login(server, username, password, (error, user) => …)` (node callback,
   * returns undefined). The last argument may instead be {@link UserOptions}.
   */
  static login(server: string, credentials: Credentials, options?: UserOptions): Promise<User> | User;
  static login(server: string, username: string, password: string, options?: UserOptions): Promise<User>;
  static login(server: string, username: string, password: string, callback: NodeCallback<User>): void;
  static login(server: string, a: string | Credentials, b?: string | UserOptions, c?: UserOptions | NodeCallback<User>): Promise<User> | User | void {
    parseServerUrl(server); // a bad URL is a synchronous INVALID_ARGUMENT, as realm-js threw
    if (a instanceof Credentials) return User.loginWith(server, a, b as UserOptions | undefined);
    if (typeof a !== 'string' || typeof b !== 'string') {
      throw new TributaryError('INVALID_ARGUMENT', 'User.login expects (server, credentials) or (server, username, password[, callback])');
    }
    return withCallback(User.postLogin(server, { provider: 'password', username: a, password: b }, optionsOf(c)), c);
  }

  /** Creates an account and logs in: `register(server, username, password[, callback | options])`. */
  static register(server: string, username: string, password: string, options?: UserOptions): Promise<User>;
  static register(server: string, username: string, password: string, callback: NodeCallback<User>): void;
  static register(server: string, username: string, password: string, c?: UserOptions | NodeCallback<User>): Promise<User> | void {
    parseServerUrl(server);
    if (typeof username !== 'string' || typeof password !== 'string') throw new TributaryError('INVALID_ARGUMENT', 'User.register expects (server, username, password[, callback])');
    return withCallback(User.postLogin(server, { provider: 'password', username, password, register: true }, optionsOf(c)), c);
  }

  /** ROS anonymous login (a new user each time; the server enables it with --anonymous-auth). */
  static anonymous(server: string, options?: UserOptions): Promise<User> {
    return User.loginWith(server, Credentials.anonymous(), options) as Promise<User>;
  }

  /**
   * realm-js `registerWithProvider(server, { provider, providerToken, userInfo }[, callback])`:
   * logs in through a provider of the server (`jwt`, a custom one), creating the user on first use.
   */
  static registerWithProvider(server: string, options: ProviderLogin): Promise<User>;
  static registerWithProvider(server: string, options: ProviderLogin, callback: NodeCallback<User>): void;
  static registerWithProvider(server: string, options: ProviderLogin, callback?: NodeCallback<User>): Promise<User> | void {
    if (!options || typeof options.provider !== 'string' || typeof options.providerToken !== 'string') {
      throw new TributaryError('INVALID_ARGUMENT', 'registerWithProvider expects (server, { provider, providerToken, userInfo? })');
    }
    const credentials = options.provider === 'jwt' ? Credentials.jwt(options.providerToken) : Credentials.custom(options.provider, options.providerToken, options.userInfo);
    return withCallback(User.loginWith(server, credentials) as Promise<User>, callback);
  }

  private static loginWith(server: string, credentials: Credentials, options?: UserOptions): Promise<User> | User {
    const provider = credentials.identityProvider;
    if (provider === 'adminToken') return User.adminUser(credentials.token!, server, options);
    return User.postLogin(server, credentials._authBody(), options).catch((e: unknown) => {
      // A server without the provider answers AUTH_FAILED naming it; a server that is not Tributary, 404.
      if (provider !== 'password' && e instanceof TributaryError && e.code === 'NOT_FOUND') {
        throw new TributaryError('AUTH_FAILED', `the server at ${parseServerUrl(server).httpBase} does not support the '${provider}' login provider (${e.message})`, { cause: e });
      }
      throw e;
    });
  }

  /**
   * An admin user from the admin token (`data/keys/admin.json`). Synchronous: the admin token is
   * itself an access token, so no round trip is needed.
   */
  static adminUser(adminToken: string, server = 'http://127.0.0.1:9080', options?: UserOptions): User {
    if (typeof adminToken !== 'string' || adminToken.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'adminUser needs the admin token');
    const claims = decodeTokenClaims(adminToken);
    const identity = claims?.sub ?? '__admin';
    return User.remember(parseServerUrl(server).httpBase, { identity, isAdmin: true, accessToken: adminToken }, { adminToken }, options);
  }

  /**
   * Logs in with a provider. realm-js form: `authenticate(server, 'password', { username,
   * password, register? })`, `'jwt', { token }`, `'nickname', { nickname, isAdmin? }`,
   * `'anonymous'`, or another provider with `{ token, userInfo? }`. Tributary form: the raw
   * `POST /auth` body, `authenticate(server, { provider, … })`.
   */
  static authenticate(server: string, provider: string, options?: Record<string, unknown>): Promise<User>;
  static authenticate(server: string, body: Record<string, unknown>, options?: UserOptions): Promise<User>;
  static authenticate(server: string, a: string | Record<string, unknown>, b?: Record<string, unknown> | UserOptions): Promise<User> {
    parseServerUrl(server);
    if (typeof a === 'string') return User.loginWith(server, credentialsFor(a, (b ?? {}) as Record<string, unknown>)) as Promise<User>;
    if (!a || typeof a !== 'object') throw new TributaryError('INVALID_ARGUMENT', 'authenticate expects (server, provider, options) or (server, body)');
    return User.postLogin(server, a, b as UserOptions | undefined);
  }

  /** realm-js: asks the server to mail a password-reset token (through its mailer) to a password user. */
  static async requestPasswordReset(server: string, email: string): Promise<void> {
    await postJson(`${parseServerUrl(server).httpBase}/auth/password/reset-request`, { username: requireText(email, 'email') });
  }

  /** realm-js: sets a new password with the token of the reset mail; every login of the user is revoked. */
  static async completePasswordReset(server: string, resetToken: string, newPassword: string): Promise<void> {
    await postJson(`${parseServerUrl(server).httpBase}/auth/password/reset`, { token: requireText(resetToken, 'reset token'), password: requireText(newPassword, 'password') });
  }

  /** realm-js: asks the server to mail an e-mail-confirmation token. */
  static async requestEmailConfirmation(server: string, email: string): Promise<void> {
    await postJson(`${parseServerUrl(server).httpBase}/auth/email/confirm-request`, { username: requireText(email, 'email') });
  }

  /** realm-js: confirms the e-mail address with the token of the confirmation mail. */
  static async confirmEmail(server: string, confirmationToken: string): Promise<void> {
    await postJson(`${parseServerUrl(server).httpBase}/auth/email/confirm`, { token: requireText(confirmationToken, 'confirmation token') });
  }

  /** POST /auth with any provider body; resolves to the logged-in user. */
  private static async postLogin(server: string, body: Record<string, unknown>, options?: UserOptions): Promise<User> {
    const base = parseServerUrl(server).httpBase;
    const res = await postAuth(base, body, options?.authTimeoutMs);
    if (typeof res.identity !== 'string' || typeof res.accessToken !== 'string') throw new TributaryError('AUTH_FAILED', `unexpected /auth response from ${base}`);
    return User.remember(base, res, { refreshToken: res.refreshToken }, options);
  }

  private static remember(server: string, res: AuthResponse, secrets: { refreshToken?: string; adminToken?: string }, options?: UserOptions): User {
    const key = `${server}\u0000${res.identity}`;
    let user = User.registry.get(key);
    if (user) {
      user.#refreshToken = secrets.refreshToken ?? user.#refreshToken;
      user.#adminToken = secrets.adminToken ?? user.#adminToken;
      user.setToken(res.accessToken);
      return user;
    }
    user = new User(server, res.identity, !!res.isAdmin, res.accessToken, secrets, options ?? {});
    User.registry.set(key, user);
    return user;
  }

  readonly identity: string;
  readonly isAdmin: boolean;
  /** The server's HTTP base URL (`http://host:port`). */
  readonly server: string;
  #accessToken: string;
  #refreshToken: string | undefined;
  #adminToken: string | undefined;
  #refreshing: Promise<string> | null = null;
  #refreshTimer: NodeJS.Timeout | null = null;
  readonly #tokenListeners = new Set<(token: string) => void>();
  readonly #connections = new Map<string, Connection>();
  readonly #sessions = new Set<Session>();
  readonly #options: UserOptions;
  #loggedOut = false;

  private constructor(server: string, identity: string, isAdmin: boolean, accessToken: string, secrets: { refreshToken?: string; adminToken?: string }, options: UserOptions) {
    this.server = server;
    this.identity = identity;
    this.isAdmin = isAdmin;
    this.#accessToken = accessToken;
    this.#refreshToken = secrets.refreshToken;
    this.#adminToken = secrets.adminToken;
    this.#options = options;
    this.scheduleRefresh();
  }

  /** The current access token (kept out of enumeration and JSON so it is not logged by accident). */
  get token(): string {
    return this.#accessToken;
  }

  get isLoggedIn(): boolean {
    return !this.#loggedOut;
  }

  get tokenNeedsRefresh(): boolean {
    return this.canRefresh && tokenExpiry(this.#accessToken) - Date.now() < 5_000;
  }

  private get canRefresh(): boolean {
    return !!this.#refreshToken || (!!this.#adminToken && this.#adminToken !== this.#accessToken);
  }

  onTokenChange(listener: (token: string) => void): () => void {
    this.#tokenListeners.add(listener);
    return () => this.#tokenListeners.delete(listener);
  }

  /** Gets a new access token now (deduplicated: concurrent callers share one request). */
  refreshAccessToken(): Promise<string> {
    if (this.#loggedOut) return Promise.reject(new TributaryError('AUTH_FAILED', 'the user is logged out'));
    if (this.#refreshing) return this.#refreshing;
    const body = this.#refreshToken
      ? { provider: 'refresh', refreshToken: this.#refreshToken }
      : this.#adminToken
        ? { provider: 'adminToken', token: this.#adminToken }
        : undefined;
    if (!body) return Promise.reject(new TributaryError('AUTH_FAILED', 'this user has no refresh token'));
    this.#refreshing = postAuth(this.server, body, this.#options.authTimeoutMs)
      .then((res) => {
        // Refresh tokens are single-use: the server sends the next one with the access token.
        if (typeof res.refreshToken === 'string' && this.#refreshToken) this.#refreshToken = res.refreshToken;
        this.setToken(res.accessToken);
        return res.accessToken;
      })
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  private setToken(token: string): void {
    if (token === this.#accessToken) return;
    this.#accessToken = token;
    this.scheduleRefresh();
    for (const l of [...this.#tokenListeners]) l(token);
  }

  private scheduleRefresh(): void {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    if (!this.canRefresh || this.#loggedOut) return;
    const remaining = tokenExpiry(this.#accessToken) - Date.now();
    if (!Number.isFinite(remaining)) return;
    const delay = Math.max(0, remaining - Math.min(REFRESH_LEAD_MS, remaining / 5));
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      this.refreshAccessToken().catch(() => {
        // retry later; a connection that meets a 401 also refreshes
        if (!this.#loggedOut) this.#refreshTimer = setTimeout(() => this.scheduleRefresh(), 5_000).unref();
      });
    }, Math.min(delay, 2 ** 31 - 1));
    this.#refreshTimer.unref();
  }

  /** The shared connection to a server's sync endpoint. */
  connectionTo(syncUrl: string): Connection {
    let c = this.#connections.get(syncUrl);
    if (!c) {
      c = new Connection(syncUrl, this, this.#options.connection, (empty) => {
        if (this.#connections.get(syncUrl) === empty) {
          this.#connections.delete(syncUrl);
          empty.close();
        }
      });
      this.#connections.set(syncUrl, c);
    }
    return c;
  }

  /** Starts syncing a replica with the realm at `url` (used by Realm; one session per replica). */
  openSyncSession(options: OpenSessionOptions): Session {
    if (this.#loggedOut) throw new TributaryError('AUTH_FAILED', `user ${this.identity} is logged out`);
    const location = parseRealmUrl(options.url);
    const session = new Session(() => this.connectionTo(location.syncUrl), options.replica, location.path, options.url, this, { ...this.#options.session, log: options.log });
    if (options.onError) session.addErrorListener(options.onError);
    this.#sessions.add(session);
    return session;
  }

  /** Sessions opened by this user and not closed (tests, tools). */
  get sessions(): Session[] {
    return [...this.#sessions].filter((s) => !s.isClosed);
  }

  /**
   * Ends the user's sessions and connections at once, forgets the tokens, and revokes the login on
   * the server (`POST /auth/revoke`), so a copy of the refresh token is worthless afterwards. The
   * local part is synchronous, as in realm-js; the returned Promise settles when the server has
   * revoked the login (it never rejects: when the server cannot be reached the refresh token
   * stays valid until it expires). Await it before the process exits.
   */
  logout(): Promise<void> {
    if (this.#loggedOut) return Promise.resolve();
    this.#loggedOut = true;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    for (const s of this.#sessions) s.close();
    this.#sessions.clear();
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
    for (const [k, u] of User.registry) if (u === this) User.registry.delete(k);
    const refreshToken = this.#refreshToken;
    this.#refreshToken = undefined;
    if (!refreshToken) return Promise.resolve();
    return postJson(`${this.server}/auth/revoke`, { token: refreshToken }, this.#options.authTimeoutMs).then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * realm-js `user.createConfiguration(config?)`: a Realm configuration syncing as this user; the
   * default URL is the realm `/~/default` on the user's server.
   */
  createConfiguration<C extends { sync?: Record<string, unknown> }>(config?: C): C & { sync: { user: User; url: string } } {
    const base = this.server.replace(/^http/, 'realm');
    const sync = { url: `${base}/~/default`, ...(config?.sync ?? {}), user: this };
    return { ...(config ?? ({} as C)), sync };
  }

  // ---- permissions (realm-js 2.x/3.x; src/client/user-permissions.ts) -------------------------

  /**
   * Sets the access of a user (`{ userId }`, `'*'` for everyone) to a realm this user may manage:
   * `'none' | 'read' | 'write' | 'admin'`.
   *
   * @example
   * await alice.applyPermissions({ userId: bob.identity }, 'realm://host:9080/~/shared', 'read');
   */
  applyPermissions(condition: permissions.PermissionCondition, realmUrl: string, accessLevel: permissions.AccessLevel): Promise<void> {
    return permissions.applyPermissions(this, condition, realmUrl, accessLevel);
  }

  /** The live Permission objects of `/~/__permission`: granted to this user, by this user, or both. */
  getGrantedPermissions(recipient: 'any' | 'currentUser' | 'otherUser' = 'any'): Promise<Results<RealmObject>> {
    return permissions.getGrantedPermissions(this, recipient);
  }

  /** A token giving `accessLevel` on a realm to whoever accepts it (before `expiresAt`). */
  offerPermissions(realmUrl: string, accessLevel: permissions.AccessLevel, expiresAt?: Date | number | null): Promise<string> {
    return permissions.offerPermissions(this, realmUrl, accessLevel, expiresAt);
  }

  /** Accepts an offer; resolves to the realm's URL. */
  acceptPermissionOffer(token: string): Promise<string> {
    return permissions.acceptPermissionOffer(this, token);
  }

  invalidatePermissionOffer(offerOrToken: string | { token?: string | null }): Promise<void> {
    return permissions.invalidatePermissionOffer(this, offerOrToken);
  }

  /** The user's management realm (realm-js 2.x object API for permissions). */
  openManagementRealm(): Realm {
    return permissions.openManagementRealm(this);
  }

  /**
   * realm-js `retrieveAccount(provider, providerId)` (admins): the account and its user.
   * Resolves to `{ provider, provider_id, user: { id, isAdmin } }`.
   */
  async retrieveAccount(provider: string, providerId: string): Promise<{ provider: string; provider_id: string; user: { id: string; isAdmin: boolean } }> {
    const res = await this.request('GET', `/auth/users/${encodeURIComponent(provider)}/${encodeURIComponent(providerId)}`);
    return res as never;
  }

  /** @internal An authenticated JSON request to this user's server. */
  async request(method: 'GET' | 'POST' | 'DELETE', route: string, body: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.#loggedOut) throw new TributaryError('AUTH_FAILED', `user ${this.identity} is logged out`);
    if (this.tokenNeedsRefresh) await this.refreshAccessToken();
    return postJson(`${this.server}${route}`, body, this.#options.authTimeoutMs, { authorization: `Bearer ${this.#accessToken}` }, method);
  }

  toJSON(): { identity: string; isAdmin: boolean; server: string } {
    return { identity: this.identity, isAdmin: this.isAdmin, server: this.server };
  }
}

/** realm-js `registerWithProvider` options. */
export interface ProviderLogin {
  provider: string;
  providerToken: string;
  userInfo?: Record<string, unknown>;
}

function requireText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new TributaryError('INVALID_ARGUMENT', `${what} must be a non-empty string`);
  return v;
}

/** Credentials for realm-js `User.authenticate(server, provider, options)`. */
function credentialsFor(provider: string, o: Record<string, unknown>): Credentials {
  switch (provider) {
    case 'password':
      return Credentials.usernamePassword(o.username as string, o.password as string, o.register === undefined ? undefined : !!o.register);
    case 'jwt':
      return Credentials.jwt((o.token ?? o.data) as string);
    case 'nickname':
      return Credentials.nickname((o.nickname ?? o.data) as string, !!(o.isAdmin ?? o.is_admin));
    case 'anonymous':
      return Credentials.anonymous();
    case 'adminToken':
      return Credentials.adminToken(o.token as string);
    default:
      return Credentials.custom(provider, (o.token ?? o.data) as string, (o.userInfo ?? o.user_info ?? {}) as Record<string, unknown>);
  }
}

/** A node-style callback, as the old realm-js login forms took. */
export type NodeCallback<T> = (error: Error | null, result?: T) => void;

function optionsOf(c: UserOptions | NodeCallback<User> | undefined): UserOptions | undefined {
  return typeof c === 'function' ? undefined : c;
}

/** With a callback: settle through it and return nothing; without: the promise. */
function withCallback<T>(promise: Promise<T>, c: unknown): Promise<T> | void {
  if (typeof c !== 'function') return promise;
  const cb = c as NodeCallback<T>;
  promise.then(
    (v) => cb(null, v),
    (e: Error) => cb(e),
  );
}

async function postAuth(base: string, body: Record<string, unknown>, timeoutMs = 15_000): Promise<AuthResponse> {
  return postJson(`${base}/auth`, body, timeoutMs) as Promise<unknown> as Promise<AuthResponse>;
}

/** POST a JSON body; the parsed JSON answer, or a TributaryError with the server's code. */
export async function postJson(url: string, body: Record<string, unknown>, timeoutMs = 15_000, headers: Record<string, string> = {}, method = 'POST'): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'GET' ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const timeout = (e as Error)?.name === 'TimeoutError';
    throw new TributaryError(timeout ? 'TIMEOUT' : 'OTHER_ERROR', `cannot reach ${url}: ${(e as Error).message}`, { cause: e });
  }
  let json: Record<string, unknown> = {};
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    // an empty or non-JSON body; the status decides
  }
  if (!res.ok) {
    const code = typeof json.code === 'string' && json.code in ERROR_CODES ? (json.code as ErrorCode) : res.status === 409 ? 'USER_EXISTS' : 'AUTH_FAILED';
    const message = typeof json.message === 'string' ? json.message : `request failed (HTTP ${res.status})`;
    const retryAfter = Number(res.headers.get('retry-after'));
    throw new AuthError(code, message, res.status, Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : undefined);
  }
  return json;
}

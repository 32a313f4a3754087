import { randomBytes } from 'node:crypto';
import { TributaryError } from '../errors';
import { recordUser } from './admin-realm';
import type { CommitQueue } from './commit-queue';
import type { Logger } from '../shared/logger';
import { DUMMY_HASH_PROMISE, hashPassword, verifyPassword } from './passwords';
import type { StorageDriver, UserRecord } from './storage/types';
import type { SyncService } from './sync-service';
import { ADMIN_IDENTITY, type TokenService } from './tokens';

export interface AuthResult {
  identity: string;
  isAdmin: boolean;
  accessToken: string;
  refreshToken?: string;
}

const MAX_USERNAME = 256;
const MAX_PASSWORD = 1024;

/**
 * The `POST /auth` providers: `password` (login or `register: true`), `refresh` (a refresh token
 * for a new access token) and `adminToken`. Bodies are validated here; every failure is a
 * TributaryError (INVALID_ARGUMENT, AUTH_FAILED, USER_EXISTS, TOKEN_EXPIRED) that http.ts maps
 * to a status.
 */
export class AuthService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly sync: SyncService,
    private readonly tokens: TokenService,
    private readonly allowRegistration: boolean,
    private readonly log: Logger,
  ) {}

  async authenticate(body: unknown): Promise<AuthResult> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('the body must be a JSON object');
    const b = body as Record<string, unknown>;
    switch (b.provider) {
      case 'password':
        return this.password(b);
      case 'refresh':
        return this.refresh(b);
      case 'adminToken':
        return this.adminToken(b);
      default:
        throw invalid(`unknown provider ${JSON.stringify(b.provider)}; expected password, refresh or adminToken`);
    }
  }

  private async password(b: Record<string, unknown>): Promise<AuthResult> {
    const { username, password, register } = b;
    if (typeof username !== 'string' || username.length === 0 || username.length > MAX_USERNAME) throw invalid(`username must be a string of 1 to ${MAX_USERNAME} characters`);
    if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD) throw invalid(`password must be a string of 1 to ${MAX_PASSWORD} characters`);
    if (register !== undefined && typeof register !== 'boolean') throw invalid('register must be a boolean');
    if (register) {
      if (!this.allowRegistration) throw new TributaryError('AUTH_FAILED', 'registration is disabled on this server');
      const user: UserRecord = {
        id: randomBytes(16).toString('hex'),
        username,
        passwordHash: await hashPassword(password),
        isAdmin: false,
        createdAt: Date.now(),
      };
      let adminRealmId = 0;
      await this.queue.submit((tx) => {
        if (tx.getUserByName(username)) throw new TributaryError('USER_EXISTS', 'a user with that name exists');
        tx.createUser(user);
        adminRealmId = recordUser(tx, user, () => this.sync.clock.tick());
      });
      this.sync.notify(adminRealmId);
      this.log.info('user registered', { identity: user.id });
      return this.issue(user.id, false, true);
    }
    const user = await this.storage.read((tx) => tx.getUserByName(username));
    // Hash even for an unknown user, so response time does not tell which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE()));
    if (!user || !user.passwordHash || !ok) {
      this.log.info('login failed', { reason: user ? 'wrong password' : 'unknown user' });
      throw new TributaryError('AUTH_FAILED', 'unknown user or wrong password');
    }
    return this.issue(user.id, user.isAdmin, true);
  }

  private async refresh(b: Record<string, unknown>): Promise<AuthResult> {
    if (typeof b.refreshToken !== 'string') throw invalid('refreshToken must be a string');
    const claims = await this.verifyOrFail(b.refreshToken, 'refresh');
    const user = await this.storage.read((tx) => tx.getUserById(claims.sub));
    if (!user) throw new TributaryError('AUTH_FAILED', 'the user no longer exists');
    return this.issue(user.id, user.isAdmin, false);
  }

  private async adminToken(b: Record<string, unknown>): Promise<AuthResult> {
    if (typeof b.token !== 'string') throw invalid('token must be a string');
    await this.verifyOrFail(b.token, 'admin');
    return this.issue(ADMIN_IDENTITY, true, false);
  }

  private async verifyOrFail(token: string, type: 'refresh' | 'admin') {
    try {
      return await this.tokens.verify(token, [type]);
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'TOKEN_EXPIRED') throw e;
      throw new TributaryError('AUTH_FAILED', `not a valid ${type === 'admin' ? 'admin' : 'refresh'} token`);
    }
  }

  private async issue(identity: string, isAdmin: boolean, withRefresh: boolean): Promise<AuthResult> {
    const accessToken = await this.tokens.issue(identity, isAdmin, 'access');
    if (!withRefresh) return { identity, isAdmin, accessToken };
    return { identity, isAdmin, accessToken, refreshToken: await this.tokens.issue(identity, isAdmin, 'refresh') };
  }
}

function invalid(message: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', message);
}

import { randomBytes } from 'node:crypto';
import { TributaryError } from '../errors';
import type { CommitQueue } from './commit-queue';
import type { Logger } from '../shared/logger';
import type { StorageDriver } from './storage/types';
import type { TokenClaims, TokenService } from './tokens';

/** What a login or a refresh answers (the body of `POST /auth`). */
export interface AuthResult {
  identity: string;
  isAdmin: boolean;
  accessToken: string;
  refreshToken?: string;
}

const newId = () => randomBytes(16).toString('hex');

/**
 * The tokens of logged-in users. A login starts a family; its refresh token is single-use: the
 * refresh hands out the next refresh token of the family with the access token. A refresh token
 * presented a second time means two parties hold it (it was copied), so the whole family is
 * revoked: the thief's tokens and the owner's, who logs in again. Access tokens carry their family
 * (`fam`), so a revoked family's access tokens are refused too (checked by {@link isRevoked},
 * which TokenService consults on every verification).
 */
export class SessionTokens {
  private lastPrune = 0;

  constructor(
    private readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly tokens: TokenService,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Told after tokens were revoked, so live connections holding them can be ended. */
    private readonly onRevoked: () => void = () => undefined,
  ) {}

  /** Issues the first tokens of a new login. */
  async login(userId: string, isAdmin: boolean): Promise<AuthResult> {
    const family = newId();
    const jti = newId();
    const expiresAt = this.now() + this.tokens.ttlOf('refresh')! * 1000;
    const prune = this.now() - this.lastPrune > 3_600_000;
    if (prune) this.lastPrune = this.now();
    await this.queue.submit((tx) => {
      if (prune) tx.accounts.pruneRefreshTokens(this.now());
      tx.accounts.putRefreshToken({ id: jti, family, userId, expiresAt, usedAt: null, revoked: false });
    });
    return this.result(userId, isAdmin, family, jti);
  }

  /** Exchanges a refresh token for an access token and the next refresh token (rotation). */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const claims = await this.verifyRefresh(refreshToken);
    const next = newId();
    const outcome = await this.queue.submit((tx) => {
      const record = tx.accounts.getRefreshToken(claims.jti!);
      if (!record || record.revoked || record.userId !== claims.sub || tx.accounts.isFamilyRevoked(record.family)) return 'revoked' as const;
      if (record.usedAt !== null) {
        tx.accounts.revokeFamily(record.family);
        return 'replayed' as const;
      }
      const user = tx.getUserById(record.userId);
      if (!user) return 'revoked' as const;
      tx.accounts.markRefreshTokenUsed(record.id, this.now());
      tx.accounts.putRefreshToken({ id: next, family: record.family, userId: user.id, expiresAt: this.now() + this.tokens.ttlOf('refresh')! * 1000, usedAt: null, revoked: false });
      return { user, family: record.family };
    });
    if (outcome === 'replayed') {
      this.onRevoked();
      this.log.warn('a used refresh token was presented again; its login was revoked', { identity: claims.sub });
      throw new TributaryError('AUTH_FAILED', 'the refresh token was already used; log in again');
    }
    if (outcome === 'revoked') throw new TributaryError('AUTH_FAILED', 'the refresh token has been revoked; log in again');
    return this.result(outcome.user.id, outcome.user.isAdmin, outcome.family, next);
  }

  /** Revokes the login a refresh token belongs to (logout). An expired token has nothing left to revoke. */
  async revoke(refreshToken: string): Promise<void> {
    let claims: TokenClaims;
    try {
      claims = await this.tokens.verify(refreshToken, ['refresh'], { ignoreRevocation: true });
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'TOKEN_EXPIRED') return;
      throw new TributaryError('AUTH_FAILED', 'not a valid refresh token');
    }
    if (!claims.fam) return;
    await this.queue.submit((tx) => tx.accounts.revokeFamily(claims.fam!));
    this.onRevoked();
    this.log.info('logged out', { identity: claims.sub });
  }

  /** Revokes every login of a user (password changed or reset). */
  async revokeUser(userId: string): Promise<void> {
    await this.queue.submit((tx) => tx.accounts.revokeUserTokens(userId));
    this.onRevoked();
  }

  /** TokenService's revocation check for access and refresh tokens. */
  async isRevoked(claims: TokenClaims): Promise<boolean> {
    if (claims.typ === 'admin' || !claims.fam) return false;
    return this.storage.read((tx) => tx.accounts.isFamilyRevoked(claims.fam!));
  }

  private async verifyRefresh(token: string): Promise<TokenClaims> {
    let claims: TokenClaims;
    try {
      // Revocation is decided below, against the token's own record.
      claims = await this.tokens.verify(token, ['refresh'], { ignoreRevocation: true });
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'TOKEN_EXPIRED') throw e;
      throw new TributaryError('AUTH_FAILED', 'not a valid refresh token');
    }
    // Tokens of the first release carried no id: they cannot be rotated, so they are not accepted.
    if (!claims.jti || !claims.fam) throw new TributaryError('AUTH_FAILED', 'this refresh token predates token rotation; log in again');
    return claims;
  }

  private async result(userId: string, isAdmin: boolean, family: string, jti: string): Promise<AuthResult> {
    return {
      identity: userId,
      isAdmin,
      accessToken: await this.tokens.issue(userId, isAdmin, 'access', { fam: family }),
      refreshToken: await this.tokens.issue(userId, isAdmin, 'refresh', { fam: family, jti }),
    };
  }
}

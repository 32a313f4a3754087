import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readAdminTokenFile, writeAdminTokenFile } from '../shared/admin-token';
import type { Logger } from '../shared/logger';
import type { StorageDriver, WriteTransaction } from './storage/types';
import { ADMIN_IDENTITY, type TokenClaims, type TokenService } from './tokens';

/**
 * The admin token: a never-expiring JWT whose id (`jti`) is registered in storage. Rotating issues
 * a new one, writes it to `keys/admin.json` and revokes every other id, so a leaked admin token
 * dies with one command (`tributary token --rotate`, or `POST /admin/token/rotate`) instead of a
 * new signing key, which would also log every user out.
 *
 * The check reads storage on each verification (one indexed row), so a revoked token is refused
 * at its next use.
 */
export class AdminTokens {
  constructor(
    private readonly storage: StorageDriver,
    private readonly write: <T>(fn: (tx: WriteTransaction) => T) => Promise<T>,
    private readonly tokens: TokenService,
    private readonly file: string,
    private readonly log: Logger,
    /** Told after older admin tokens were revoked (rotation), so live connections holding them end. */
    private readonly onRevoked: () => void = () => undefined,
  ) {}

  /** Keeps a valid token file, or writes a new token (first start, new key, revoked or pre-rotation token). */
  async ensure(): Promise<void> {
    if (fs.existsSync(this.file)) {
      try {
        await this.tokens.verify(readAdminTokenFile(this.file), ['admin']);
        return;
      } catch {
        this.log.warn('the admin token file holds no valid admin token for the current key; writing a new one', { file: this.file });
      }
    }
    await this.issue(false);
    this.log.info('wrote the admin token', { file: path.resolve(this.file) });
  }

  /** Issues a new admin token, writes the file and revokes every other admin token. Returns it. */
  async rotate(): Promise<string> {
    const token = await this.issue(true);
    this.onRevoked();
    this.log.info('rotated the admin token; older admin tokens are revoked', { file: path.resolve(this.file) });
    return token;
  }

  /** TokenService's revocation check for admin tokens. */
  async isRevoked(claims: TokenClaims): Promise<boolean> {
    if (claims.typ !== 'admin') return false;
    // Admin tokens of the first release carried no id; they are replaced at start.
    if (!claims.jti) return true;
    const record = await this.storage.read((tx) => tx.accounts.getAdminToken(claims.jti!));
    return !record || record.revokedAt !== null;
  }

  private async issue(revokeOthers: boolean): Promise<string> {
    const jti = randomBytes(16).toString('hex');
    const token = await this.tokens.issue(ADMIN_IDENTITY, true, 'admin', { jti });
    const now = Date.now();
    await this.write((tx) => {
      tx.accounts.putAdminToken(jti, now);
      if (revokeOthers) tx.accounts.revokeAdminTokensExcept(jti, now);
    });
    writeAdminTokenFile(this.file, token);
    return token;
  }
}

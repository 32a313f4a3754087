import type BetterSqlite3 from 'better-sqlite3';
import { TributaryError } from '../../errors';
import type {
  AccountReads,
  AccountRecord,
  AccountTokenPurpose,
  AccountTokenRecord,
  AccountWrites,
  AdminTokenRecord,
  GrantRecord,
  OfferRecord,
  PermissionLevel,
  RefreshTokenRecord,
} from './account-types';

type Stmt = BetterSqlite3.Statement;

interface AccountRow {
  provider: string;
  provider_id: string;
  user_id: string;
  created_at: number;
  confirmed_at: number | null;
}
interface RefreshRow {
  id: string;
  family: string;
  user_id: string;
  expires_at: number;
  used_at: number | null;
  revoked: number;
}
interface GrantRow {
  realm_path: string;
  user_id: string;
  level: PermissionLevel;
  updated_at: number;
}
interface OfferRow {
  token: string;
  realm_path: string;
  level: PermissionLevel;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked: number;
}

const account = (r: AccountRow): AccountRecord => ({ provider: r.provider, providerId: r.provider_id, userId: r.user_id, createdAt: r.created_at, confirmedAt: r.confirmed_at });
const refresh = (r: RefreshRow): RefreshTokenRecord => ({ id: r.id, family: r.family, userId: r.user_id, expiresAt: r.expires_at, usedAt: r.used_at, revoked: r.revoked === 1 });
const grant = (r: GrantRow): GrantRecord => ({ realmPath: r.realm_path, userId: r.user_id, level: r.level, updatedAt: r.updated_at });
const offer = (r: OfferRow): OfferRecord => ({
  token: r.token,
  realmPath: r.realm_path,
  level: r.level,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revoked: r.revoked === 1,
});

/** Prepared statements of the accounts tables (sqlite-schema.ts), prepared once per database. */
export class AccountStatements {
  readonly account: Stmt;
  readonly accountsOf: Stmt;
  readonly insertAccount: Stmt;
  readonly confirm: Stmt;
  readonly setAdmin: Stmt;
  readonly setPassword: Stmt;
  readonly refresh: Stmt;
  readonly familyRevoked: Stmt;
  readonly insertRefresh: Stmt;
  readonly useRefresh: Stmt;
  readonly revokeFamily: Stmt;
  readonly revokeUser: Stmt;
  readonly pruneRefresh: Stmt;
  readonly adminToken: Stmt;
  readonly insertAdminToken: Stmt;
  readonly revokeAdminTokens: Stmt;
  readonly grantsAll: Stmt;
  readonly grantsOfPath: Stmt;
  readonly grantsOfUser: Stmt;
  readonly grantsOfPathAndUser: Stmt;
  readonly upsertGrant: Stmt;
  readonly deleteGrant: Stmt;
  readonly offer: Stmt;
  readonly offersAll: Stmt;
  readonly offersBy: Stmt;
  readonly insertOffer: Stmt;
  readonly revokeOffer: Stmt;
  readonly accountToken: Stmt;
  readonly insertAccountToken: Stmt;
  readonly deleteAccountToken: Stmt;

  constructor(db: BetterSqlite3.Database) {
    this.account = db.prepare('SELECT * FROM accounts WHERE provider = ? AND provider_id = ?');
    this.accountsOf = db.prepare('SELECT * FROM accounts WHERE user_id = ? ORDER BY created_at, provider, provider_id');
    this.insertAccount = db.prepare('INSERT INTO accounts (provider, provider_id, user_id, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?)');
    this.confirm = db.prepare('UPDATE accounts SET confirmed_at = ? WHERE provider = ? AND provider_id = ?');
    this.setAdmin = db.prepare('UPDATE users SET is_admin = ? WHERE id = ?');
    this.setPassword = db.prepare('UPDATE users SET password_hash = ? WHERE id = ?');
    this.refresh = db.prepare('SELECT * FROM refresh_tokens WHERE id = ?');
    this.familyRevoked = db.prepare('SELECT 1 FROM refresh_tokens WHERE family = ? AND revoked = 1 LIMIT 1').pluck();
    this.insertRefresh = db.prepare('INSERT INTO refresh_tokens (id, family, user_id, expires_at, used_at, revoked) VALUES (?, ?, ?, ?, ?, ?)');
    this.useRefresh = db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE id = ?');
    this.revokeFamily = db.prepare('UPDATE refresh_tokens SET revoked = 1 WHERE family = ?');
    this.revokeUser = db.prepare('UPDATE refresh_tokens SET revoked = 1 WHERE user_id = ?');
    this.pruneRefresh = db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?');
    this.adminToken = db.prepare('SELECT id, created_at AS createdAt, revoked_at AS revokedAt FROM admin_tokens WHERE id = ?');
    this.insertAdminToken = db.prepare('INSERT INTO admin_tokens (id, created_at) VALUES (?, ?)');
    this.revokeAdminTokens = db.prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id != ? AND revoked_at IS NULL');
    this.grantsAll = db.prepare('SELECT * FROM permissions ORDER BY realm_path, user_id');
    this.grantsOfPath = db.prepare('SELECT * FROM permissions WHERE realm_path = ? ORDER BY user_id');
    this.grantsOfUser = db.prepare('SELECT * FROM permissions WHERE user_id = ? ORDER BY realm_path');
    this.grantsOfPathAndUser = db.prepare('SELECT * FROM permissions WHERE realm_path = ? AND user_id = ?');
    this.upsertGrant = db.prepare('INSERT OR REPLACE INTO permissions (realm_path, user_id, level, updated_at) VALUES (?, ?, ?, ?)');
    this.deleteGrant = db.prepare('DELETE FROM permissions WHERE realm_path = ? AND user_id = ?');
    this.offer = db.prepare('SELECT * FROM permission_offers WHERE token = ?');
    this.offersAll = db.prepare('SELECT * FROM permission_offers ORDER BY created_at, token');
    this.offersBy = db.prepare('SELECT * FROM permission_offers WHERE created_by = ? ORDER BY created_at, token');
    this.insertOffer = db.prepare('INSERT INTO permission_offers (token, realm_path, level, created_by, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.revokeOffer = db.prepare('UPDATE permission_offers SET revoked = 1 WHERE token = ?');
    this.accountToken = db.prepare('SELECT hash, user_id AS userId, purpose, expires_at AS expiresAt FROM account_tokens WHERE hash = ?');
    this.insertAccountToken = db.prepare('INSERT OR REPLACE INTO account_tokens (hash, user_id, purpose, expires_at) VALUES (?, ?, ?, ?)');
    this.deleteAccountToken = db.prepare('DELETE FROM account_tokens WHERE hash = ?');
  }
}

/** {@link AccountReads} on SQLite. */
export class SqliteAccountReads implements AccountReads {
  constructor(protected readonly st: AccountStatements) {}

  getAccount(provider: string, providerId: string): AccountRecord | undefined {
    const r = this.st.account.get(provider, providerId) as AccountRow | undefined;
    return r && account(r);
  }
  accountsOf(userId: string): AccountRecord[] {
    return (this.st.accountsOf.all(userId) as AccountRow[]).map(account);
  }
  getRefreshToken(id: string): RefreshTokenRecord | undefined {
    const r = this.st.refresh.get(id) as RefreshRow | undefined;
    return r && refresh(r);
  }
  isFamilyRevoked(family: string): boolean {
    return this.st.familyRevoked.get(family) === 1;
  }
  getAdminToken(id: string): AdminTokenRecord | undefined {
    return this.st.adminToken.get(id) as AdminTokenRecord | undefined;
  }
  listGrants(filter: { realmPath?: string; userId?: string } = {}): GrantRecord[] {
    const { realmPath, userId } = filter;
    const rows =
      realmPath !== undefined && userId !== undefined
        ? this.st.grantsOfPathAndUser.all(realmPath, userId)
        : realmPath !== undefined
          ? this.st.grantsOfPath.all(realmPath)
          : userId !== undefined
            ? this.st.grantsOfUser.all(userId)
            : this.st.grantsAll.all();
    return (rows as GrantRow[]).map(grant);
  }
  getOffer(token: string): OfferRecord | undefined {
    const r = this.st.offer.get(token) as OfferRow | undefined;
    return r && offer(r);
  }
  listOffers(createdBy?: string): OfferRecord[] {
    return ((createdBy === undefined ? this.st.offersAll.all() : this.st.offersBy.all(createdBy)) as OfferRow[]).map(offer);
  }
  getAccountToken(hash: string): AccountTokenRecord | undefined {
    const r = this.st.accountToken.get(hash) as (Omit<AccountTokenRecord, 'purpose'> & { purpose: string }) | undefined;
    return r && { ...r, purpose: r.purpose as AccountTokenPurpose };
  }
}

/** {@link AccountWrites} on SQLite (inside the driver's write transaction). */
export class SqliteAccountWrites extends SqliteAccountReads implements AccountWrites {
  addAccount(a: AccountRecord): void {
    try {
      this.st.insertAccount.run(a.provider, a.providerId, a.userId, a.createdAt, a.confirmedAt);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new TributaryError('USER_EXISTS', `a ${a.provider} account with that id exists`);
      throw e;
    }
  }
  setConfirmed(provider: string, providerId: string, at: number): void {
    this.st.confirm.run(at, provider, providerId);
  }
  setAdmin(userId: string, isAdmin: boolean): void {
    this.st.setAdmin.run(isAdmin ? 1 : 0, userId);
  }
  setPasswordHash(userId: string, hash: string): void {
    this.st.setPassword.run(hash, userId);
  }
  putRefreshToken(t: RefreshTokenRecord): void {
    this.st.insertRefresh.run(t.id, t.family, t.userId, t.expiresAt, t.usedAt, t.revoked ? 1 : 0);
  }
  markRefreshTokenUsed(id: string, at: number): void {
    this.st.useRefresh.run(at, id);
  }
  revokeFamily(family: string): void {
    this.st.revokeFamily.run(family);
  }
  revokeUserTokens(userId: string): void {
    this.st.revokeUser.run(userId);
  }
  pruneRefreshTokens(now: number): void {
    this.st.pruneRefresh.run(now);
  }
  putAdminToken(id: string, createdAt: number): void {
    this.st.insertAdminToken.run(id, createdAt);
  }
  revokeAdminTokensExcept(keep: string, at: number): void {
    this.st.revokeAdminTokens.run(at, keep);
  }
  setGrant(realmPath: string, userId: string, level: PermissionLevel | null, at: number): void {
    if (level === null) this.st.deleteGrant.run(realmPath, userId);
    else this.st.upsertGrant.run(realmPath, userId, level, at);
  }
  putOffer(o: OfferRecord): void {
    this.st.insertOffer.run(o.token, o.realmPath, o.level, o.createdBy, o.createdAt, o.expiresAt, o.revoked ? 1 : 0);
  }
  revokeOffer(token: string): void {
    this.st.revokeOffer.run(token);
  }
  putAccountToken(t: AccountTokenRecord): void {
    this.st.insertAccountToken.run(t.hash, t.userId, t.purpose, t.expiresAt);
  }
  deleteAccountToken(hash: string): void {
    this.st.deleteAccountToken.run(hash);
  }
}

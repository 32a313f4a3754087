import { createHash, randomBytes } from 'node:crypto';
import { TributaryError } from '../errors';
import { recordUser } from './admin-realm';
import type { CommitQueue } from './commit-queue';
import type { Logger } from '../shared/logger';
import { hashPassword } from './passwords';
import type { AccountRecord, AccountTokenPurpose, StorageDriver, UserRecord, WriteTransaction } from './storage/types';
import { checkPassword, checkUserName } from './user-names';

/** A user as the admin API and CLI show it (never the password hash). */
export interface UserView {
  identity: string;
  username: string | null;
  isAdmin: boolean;
  createdAt: string;
  accounts: { provider: string; providerId: string }[];
}

/** Something that tells the sync engine a realm changed (SyncService.notify) and gives server timestamps. */
export interface RealmNotifier {
  notify(realmId: number): void;
  readonly clock: { tick(): number };
}

const ONE_DAY = 86_400_000;

/**
 * Users and their login identities: password accounts (registration, admin creation, password
 * changes), accounts of other providers (found or created on login), the admin flag, and the
 * single-use tokens of password resets and e-mail confirmations. Every change is mirrored into
 * `/__admin` (User and Account objects) in the same transaction.
 */
export class AccountService {
  constructor(
    private readonly storage: StorageDriver,
    private readonly queue: CommitQueue,
    private readonly sync: RealmNotifier,
    private readonly log: Logger,
  ) {}

  /** Runs `fn` in the group commit; `fn` returns the user whose `/__admin` objects need refreshing. */
  private async change<T extends { user?: UserRecord }>(fn: (tx: WriteTransaction) => T): Promise<T> {
    let adminRealmId: number | undefined;
    const result = await this.queue.submit((tx) => {
      const r = fn(tx);
      if (r.user) adminRealmId = recordUser(tx, tx.getUserById(r.user.id)!, () => this.sync.clock.tick());
      return r;
    });
    if (adminRealmId !== undefined) this.sync.notify(adminRealmId);
    return result;
  }

  /** Creates a password user. `byAdmin` allows the admin-only names (realm-admin…) and `isAdmin`. */
  async createPasswordUser(rawName: unknown, rawPassword: unknown, options: { isAdmin?: boolean; byAdmin?: boolean } = {}): Promise<UserRecord> {
    const username = checkUserName(rawName, options.byAdmin);
    const password = checkPassword(rawPassword);
    const user: UserRecord = { id: newIdentity(), username, passwordHash: await hashPassword(password), isAdmin: !!options.isAdmin, createdAt: Date.now() };
    await this.change((tx) => {
      if (tx.getUserByName(username) || tx.accounts.getAccount('password', username)) throw new TributaryError('USER_EXISTS', 'a user with that name exists');
      tx.createUser(user);
      return { user };
    });
    this.log.info('user created', { identity: user.id, isAdmin: user.isAdmin, byAdmin: !!options.byAdmin });
    return user;
  }

  /** The user of a provider identity, created (with its account) on first login. */
  async loginExternal(provider: string, providerId: string, isAdmin: boolean | undefined): Promise<UserRecord> {
    const existing = await this.storage.read((tx) => {
      const account = tx.accounts.getAccount(provider, providerId);
      return account && tx.getUserById(account.userId);
    });
    if (existing && (isAdmin === undefined || existing.isAdmin === isAdmin)) return existing;
    const { user } = await this.change((tx) => {
      const account = tx.accounts.getAccount(provider, providerId);
      let u = account && tx.getUserById(account.userId);
      if (!u) {
        u = { id: newIdentity(), username: null, passwordHash: null, isAdmin: !!isAdmin, createdAt: Date.now() };
        tx.createUser(u);
        tx.accounts.addAccount({ provider, providerId, userId: u.id, createdAt: u.createdAt, confirmedAt: null });
      } else if (isAdmin !== undefined && u.isAdmin !== isAdmin) {
        tx.accounts.setAdmin(u.id, isAdmin);
      }
      return { user: tx.getUserById(u.id)! };
    });
    if (!existing) this.log.info('user created', { identity: user.id, provider });
    return user;
  }

  /** A user by identity (32 hex) or password user name; NO_SUCH_USER otherwise. */
  async find(nameOrId: string): Promise<UserRecord> {
    const user = await this.storage.read((tx) => lookUp(tx, nameOrId));
    if (!user) throw new TributaryError('NO_SUCH_USER', `no user '${nameOrId}'`);
    return user;
  }

  async setAdmin(nameOrId: string, isAdmin: boolean): Promise<UserRecord> {
    const { user } = await this.change((tx) => {
      const u = lookUp(tx, nameOrId);
      if (!u) throw new TributaryError('NO_SUCH_USER', `no user '${nameOrId}'`);
      tx.accounts.setAdmin(u.id, isAdmin);
      return { user: u };
    });
    this.log.info(isAdmin ? 'admin granted' : 'admin revoked', { identity: user.id });
    return { ...user, isAdmin };
  }

  /** Sets a password (adding a password account when the user had none, under `username`). */
  async setPassword(nameOrId: string, rawPassword: unknown): Promise<UserRecord> {
    const hash = await hashPassword(checkPassword(rawPassword));
    const { user } = await this.change((tx) => {
      const u = lookUp(tx, nameOrId);
      if (!u) throw new TributaryError('NO_SUCH_USER', `no user '${nameOrId}'`);
      tx.accounts.setPasswordHash(u.id, hash);
      return { user: u };
    });
    return user;
  }

  async list(): Promise<UserView[]> {
    return this.storage.read((tx) => tx.listUsers().map((u) => view(u, tx.accounts.accountsOf(u.id))));
  }

  async view(user: UserRecord): Promise<UserView> {
    return this.storage.read((tx) => view(user, tx.accounts.accountsOf(user.id)));
  }

  /**
   * A single-use token for a password reset or an e-mail confirmation of a password user, valid for
   * a day; undefined for an unknown name (the caller answers the same either way). Only its hash
   * is stored.
   */
  async issueAccountToken(username: string, purpose: AccountTokenPurpose): Promise<{ token: string; user: UserRecord } | undefined> {
    const user = await this.storage.read((tx) => tx.getUserByName(username.normalize('NFC')));
    if (!user) return undefined;
    const token = randomBytes(24).toString('base64url');
    await this.queue.submit((tx) => tx.accounts.putAccountToken({ hash: sha256(token), userId: user.id, purpose, expiresAt: Date.now() + ONE_DAY }));
    return { token, user };
  }

  /** Consumes a token; returns its user. AUTH_FAILED when unknown, used, expired or of another purpose. */
  async consumeAccountToken(token: unknown, purpose: AccountTokenPurpose): Promise<UserRecord> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) throw new TributaryError('INVALID_ARGUMENT', 'token must be a string');
    const hash = sha256(token);
    const user = await this.queue.submit((tx) => {
      const record = tx.accounts.getAccountToken(hash);
      if (!record || record.purpose !== purpose || record.expiresAt < Date.now()) return undefined;
      tx.accounts.deleteAccountToken(hash);
      const u = tx.getUserById(record.userId);
      if (u?.username && purpose === 'email-confirmation') tx.accounts.setConfirmed('password', u.username, Date.now());
      return u;
    });
    if (!user) throw new TributaryError('AUTH_FAILED', 'the token is unknown, used or expired');
    return user;
  }
}

function lookUp(tx: { getUserById(id: string): UserRecord | undefined; getUserByName(n: string): UserRecord | undefined }, nameOrId: string): UserRecord | undefined {
  if (typeof nameOrId !== 'string') return undefined;
  return (/^[0-9a-f]{32}$/.test(nameOrId) ? tx.getUserById(nameOrId) : undefined) ?? tx.getUserByName(nameOrId.normalize('NFC'));
}

function view(u: UserRecord, accounts: AccountRecord[]): UserView {
  return {
    identity: u.id,
    username: u.username,
    isAdmin: u.isAdmin,
    createdAt: new Date(u.createdAt).toISOString(),
    accounts: accounts.map((a) => ({ provider: a.provider, providerId: a.provider === 'anonymous' ? '(anonymous)' : a.providerId })),
  };
}

function newIdentity(): string {
  return randomBytes(16).toString('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

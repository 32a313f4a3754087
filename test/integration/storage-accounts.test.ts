import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteDriver } from '../../src/server/storage/sqlite';
import type { StorageDriver, UserRecord } from '../../src/server/storage/types';
import { SCHEMA_VERSION } from '../../src/server/storage/sqlite-schema';

// The accounts half of the storage contract (src/server/storage/account-types.ts), run by every driver.

const DRIVERS: { name: string; open(dir: string): StorageDriver }[] = [{ name: 'sqlite', open: (dir) => new SqliteDriver(dir) }];

const user = (n: number, username: string | null): UserRecord => ({ id: String(n).padStart(32, '0'), username, passwordHash: username ? 'scrypt$x' : null, isAdmin: false, createdAt: 1000 + n });

describe.each(DRIVERS)('accounts storage: $name', (factory) => {
  let dir: string;
  let driver: StorageDriver;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-accounts-'));
    driver = factory.open(dir);
  });
  afterEach(async () => {
    await driver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  async function reopen(): Promise<void> {
    await driver.close();
    driver = factory.open(dir);
  }

  test('a password user gets its account row; other providers add theirs; (provider, id) is unique', async () => {
    await driver.write((tx) => {
      tx.createUser(user(1, 'alice'));
      tx.createUser(user(2, null));
      tx.accounts.addAccount({ provider: 'jwt', providerId: 'ext-7', userId: user(2, null).id, createdAt: 5, confirmedAt: null });
    });
    await expect(driver.write((tx) => tx.accounts.addAccount({ provider: 'jwt', providerId: 'ext-7', userId: user(1, null).id, createdAt: 6, confirmedAt: null }))).rejects.toMatchObject({ code: 'USER_EXISTS' });
    await reopen();
    const read = await driver.read((tx) => ({
      alice: tx.accounts.accountsOf(user(1, null).id),
      jwt: tx.accounts.getAccount('jwt', 'ext-7'),
      none: tx.accounts.getAccount('password', 'nobody'),
    }));
    expect(read.alice).toEqual([{ provider: 'password', providerId: 'alice', userId: user(1, null).id, createdAt: 1001, confirmedAt: null }]);
    expect(read.jwt?.userId).toBe(user(2, null).id);
    expect(read.none).toBeUndefined();
    await driver.write((tx) => {
      tx.accounts.setConfirmed('password', 'alice', 77);
      tx.accounts.setAdmin(user(1, null).id, true);
      tx.accounts.setPasswordHash(user(1, null).id, 'scrypt$new');
    });
    const after = await driver.read((tx) => ({ u: tx.getUserById(user(1, null).id), a: tx.accounts.getAccount('password', 'alice') }));
    expect(after.u).toMatchObject({ isAdmin: true, passwordHash: 'scrypt$new' });
    expect(after.a?.confirmedAt).toBe(77);
  });

  test('refresh tokens: use, family revocation, per-user revocation, pruning', async () => {
    const base = { userId: 'u1', usedAt: null, revoked: false };
    await driver.write((tx) => {
      tx.accounts.putRefreshToken({ ...base, id: 'a', family: 'f1', expiresAt: 100 });
      tx.accounts.putRefreshToken({ ...base, id: 'b', family: 'f1', expiresAt: 200 });
      tx.accounts.putRefreshToken({ ...base, id: 'c', family: 'f2', expiresAt: 300 });
      tx.accounts.putRefreshToken({ ...base, id: 'd', family: 'f3', userId: 'u2', expiresAt: 300 });
      tx.accounts.markRefreshTokenUsed('a', 50);
    });
    expect(await driver.read((tx) => tx.accounts.getRefreshToken('a'))).toEqual({ ...base, id: 'a', family: 'f1', expiresAt: 100, usedAt: 50 });
    expect(await driver.read((tx) => tx.accounts.isFamilyRevoked('f1'))).toBe(false);
    await driver.write((tx) => tx.accounts.revokeFamily('f1'));
    expect(await driver.read((tx) => [tx.accounts.isFamilyRevoked('f1'), tx.accounts.isFamilyRevoked('f2'), tx.accounts.getRefreshToken('b')?.revoked])).toEqual([true, false, true]);
    await driver.write((tx) => tx.accounts.revokeUserTokens('u1'));
    expect(await driver.read((tx) => [tx.accounts.isFamilyRevoked('f2'), tx.accounts.isFamilyRevoked('f3')])).toEqual([true, false]);
    await driver.write((tx) => tx.accounts.pruneRefreshTokens(250));
    expect(await driver.read((tx) => ['a', 'b', 'c', 'd'].map((id) => tx.accounts.getRefreshToken(id)?.id))).toEqual([undefined, undefined, 'c', 'd']);
  });

  test('admin tokens: rotating revokes every other one', async () => {
    await driver.write((tx) => {
      tx.accounts.putAdminToken('t1', 1);
      tx.accounts.putAdminToken('t2', 2);
    });
    await driver.write((tx) => {
      tx.accounts.putAdminToken('t3', 3);
      tx.accounts.revokeAdminTokensExcept('t3', 9);
    });
    await reopen();
    expect(await driver.read((tx) => ['t1', 't2', 't3', 'tx'].map((id) => tx.accounts.getAdminToken(id)))).toEqual([
      { id: 't1', createdAt: 1, revokedAt: 9 },
      { id: 't2', createdAt: 2, revokedAt: 9 },
      { id: 't3', createdAt: 3, revokedAt: null },
      undefined,
    ]);
  });

  test('grants: per user and for everyone, listed by path and by user, replaced and removed', async () => {
    await driver.write((tx) => {
      tx.accounts.setGrant('/a/x', 'u1', 'read', 10);
      tx.accounts.setGrant('/a/x', '*', 'write', 11);
      tx.accounts.setGrant('/b/y', 'u1', 'manage', 12);
      tx.accounts.setGrant('/a/x', 'u1', 'write', 13);
    });
    expect(await driver.read((tx) => tx.accounts.listGrants({ realmPath: '/a/x' }))).toEqual([
      { realmPath: '/a/x', userId: '*', level: 'write', updatedAt: 11 },
      { realmPath: '/a/x', userId: 'u1', level: 'write', updatedAt: 13 },
    ]);
    expect((await driver.read((tx) => tx.accounts.listGrants({ userId: 'u1' }))).map((g) => g.realmPath)).toEqual(['/a/x', '/b/y']);
    expect(await driver.read((tx) => [tx.getPermission('/a/x', '*'), tx.getPermission('/b/y', 'u1')])).toEqual(['write', 'manage']);
    await driver.write((tx) => tx.accounts.setGrant('/a/x', '*', null, 14));
    expect(await driver.read((tx) => tx.accounts.listGrants())).toHaveLength(2);
  });

  test('offers and account tokens', async () => {
    await driver.write((tx) => {
      tx.accounts.putOffer({ token: 'o1', realmPath: '/a/x', level: 'read', createdBy: 'u1', createdAt: 1, expiresAt: null, revoked: false });
      tx.accounts.putOffer({ token: 'o2', realmPath: '/a/y', level: 'manage', createdBy: 'u2', createdAt: 2, expiresAt: 99, revoked: false });
      tx.accounts.revokeOffer('o2');
      tx.accounts.putAccountToken({ hash: 'h', userId: 'u1', purpose: 'password-reset', expiresAt: 5 });
    });
    expect(await driver.read((tx) => tx.accounts.getOffer('o2'))).toMatchObject({ level: 'manage', expiresAt: 99, revoked: true });
    expect((await driver.read((tx) => tx.accounts.listOffers('u1'))).map((o) => o.token)).toEqual(['o1']);
    expect((await driver.read((tx) => tx.accounts.listOffers())).map((o) => o.token)).toEqual(['o1', 'o2']);
    expect(await driver.read((tx) => tx.accounts.getAccountToken('h'))).toEqual({ hash: 'h', userId: 'u1', purpose: 'password-reset', expiresAt: 5 });
    await driver.write((tx) => tx.accounts.deleteAccountToken('h'));
    expect(await driver.read((tx) => tx.accounts.getAccountToken('h'))).toBeUndefined();
  });
});

test('sqlite: a version-1 database is migrated (password accounts, grant times, the old /__admin retired)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-migrate-'));
  try {
    await new SqliteDriver(dir).close();
    const db = new Database(path.join(dir, 'tributary.db'));
    db.exec(`
      ALTER TABLE permissions DROP COLUMN updated_at;
      DELETE FROM accounts;
      UPDATE meta SET value = '1' WHERE key = 'schema_version';
      INSERT INTO users (id, username, password_hash, is_admin, created_at) VALUES ('${'1'.repeat(32)}', 'old-timer', 'scrypt$x', 0, 5);
      INSERT INTO realms (path, owner, created_at) VALUES ('/__admin', NULL, 1);
      INSERT INTO permissions (realm_path, user_id, level) VALUES ('/p', 'u', 'read');
    `);
    db.close();
    const driver = new SqliteDriver(dir);
    const seen = await driver.read((tx) => ({
      account: tx.accounts.getAccount('password', 'old-timer')?.userId,
      admin: tx.getRealm('/__admin'),
      retired: tx.getRealm('/__admin-v1')?.deleted,
      grants: tx.accounts.listGrants(),
    }));
    await driver.close();
    expect(seen).toEqual({ account: '1'.repeat(32), admin: undefined, retired: true, grants: [{ realmPath: '/p', userId: 'u', level: 'read', updatedAt: 0 }] });
    const version = new Database(path.join(dir, 'tributary.db')).prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
    expect(version).toBe(String(SCHEMA_VERSION));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The accounts half of the storage contract: login identities, token bookkeeping, grants and
 * offers. Every driver exposes it as `tx.accounts` on its read and write transactions; the
 * conformance suite is test/integration/storage-accounts.test.ts.
 */

/** One login identity of a user: `(provider, providerId)` is unique (ROS `Account`). */
export interface AccountRecord {
  /** `password`, `jwt`, `nickname`, `anonymous` or a custom provider's name. */
  provider: string;
  /** The user name, the token's user-id claim, the nickname, a random id for anonymous users. */
  providerId: string;
  userId: string;
  createdAt: number;
  /** When the account's e-mail address was confirmed (ms), or null. */
  confirmedAt: number | null;
}

/**
 * A refresh token the server issued. Tokens are rotated on use: each use marks the token used and
 * issues the next one of the same `family` (one family per login). A used token presented again
 * means a copy exists elsewhere, so the whole family is revoked.
 */
export interface RefreshTokenRecord {
  /** The token's `jti`. */
  id: string;
  family: string;
  userId: string;
  expiresAt: number;
  usedAt: number | null;
  revoked: boolean;
}

/** An admin token (its `jti`); rotating issues a new one and revokes the others. */
export interface AdminTokenRecord {
  id: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Realm-level access, each including the ones before it. */
export type PermissionLevel = 'read' | 'write' | 'manage';

/** `userId` `*` means every user. */
export const EVERYONE = '*';

export interface GrantRecord {
  realmPath: string;
  /** A user identity or {@link EVERYONE}. */
  userId: string;
  level: PermissionLevel;
  updatedAt: number;
}

/** A permission offer: whoever accepts `token` before `expiresAt` gets `level` on `realmPath`. */
export interface OfferRecord {
  token: string;
  realmPath: string;
  level: PermissionLevel;
  createdBy: string;
  createdAt: number;
  /** Milliseconds since the epoch, or null for no expiry. */
  expiresAt: number | null;
  revoked: boolean;
}

export type AccountTokenPurpose = 'password-reset' | 'email-confirmation';

/** A single-use token mailed to a user; only its SHA-256 is stored. */
export interface AccountTokenRecord {
  hash: string;
  userId: string;
  purpose: AccountTokenPurpose;
  expiresAt: number;
}

export interface AccountReads {
  getAccount(provider: string, providerId: string): AccountRecord | undefined;
  accountsOf(userId: string): AccountRecord[];
  getRefreshToken(id: string): RefreshTokenRecord | undefined;
  /** True when any token of the family was revoked (logout, replay). */
  isFamilyRevoked(family: string): boolean;
  getAdminToken(id: string): AdminTokenRecord | undefined;
  /** Grants, optionally only those on one path or of one user (`*` included as given). */
  listGrants(filter?: { realmPath?: string; userId?: string }): GrantRecord[];
  getOffer(token: string): OfferRecord | undefined;
  listOffers(createdBy?: string): OfferRecord[];
  getAccountToken(hash: string): AccountTokenRecord | undefined;
}

export interface AccountWrites extends AccountReads {
  /** Throws TributaryError USER_EXISTS when `(provider, providerId)` is taken. */
  addAccount(account: AccountRecord): void;
  setConfirmed(provider: string, providerId: string, at: number): void;
  setAdmin(userId: string, isAdmin: boolean): void;
  setPasswordHash(userId: string, hash: string): void;
  putRefreshToken(token: RefreshTokenRecord): void;
  markRefreshTokenUsed(id: string, at: number): void;
  revokeFamily(family: string): void;
  /** Revokes every refresh token of a user (password change, account disabled). */
  revokeUserTokens(userId: string): void;
  /** Forgets refresh tokens that expired before `now`. */
  pruneRefreshTokens(now: number): void;
  putAdminToken(id: string, createdAt: number): void;
  /** Revokes every admin token except `keep`. */
  revokeAdminTokensExcept(keep: string, at: number): void;
  /** Sets (or with `null` removes) a grant. */
  setGrant(realmPath: string, userId: string, level: PermissionLevel | null, at: number): void;
  putOffer(offer: OfferRecord): void;
  revokeOffer(token: string): void;
  putAccountToken(token: AccountTokenRecord): void;
  deleteAccountToken(hash: string): void;
}

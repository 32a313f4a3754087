import type { KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { TributaryError } from '../errors';

/** Identity of the admin (the `sub` of the admin token). Not a hex identity, so it never owns a user realm. */
export const ADMIN_IDENTITY = '__admin';

export type TokenType = 'access' | 'refresh' | 'admin';

/** The verified claims of a token. */
export interface TokenClaims {
  /** User identity: 32 lowercase hex characters, or {@link ADMIN_IDENTITY}. */
  sub: string;
  adm: boolean;
  typ: TokenType;
  /** Expiry in seconds since the epoch; undefined for the admin token. */
  exp?: number;
  /** Token id: every refresh and admin token has one (revocation is by id). */
  jti?: string;
  /** Login family of access and refresh tokens: one per login, revoked as a whole (logout, replay). */
  fam?: string;
}

/** Extra claims of a token being issued. */
export interface TokenExtras {
  jti?: string;
  fam?: string;
}

/**
 * Decides whether a signed, unexpired token has been revoked (refresh-token families, rotated
 * admin tokens). Consulted by every {@link TokenService.verify}, so no route or connection can
 * forget to ask.
 */
export type RevocationCheck = (claims: TokenClaims) => boolean | Promise<boolean>;

const ALG = 'EdDSA';
/** At most this many issued, not yet presented access tokens are remembered (~0.5 KiB each). */
const FRESH_LIMIT = 4096;
/** A fresh access token presented later than this is verified like any other. */
const FRESH_MAX_AGE_MS = 60_000;
const IDENTITY = /^([0-9a-f]{32}|__admin)$/;

/**
 * Issues and verifies the server's JWTs (EdDSA over the Ed25519 key in data/keys/). Tokens are
 * opaque to clients; the server checks the signature, the type and the expiry.
 */
export class TokenService {
  /**
   * Access tokens this service signed that nobody has presented yet, with their claims. A client
   * presents a new access token at once (on its WebSocket, right after the refresh that issued it),
   * and checking our own signature there costs as much as making it (Ed25519 through WebCrypto,
   * ~0.15 ms): the first presentation is answered from here, once; later ones are verified again.
   * Expiry and revocation are still checked every time. Bounded: the oldest are dropped first.
   */
  private readonly fresh = new Map<string, { claims: TokenClaims; at: number }>();
  /** How many verifications {@link fresh} answered (for metrics and tests). */
  freshHits = 0;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly ttl: { access: number; refresh: number },
    private readonly now: () => number = Date.now,
    private readonly isRevoked: RevocationCheck = () => false,
  ) {}

  /** Whether a signed token's login (or admin token) has been revoked since it was issued. */
  async revoked(claims: TokenClaims): Promise<boolean> {
    return this.isRevoked(claims);
  }

  /** Lifetime in seconds of a token type (undefined: never expires). */
  ttlOf(typ: TokenType): number | undefined {
    return typ === 'admin' ? undefined : typ === 'access' ? this.ttl.access : this.ttl.refresh;
  }

  async issue(sub: string, adm: boolean, typ: TokenType, extras: TokenExtras = {}): Promise<string> {
    const claims: Record<string, unknown> = { adm, typ };
    if (extras.fam !== undefined) claims.fam = extras.fam;
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: ALG, typ: 'JWT' }).setSubject(sub).setIssuedAt(this.seconds());
    if (extras.jti !== undefined) jwt.setJti(extras.jti);
    const exp = typ === 'admin' ? undefined : this.seconds() + (typ === 'access' ? this.ttl.access : this.ttl.refresh);
    if (exp !== undefined) jwt.setExpirationTime(exp);
    const token = await jwt.sign(this.privateKey);
    if (typ === 'access' && IDENTITY.test(sub)) {
      const issued: TokenClaims = { sub, adm, typ, exp };
      if (extras.jti !== undefined) issued.jti = extras.jti;
      if (extras.fam !== undefined) issued.fam = extras.fam;
      this.fresh.set(token, { claims: issued, at: this.now() });
      if (this.fresh.size > FRESH_LIMIT) this.fresh.delete(this.fresh.keys().next().value!);
    }
    return token;
  }

  /** The claims of an access token this service issued within the last minute and nobody presented yet (taken out). */
  private takeFresh(token: string, accepted: readonly TokenType[]): TokenClaims | null {
    if (this.fresh.size === 0 || !accepted.includes('access')) return null;
    const entry = this.fresh.get(token);
    if (!entry) return null;
    this.fresh.delete(token);
    if (this.now() - entry.at > FRESH_MAX_AGE_MS) return null;
    this.freshHits++;
    return { ...entry.claims };
  }

  /**
   * Verifies a token of one of the `accepted` types. Throws TributaryError TOKEN_EXPIRED for an
   * expired token and BAD_AUTHENTICATION for anything else wrong, revocation included (never says
   * which check failed beyond that, and never echoes the token).
   */
  async verify(token: string, accepted: readonly TokenType[], options: { ignoreRevocation?: boolean } = {}): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16 * 1024) {
      throw new TributaryError('BAD_AUTHENTICATION', 'missing or oversized token');
    }
    const fresh = this.takeFresh(token, accepted);
    if (fresh) {
      if (fresh.exp !== undefined && fresh.exp <= this.seconds()) throw new TributaryError('TOKEN_EXPIRED', 'the token has expired');
      if (!options.ignoreRevocation && (await this.isRevoked(fresh))) throw new TributaryError('BAD_AUTHENTICATION', 'the token has been revoked');
      return fresh;
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, { algorithms: [ALG], currentDate: new Date(this.now()) }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new TributaryError('TOKEN_EXPIRED', 'the token has expired');
      throw new TributaryError('BAD_AUTHENTICATION', 'the token is malformed or not signed by this server');
    }
    const { sub, adm, typ, exp, jti, fam } = payload;
    if (typeof sub !== 'string' || !IDENTITY.test(sub) || typeof adm !== 'boolean' || !accepted.includes(typ as TokenType)) {
      throw new TributaryError('BAD_AUTHENTICATION', `expected a token of type ${accepted.join(' or ')}`);
    }
    if (typ !== 'admin' && typeof exp !== 'number') throw new TributaryError('BAD_AUTHENTICATION', 'the token has no expiry');
    if (typ === 'admin' && (sub !== ADMIN_IDENTITY || !adm)) throw new TributaryError('BAD_AUTHENTICATION', 'not an admin token');
    if ((jti !== undefined && typeof jti !== 'string') || (fam !== undefined && typeof fam !== 'string')) throw new TributaryError('BAD_AUTHENTICATION', 'malformed token id');
    const claims: TokenClaims = { sub, adm, typ: typ as TokenType, exp: typeof exp === 'number' ? exp : undefined };
    if (jti !== undefined) claims.jti = jti as string;
    if (fam !== undefined) claims.fam = fam as string;
    if (!options.ignoreRevocation && (await this.isRevoked(claims))) throw new TributaryError('BAD_AUTHENTICATION', 'the token has been revoked');
    return claims;
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

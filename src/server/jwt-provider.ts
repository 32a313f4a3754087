import { createPublicKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { TributaryError } from '../errors';
import type { AuthProvider, AuthRequest, ProviderIdentity } from './auth-providers';

export interface JwtProviderOptions {
  /** The provider name clients send (default `jwt`; realm-js `Credentials.jwt(token, providerName)`). */
  name?: string;
  /** A public key: PEM (SPKI or certificate), a JWK object, or a Node KeyObject. */
  publicKey?: string | KeyObject | Record<string, unknown>;
  /** Where the keys are published (JWKS); fetched on demand and cached, refetched for an unknown `kid`. */
  jwksUrl?: string;
  /** Accepted algorithms (default RS256, ES256, EdDSA). `none` and HMAC are never accepted. */
  algorithms?: string[];
  /** Claim holding the user id (default `userId`, as ROS; `sub` for most identity providers). */
  userIdClaim?: string;
  /** Claim that makes the user an admin when it equals `adminValue`; none by default. */
  adminClaim?: string;
  adminValue?: unknown;
  /** Required `iss` / `aud`, when given. */
  issuer?: string;
  audience?: string;
  /** How long fetched keys are used before they are fetched again (default 10 min). */
  jwksCacheMs?: number;
  /** Least time between two fetches for unknown key ids (default 30 s; tests use 0). */
  jwksCooldownMs?: number;
  /** Clock tolerance for exp/nbf, seconds (default 30). */
  clockToleranceSeconds?: number;
}

const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
const ALLOWED = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

/**
 * The JWT provider: an application's own backend signs a token for its user, and the sync server
 * trusts it. The token arrives as `data` (ROS) or `token` of `POST /auth`; its signature is checked
 * with the configured public key or the keys of a JWKS URL (cached; a token with a `kid` that is not
 * in the cache makes the provider fetch the set again, which is how rotated keys are picked up);
 * `exp` is required. The user is the value of `userIdClaim`; `adminClaim`, when configured, makes
 * the user an admin.
 */
export class JwtProvider implements AuthProvider {
  readonly name: string;
  private readonly key: KeyObject | ReturnType<typeof createRemoteJWKSet>;
  private readonly algorithms: string[];
  private readonly userIdClaim: string;

  constructor(private readonly options: JwtProviderOptions) {
    this.name = options.name ?? 'jwt';
    this.algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    for (const a of this.algorithms) if (!ALLOWED.has(a)) throw new TributaryError('CONFIG_INVALID', `JWT algorithm '${a}' is not accepted; use asymmetric ones (${[...ALLOWED].join(', ')})`);
    this.userIdClaim = options.userIdClaim || 'userId';
    if (options.jwksUrl && options.publicKey) throw new TributaryError('CONFIG_INVALID', 'give the JWT provider a public key or a JWKS URL, not both');
    if (options.jwksUrl) {
      let url: URL;
      try {
        url = new URL(options.jwksUrl);
      } catch {
        throw new TributaryError('CONFIG_INVALID', `jwksUrl is not a URL: ${options.jwksUrl}`);
      }
      this.key = createRemoteJWKSet(url, { cacheMaxAge: options.jwksCacheMs ?? 600_000, cooldownDuration: options.jwksCooldownMs ?? 30_000 });
    } else if (options.publicKey) {
      this.key = toKey(options.publicKey);
    } else {
      throw new TributaryError('CONFIG_INVALID', 'the JWT provider needs a public key or a JWKS URL');
    }
  }

  async authenticate(request: AuthRequest): Promise<ProviderIdentity> {
    const token = typeof request.data === 'string' ? request.data : typeof request.body.token === 'string' ? request.body.token : undefined;
    if (!token || token.length > 16 * 1024) throw new TributaryError('AUTH_FAILED', 'the jwt provider needs the token as data');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as Parameters<typeof jwtVerify>[1], {
        algorithms: this.algorithms,
        requiredClaims: ['exp'],
        issuer: this.options.issuer || undefined,
        audience: this.options.audience || undefined,
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new TributaryError('AUTH_FAILED', 'the JWT has expired');
      // Not a verdict on the token: the key set could not be fetched or read.
      if (!(e instanceof joseErrors.JOSEError) || e instanceof joseErrors.JWKSTimeout || e.code === 'ERR_JWKS_INVALID') {
        throw new TributaryError('AUTH_FAILED', 'the JWT keys could not be fetched', { cause: e });
      }
      throw new TributaryError('AUTH_FAILED', 'the JWT is malformed, not signed by a trusted key, or its claims do not match');
    }
    const raw = payload[this.userIdClaim];
    const providerId = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
    if (typeof providerId !== 'string' || providerId.length === 0 || providerId.length > 256) {
      throw new TributaryError('AUTH_FAILED', `the JWT has no usable '${this.userIdClaim}' claim`);
    }
    const adminClaim = this.options.adminClaim;
    const isAdmin = adminClaim ? payload[adminClaim] === (this.options.adminValue ?? true) : undefined;
    return { providerId, isAdmin };
  }
}

function toKey(key: string | KeyObject | Record<string, unknown>): KeyObject {
  try {
    if (typeof key === 'string') {
      const text = key.includes('-----BEGIN') ? key : fs.readFileSync(key, 'utf8');
      return createPublicKey(text);
    }
    if ('asymmetricKeyType' in key && typeof (key as KeyObject).export === 'function') return key as KeyObject;
    return createPublicKey({ key: key as never, format: 'jwk' });
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `the JWT public key cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

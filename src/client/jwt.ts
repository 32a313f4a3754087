/** The claims the client reads from an access token (no signature check: the server does that). */
export interface TokenClaims {
  sub?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  iat?: number;
  adm?: boolean;
}

/** Decodes a JWT's payload (base64url JSON); undefined when it is not a JWT. */
export function decodeTokenClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const json = Buffer.from(parts[1], 'base64url').toString('utf8');
    const claims = JSON.parse(json) as unknown;
    return claims && typeof claims === 'object' ? (claims as TokenClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** Milliseconds since the epoch when the token expires, or Infinity when it does not say. */
export function tokenExpiry(token: string): number {
  const exp = decodeTokenClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : Infinity;
}

import { Backoff } from '../../src/shared/backoff';
import { decodeTokenClaims, tokenExpiry } from '../../src/client/jwt';

describe('reconnect back-off', () => {
  test('full jitter under an exponentially growing cap, bounded by the maximum', () => {
    const top = new Backoff({ initialMs: 250, maxMs: 30_000 }, () => 0.999999);
    const caps = Array.from({ length: 10 }, () => top.next());
    expect(caps).toEqual([249, 499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    const bottom = new Backoff({ initialMs: 250, maxMs: 30_000 }, () => 0);
    expect(bottom.next()).toBe(0);
    expect(bottom.next(1000)).toBe(1000); // a server hint is a floor
    top.reset();
    expect(top.next()).toBe(249);
  });
});

describe('token claims', () => {
  const jwt = (payload: object) => `h.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.s`;
  test('exp is read from the payload without verification', () => {
    expect(decodeTokenClaims(jwt({ sub: 'u', exp: 100, adm: true }))).toEqual({ sub: 'u', exp: 100, adm: true });
    expect(tokenExpiry(jwt({ exp: 100 }))).toBe(100_000);
    expect(tokenExpiry(jwt({ sub: 'x' }))).toBe(Infinity);
    expect(decodeTokenClaims('not-a-jwt')).toBeUndefined();
    expect(decodeTokenClaims('a.%%%.c')).toBeUndefined();
  });
});

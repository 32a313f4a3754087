import { generateKeyPairSync } from 'node:crypto';
import { TokenService, type TokenClaims } from '../../src/server/tokens';

const USER = '0123456789abcdef0123456789abcdef';

function service(options: { revoked?: (c: TokenClaims) => boolean; accessTtl?: number } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let now = Date.UTC(2026, 11, 7, 12, 0, 0);
  const tokens = new TokenService(privateKey, publicKey, { access: options.accessTtl ?? 600, refresh: 86_400 }, () => now, options.revoked);
  // A second service with the same keys and no memory of what the first issued: the plain jose path.
  const verifier = new TokenService(privateKey, publicKey, { access: 600, refresh: 86_400 }, () => now, options.revoked);
  return { tokens, verifier, advance: (ms: number) => (now += ms) };
}

describe('TokenService: access tokens it issued are answered from memory on their first presentation', () => {
  test('the first presentation gives the claims the signature check gives, without the check; the second is checked again', async () => {
    const { tokens, verifier } = service();
    const token = await tokens.issue(USER, false, 'access', { fam: 'family-1' });
    const checked = await verifier.verify(token, ['access']);
    expect(verifier.freshHits).toBe(0);
    expect(await tokens.verify(token, ['access', 'admin'])).toEqual(checked);
    expect(tokens.freshHits).toBe(1);
    expect(await tokens.verify(token, ['access'])).toEqual(checked);
    expect(tokens.freshHits).toBe(1);
  });

  test('expiry, revocation and the accepted types still hold for a remembered token', async () => {
    let revoke = false;
    const { tokens, advance } = service({ revoked: () => revoke, accessTtl: 30 });
    const a = await tokens.issue(USER, false, 'access', { fam: 'f' });
    advance(30_000); // within the minute it is remembered for: the expiry comes from memory
    await expect(tokens.verify(a, ['access'])).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    const b = await tokens.issue(USER, false, 'access', { fam: 'f' });
    revoke = true;
    await expect(tokens.verify(b, ['access'])).rejects.toMatchObject({ code: 'BAD_AUTHENTICATION' });
    revoke = false;
    const c = await tokens.issue(USER, false, 'access', { fam: 'f' });
    await expect(tokens.verify(c, ['refresh'])).rejects.toMatchObject({ code: 'BAD_AUTHENTICATION' });
    // Not taken by the refused presentation: the right one still finds it.
    expect((await tokens.verify(c, ['access'])).sub).toBe(USER);
    expect(tokens.freshHits).toBe(3);
  });

  test('a token changed by one character is not found and fails the signature check', async () => {
    const { tokens } = service();
    const token = await tokens.issue(USER, false, 'access');
    const i = token.length - 3;
    const forged = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    await expect(tokens.verify(forged, ['access'])).rejects.toMatchObject({ code: 'BAD_AUTHENTICATION' });
    expect(tokens.freshHits).toBe(0);
  });

  test('refresh tokens are never remembered, and a token presented after a minute is checked again', async () => {
    const { tokens, advance } = service();
    const refresh = await tokens.issue(USER, false, 'refresh', { fam: 'f', jti: 'j' });
    expect((await tokens.verify(refresh, ['refresh'])).jti).toBe('j');
    const late = await tokens.issue(USER, false, 'access');
    advance(61_000);
    expect((await tokens.verify(late, ['access'])).sub).toBe(USER);
    expect(tokens.freshHits).toBe(0);
  });
});

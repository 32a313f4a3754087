import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT, exportJWK } from 'jose';
import { Credentials, Realm, TributaryError, User } from '../../src/index';
import { Server, silentLogger, type AuthProvider } from '../../src/server';

// Login providers of the server, driven through the realm-js client API as programs use them.

let dir: string;
const servers: Server[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-providers-'));
});
afterEach(async () => {
  for (const u of Object.values(User.all)) await u.logout();
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(config: ConstructorParameters<typeof Server>[0] = {}): Promise<Server> {
  const server = new Server({ dataPath: fs.mkdtempSync(path.join(dir, 's-')), port: 0, address: '127.0.0.1', logger: silentLogger, ...config });
  await server.start();
  servers.push(server);
  return server;
}

function keys(type: 'rsa' | 'ec' | 'ed25519') {
  if (type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (type === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

function sign(claims: Record<string, unknown>, key: KeyObject, alg: string, options: { kid?: string; expiresIn?: string | number } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) }).setIssuedAt();
  jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(key);
}

async function loginError(server: Server, credentials: Credentials): Promise<unknown> {
  return Promise.resolve(User.login(server.url, credentials)).then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('jwt provider with a public key', () => {
  test.each([
    ['RS256', 'rsa'],
    ['ES256', 'ec'],
    ['EdDSA', 'ed25519'],
  ] as const)('%s: the first login creates the user, the next ones find it; isAdmin comes from the admin claim', async (alg, type) => {
    const pair = keys(type);
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const server = await start({ jwt: { publicKey: pem, adminClaim: 'isAdmin' } });
    const first = (await User.login(server.url, Credentials.jwt(await sign({ userId: 'app-user-1' }, pair.privateKey, alg)))) as User;
    expect(first.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(first.isAdmin).toBe(false);
    await first.logout();
    const again = (await User.login(server.url, Credentials.jwt(await sign({ userId: 'app-user-1' }, pair.privateKey, alg)))) as User;
    expect(again.identity).toBe(first.identity);
    const boss = (await User.login(server.url, Credentials.jwt(await sign({ userId: 'boss', isAdmin: true }, pair.privateKey, alg)))) as User;
    expect(boss.isAdmin).toBe(true);
  });

  test('refused: expired, signed by another key, HMAC with the public key as secret, no exp, no user-id claim, alg none', async () => {
    const pair = keys('rsa');
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const server = await start({ jwt: { publicKey: pem } });
    const stranger = keys('rsa');
    const hmac = await new SignJWT({ userId: 'x' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(pem));
    const noExp = await new SignJWT({ userId: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign(pair.privateKey);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ userId: 'x', exp: 2e9 })).toString('base64url')}.`;
    const tokens = [
      await sign({ userId: 'x' }, pair.privateKey, 'RS256', { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
      await sign({ userId: 'x' }, stranger.privateKey, 'RS256'),
      hmac,
      noExp,
      await sign({ sub: 'x' }, pair.privateKey, 'RS256'),
      none,
    ];
    for (const token of tokens) expect(await loginError(server, Credentials.jwt(token))).toMatchObject({ code: 'AUTH_FAILED' });
  });

  test('the user-id claim is configurable (sub), and the users appear in /__admin with their accounts', async () => {
    const pair = keys('ec');
    const server = await start({ jwt: { publicKey: pair.publicKey, userIdClaim: 'sub' } });
    const user = (await User.login(server.url, Credentials.jwt(await sign({ sub: 'auth0|42' }, pair.privateKey, 'ES256')))) as User;
    const admin = User.adminUser(fs.readFileSync(path.join(server.options.dataPath, 'keys', 'admin.json'), 'utf8').match(/"ADMIN_TOKEN": "([^"]+)"/)![1]!, server.url);
    const realm = await Realm.open({ sync: { user: admin, url: `${server.url.replace('http', 'realm')}/__admin` }, path: path.join(dir, `admin-${Date.now()}.db`) });
    try {
      const found = realm.objects('User').filtered("accounts.provider_id == 'auth0|42'");
      expect(found.length).toBe(1);
      expect((found[0] as any).userId).toBe(user.identity);
      expect((found[0] as any).accounts[0].provider).toBe('jwt');
    } finally {
      realm.close();
    }
  });
});

describe('jwt provider with a JWKS URL', () => {
  let jwks: { keys: unknown[] } = { keys: [] };
  let fetches = 0;
  let keyServer: http.Server;
  let jwksUrl: string;

  beforeAll(async () => {
    keyServer = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => keyServer.close(() => r())));

  test('keys are fetched once and cached; a rotated key is picked up; a retired one is refused', async () => {
    const one = keys('rsa');
    const two = keys('ed25519');
    jwks = { keys: [{ ...(await exportJWK(one.publicKey)), kid: 'k1', alg: 'RS256' }] };
    const server = await start({ jwt: { jwksUrl, jwksCooldownMs: 0 } });
    const a = (await User.login(server.url, Credentials.jwt(await sign({ userId: 'rotating' }, one.privateKey, 'RS256', { kid: 'k1' })))) as User;
    await User.login(server.url, Credentials.jwt(await sign({ userId: 'other' }, one.privateKey, 'RS256', { kid: 'k1' })));
    expect(fetches).toBe(1);

    jwks = { keys: [{ ...(await exportJWK(two.publicKey)), kid: 'k2', alg: 'EdDSA' }] };
    const b = (await User.login(server.url, Credentials.jwt(await sign({ userId: 'rotating' }, two.privateKey, 'EdDSA', { kid: 'k2' })))) as User;
    expect(b.identity).toBe(a.identity);
    expect(fetches).toBe(2);
    expect(await loginError(server, Credentials.jwt(await sign({ userId: 'rotating' }, one.privateKey, 'RS256', { kid: 'k1' })))).toMatchObject({ code: 'AUTH_FAILED' });
  });

  test('an unreachable key server is a failed login, not a crash', async () => {
    const pair = keys('rsa');
    const server = await start({ jwt: { jwksUrl: 'http://127.0.0.1:9/jwks.json', jwksCooldownMs: 0 } });
    expect(await loginError(server, Credentials.jwt(await sign({ userId: 'x' }, pair.privateKey, 'RS256', { kid: 'k' })))).toMatchObject({ code: 'AUTH_FAILED', message: 'the JWT keys could not be fetched' });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe('development providers and custom ones', () => {
  test('nickname and anonymous are off unless enabled', async () => {
    const server = await start();
    for (const c of [Credentials.nickname('nick', true), Credentials.anonymous()]) {
      const e = await loginError(server, c);
      expect(e).toBeInstanceOf(TributaryError);
      expect(e).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining(`'${c.identityProvider}'`) });
    }
  });

  test("nickname (ROS's Credentials.nickname(name, true)) logs in as that name, an admin when asked; anonymous is a new user each time", async () => {
    const server = await start({ nicknameAuth: true, anonymousAuth: true });
    const admin = (await User.login(server.url, Credentials.nickname('realm-admin', true))) as User;
    expect(admin.isAdmin).toBe(true);
    await admin.logout();
    const same = (await User.login(server.url, Credentials.nickname('realm-admin'))) as User;
    expect([same.identity, same.isAdmin]).toEqual([admin.identity, true]);
    const plain = (await User.login(server.url, Credentials.nickname('bob'))) as User;
    expect(plain.isAdmin).toBe(false);
    const a1 = await User.anonymous(server.url);
    await a1.logout();
    const a2 = (await User.login(server.url, Credentials.anonymous())) as User;
    expect(a2.identity).not.toBe(a1.identity);
    expect(a2.isAdmin).toBe(false);
  });

  test('a custom provider decides who logs in; its refusal is the client\'s AUTH_FAILED; a bug in it is a server error', async () => {
    const provider: AuthProvider = {
      name: 'apikey',
      authenticate(request) {
        if (request.data === 'crash') throw new Error('provider bug');
        if (request.data !== 'key-123') throw new TributaryError('AUTH_FAILED', 'unknown API key');
        return { providerId: 'service-account', isAdmin: request.userInfo.staff === true };
      },
    };
    const server = await start({ authProviders: [provider] });
    const user = (await User.login(server.url, Credentials.custom('apikey', 'key-123', { staff: true }))) as User;
    expect(user.isAdmin).toBe(true);
    const viaRegister = await User.registerWithProvider(server.url, { provider: 'apikey', providerToken: 'key-123' });
    expect(viaRegister.identity).toBe(user.identity);
    expect(await loginError(server, Credentials.custom('apikey', 'wrong'))).toMatchObject({ code: 'AUTH_FAILED', message: 'unknown API key' });
    expect(await loginError(server, Credentials.custom('apikey', 'crash'))).toMatchObject({ code: 'OTHER_ERROR' });
  });

  test('provider configuration errors are CONFIG_INVALID at start', async () => {
    for (const config of [{ authProviders: [{ name: 'password', authenticate: () => ({ providerId: 'x' }) }] }, { jwt: {} }, { jwt: { publicKey: 'not a key' } }, { jwt: { publicKey: 'x', jwksUrl: 'http://x' } }, { jwt: { jwksUrl: 'http://x', algorithms: ['HS256'] } }]) {
      const server = new Server({ dataPath: fs.mkdtempSync(path.join(dir, 'bad-')), port: 0, logger: silentLogger, ...(config as object) });
      await expect(server.start()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    }
  });
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { envName, flagName, optionsMarkdownTable, parseOption, resolveOptions, SERVER_OPTIONS } from '../../src/server/options';
import { redact } from '../../src/shared/logger';

test('docs/server.md holds the generated option table', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'server.md'), 'utf8');
  const m = /<!-- options:begin[^>]*-->\n([\s\S]*?)\n<!-- options:end -->/.exec(doc);
  expect(m?.[1]).toBe(optionsMarkdownTable());
});

test('names are derived from the keys', () => {
  expect(flagName('maxMessageBytes')).toBe('max-message-bytes');
  expect(envName('maxMessageBytes')).toBe('TRIBUTARY_MAX_MESSAGE_BYTES');
  expect(Object.keys(SERVER_OPTIONS)).toEqual(expect.arrayContaining(['dataPath', 'address', 'port', 'logLevel', 'accessTokenTtl', 'refreshTokenTtl', 'registration']));
});

test('defaults, environment and given values, in that order of precedence', () => {
  const d = resolveOptions();
  expect(d).toMatchObject({ dataPath: './data', address: '0.0.0.0', port: 9080, accessTokenTtl: 3600, refreshTokenTtl: 30 * 86400, registration: 'open', maxMessageBytes: 16 * 1024 * 1024 });
  const env = { TRIBUTARY_PORT: '1234', TRIBUTARY_ACCESS_TOKEN_TTL: '15m', TRIBUTARY_REGISTRATION: 'closed', TRIBUTARY_UNRELATED: 'x' };
  expect(resolveOptions({}, env)).toMatchObject({ port: 1234, accessTokenTtl: 900, registration: 'closed' });
  expect(resolveOptions({ port: '0', maxMessageBytes: '64KiB' }, env)).toMatchObject({ port: 0, maxMessageBytes: 65536, accessTokenTtl: 900 });
});

test('bad values are one clear CONFIG_INVALID error naming the option', () => {
  expect(() => parseOption('port', 'abc')).toThrow(/option port \(--port, TRIBUTARY_PORT\): expected an integer/);
  expect(() => parseOption('port', 70000)).toThrow(/at most 65535/);
  expect(() => parseOption('accessTokenTtl', '1 fortnight')).toThrow(/duration/);
  expect(() => parseOption('maxMessageBytes', '12 parsecs')).toThrow(/size/);
  expect(() => parseOption('logLevel', 'loud')).toThrow(/one of debug, info/);
  expect(() => resolveOptions({ nope: 1 })).toThrow(/unknown server option 'nope'/);
  expect(parseOption('refreshTokenTtl', '30d')).toBe(2592000);
  expect(parseOption('downloadBatchBytes', '1MiB')).toBe(1048576);
});

test('the logger redacts secret fields at any depth, but not file paths', () => {
  expect(redact({ password: 'p', nested: { accessToken: 't', authorization: 'Bearer x' }, adminTokenFile: '/d/keys/admin.json', list: [{ refreshToken: 'r' }] })).toEqual({
    password: '[redacted]',
    nested: { accessToken: '[redacted]', authorization: '[redacted]' },
    adminTokenFile: '/d/keys/admin.json',
    list: [{ refreshToken: '[redacted]' }],
  });
});

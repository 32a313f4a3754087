import { TributaryError } from '../../src/errors';
import {
  DEFAULT_PROTOCOL_LIMITS,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  type ClientMessage,
  type ProtocolLimits,
  type ServerMessage,
} from '../../src/protocol';
import { CLIENT_TYPES, randomClientMessage, randomServerMessage, SERVER_TYPES } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('protocol-limits.test');

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TributaryError) return e.code;
    throw e;
  }
  return 'no error';
}

const limits = (over: Partial<ProtocolLimits>): ProtocolLimits => ({ ...DEFAULT_PROTOCOL_LIMITS, ...over });
const upload = (n: number): ClientMessage => ({
  type: 'UPLOAD',
  session: 1,
  progressClientVersion: 0,
  progressServerVersion: 0,
  changesets: Array.from({ length: n }, (_, i) => ({ clientVersion: i + 1, lastIntegratedServerVersion: 0, originTimestamp: 5, data: new Uint8Array([1, 0]) })),
});

describe('every strict prefix is BAD_SYNTAX', () => {
  it.each(CLIENT_TYPES)('client %s', (type) => {
    const rng = new Prng(seed ^ type.length);
    for (let k = 0; k < 20; k++) {
      const bytes = encodeClientMessage(randomClientMessage(rng, type));
      for (let cut = 0; cut < bytes.length; cut++) expect([cut, codeOf(() => decodeClientMessage(bytes.subarray(0, cut)))]).toEqual([cut, 'BAD_SYNTAX']);
      expect(codeOf(() => decodeClientMessage(bytes))).toBe('no error');
    }
  });

  it.each(SERVER_TYPES)('server %s', (type) => {
    const rng = new Prng(seed ^ (type.length * 5));
    for (let k = 0; k < 20; k++) {
      const bytes = encodeServerMessage(randomServerMessage(rng, type));
      for (let cut = 0; cut < bytes.length; cut++) expect([cut, codeOf(() => decodeServerMessage(bytes.subarray(0, cut)))]).toEqual([cut, 'BAD_SYNTAX']);
    }
  });
});

describe('malformed messages', () => {
  it('rejects trailing bytes', () => {
    const bytes = encodeClientMessage({ type: 'UNBIND', session: 4 });
    expect(codeOf(() => decodeClientMessage(new Uint8Array([...bytes, 0])))).toBe('BAD_SYNTAX');
  });

  it('rejects an unknown type byte with UNKNOWN_MESSAGE', () => {
    expect(codeOf(() => decodeClientMessage(new Uint8Array([0x7f, 1])))).toBe('UNKNOWN_MESSAGE');
    expect(codeOf(() => decodeServerMessage(new Uint8Array([0])))).toBe('UNKNOWN_MESSAGE');
  });

  it('rejects a boolean byte other than 0 or 1, an unknown action and bad UTF-8', () => {
    const bind = encodeClientMessage({ type: 'BIND', session: 1, path: '/a', needIdent: true });
    bind[bind.length - 1] = 2;
    expect(codeOf(() => decodeClientMessage(bind))).toBe('BAD_SYNTAX');
    const err = encodeServerMessage({ type: 'ERROR', session: 0, code: 103, message: '', tryAgain: false, action: 'fatal', backoffMs: 0 });
    err[err.length - 2] = 3;
    expect(codeOf(() => decodeServerMessage(err))).toBe('BAD_SYNTAX');
    const badUtf8 = encodeClientMessage({ type: 'REFRESH', token: 'ab' });
    badUtf8[2] = 0xc3;
    badUtf8[3] = 0x28;
    expect(codeOf(() => decodeClientMessage(badUtf8))).toBe('BAD_SYNTAX');
  });

  it('rejects non-canonical and oversized varints', () => {
    expect(codeOf(() => decodeClientMessage(new Uint8Array([6, 0x81, 0x00])))).toBe('BAD_SYNTAX');
    expect(codeOf(() => decodeClientMessage(new Uint8Array([6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])))).toBe('BAD_SYNTAX');
    expect(codeOf(() => decodeClientMessage(new Uint8Array([6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])))).toBe('no error');
    expect(decodeClientMessage(new Uint8Array([6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]))).toEqual({ type: 'UNBIND', session: Number.MAX_SAFE_INTEGER });
    expect(codeOf(() => decodeClientMessage(new Uint8Array([6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])))).toBe('BAD_SYNTAX');
  });

  it('rejects a count that cannot fit in the remaining bytes before allocating', () => {
    // UPLOAD, session 1, progress 0/0, then a count of 9,999 changesets and nothing after it.
    expect(codeOf(() => decodeClientMessage(new Uint8Array([3, 1, 0, 0, 0x8f, 0x4e])))).toBe('BAD_SYNTAX');
  });

  it('rejects non-binary input with BAD_SYNTAX', () => {
    expect(codeOf(() => decodeClientMessage('hello' as unknown as Uint8Array))).toBe('BAD_SYNTAX');
    expect(codeOf(() => decodeServerMessage(undefined as unknown as Uint8Array))).toBe('BAD_SYNTAX');
  });
});

describe('limits', () => {
  it('checks the message size before looking at the bytes', () => {
    const bytes = new Uint8Array(101).fill(0xff);
    expect(codeOf(() => decodeClientMessage(bytes, limits({ maxMessageBytes: 100 })))).toBe('LIMITS_EXCEEDED');
    expect(codeOf(() => decodeServerMessage(bytes, limits({ maxMessageBytes: 100 })))).toBe('LIMITS_EXCEEDED');
    const ok = encodeClientMessage(upload(3));
    expect(codeOf(() => decodeClientMessage(ok, limits({ maxMessageBytes: ok.length })))).toBe('no error');
    expect(codeOf(() => decodeClientMessage(ok, limits({ maxMessageBytes: ok.length - 1 })))).toBe('LIMITS_EXCEEDED');
  });

  it('limits the realm path length in characters', () => {
    const at = (path: string) => codeOf(() => decodeClientMessage(encodeClientMessage({ type: 'BIND', session: 1, path, needIdent: false }), limits({ maxPathLength: 10 })));
    expect(at('/123456789')).toBe('no error');
    expect(at('/1234567890')).toBe('LIMITS_EXCEEDED');
    expect(at('/ééééééééé')).toBe('no error');
    expect(at('/😀😀😀😀😀')).toBe('LIMITS_EXCEEDED');
    expect(codeOf(() => decodeClientMessage(encodeClientMessage({ type: 'BIND', session: 1, path: '/' + 'x'.repeat(1023), needIdent: false })))).toBe('no error');
    expect(codeOf(() => decodeClientMessage(encodeClientMessage({ type: 'BIND', session: 1, path: '/' + 'x'.repeat(1024), needIdent: false })))).toBe('LIMITS_EXCEEDED');
  });

  it('limits the token length in bytes', () => {
    const at = (token: string) => codeOf(() => decodeClientMessage(encodeClientMessage({ type: 'REFRESH', token }), limits({ maxTokenBytes: 8 })));
    expect(at('12345678')).toBe('no error');
    expect(at('123456789')).toBe('LIMITS_EXCEEDED');
    expect(at('éééé')).toBe('no error');
    expect(at('ééééé')).toBe('LIMITS_EXCEEDED');
  });

  it('limits the changesets per message in both directions', () => {
    expect(codeOf(() => decodeClientMessage(encodeClientMessage(upload(5)), limits({ maxChangesetsPerMessage: 5 })))).toBe('no error');
    expect(codeOf(() => decodeClientMessage(encodeClientMessage(upload(6)), limits({ maxChangesetsPerMessage: 5 })))).toBe('LIMITS_EXCEEDED');
    const download = (n: number): ServerMessage => ({
      type: 'DOWNLOAD',
      session: 1,
      serverVersion: 1,
      lastIntegratedClientVersion: 0,
      latestServerVersion: 1,
      latestServerVersionSalt: 9,
      uploadClientVersion: 0,
      uploadServerVersion: 0,
      downloadableBytes: 0,
      changesets: Array.from({ length: n }, (_, i) => ({ serverVersion: i + 1, lastIntegratedClientVersion: 0, originTimestamp: 1, originFileIdent: 2, data: new Uint8Array(0) })),
    });
    expect(codeOf(() => decodeServerMessage(encodeServerMessage(download(2)), limits({ maxChangesetsPerMessage: 1 })))).toBe('LIMITS_EXCEEDED');
    expect(codeOf(() => decodeServerMessage(encodeServerMessage(download(1)), limits({ maxChangesetsPerMessage: 1 })))).toBe('no error');
  });

  it('limits the error message text', () => {
    const err = (message: string): ServerMessage => ({ type: 'ERROR', session: 0, code: 101, message, tryAgain: true, action: 'retry', backoffMs: 1000 });
    expect(codeOf(() => decodeServerMessage(encodeServerMessage(err('x'.repeat(4096)))))).toBe('no error');
    expect(codeOf(() => decodeServerMessage(encodeServerMessage(err('x'.repeat(4097)))))).toBe('LIMITS_EXCEEDED');
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_PROTOCOL_LIMITS).toEqual({ maxMessageBytes: 16 * 1024 * 1024, maxPathLength: 1024, maxTokenBytes: 16 * 1024, maxChangesetsPerMessage: 10_000, maxErrorMessageBytes: 4096 });
  });
});

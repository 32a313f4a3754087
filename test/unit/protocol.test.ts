import { TributaryError } from '../../src/errors';
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, type ClientMessage, type ServerMessage } from '../../src/protocol';
import { canonical, CLIENT_TYPES, randomClientMessage, randomServerMessage, SERVER_TYPES } from '../helpers/codec-samples';
import { Prng, testSeed } from '../helpers/prng';

const seed = testSeed('protocol.test');

describe('message round trips', () => {
  it.each(CLIENT_TYPES)('client %s', (type) => {
    const rng = new Prng(seed ^ type.length);
    for (let i = 0; i < 300; i++) {
      const m = randomClientMessage(rng, type);
      expect(canonical(decodeClientMessage(encodeClientMessage(m)))).toBe(canonical(m));
    }
  });

  it.each(SERVER_TYPES)('server %s', (type) => {
    const rng = new Prng(seed ^ (type.length * 7));
    for (let i = 0; i < 300; i++) {
      const m = randomServerMessage(rng, type);
      expect(canonical(decodeServerMessage(encodeServerMessage(m)))).toBe(canonical(m));
    }
  });

  it('tells client IDENT from server IDENT by direction', () => {
    const client: ClientMessage = { type: 'IDENT', session: 1, fileIdent: 2, fileSalt: 3, serverVersion: 4, lastIntegratedClientVersion: 5, latestServerVersion: 6, latestServerVersionSalt: 7 };
    const server: ServerMessage = { type: 'IDENT', session: 1, fileIdent: 2, fileSalt: 3 };
    expect(decodeClientMessage(encodeClientMessage(client))).toEqual(client);
    expect(decodeServerMessage(encodeServerMessage(server))).toEqual(server);
    expect(() => decodeServerMessage(encodeClientMessage(client))).toThrow(expect.objectContaining({ code: 'UNKNOWN_MESSAGE' }));
    expect(() => decodeClientMessage(encodeServerMessage(server))).toThrow(expect.objectContaining({ code: 'UNKNOWN_MESSAGE' }));
  });

  it('accepts a Node Buffer view with an offset and returns plain copies of byte fields', () => {
    const m: ServerMessage = { type: 'STATE', session: 3, serverVersion: 9, serverVersionSalt: 1, lastIntegratedClientVersion: 0, segment: 0, last: true, data: new Uint8Array([1, 2, 3]) };
    const enc = encodeServerMessage(m);
    const backing = new Uint8Array(enc.length + 10);
    backing.set(enc, 5);
    const decoded = decodeServerMessage(Buffer.from(backing.buffer, 5, enc.length)) as typeof m;
    expect(decoded).toEqual(m);
    backing.fill(0);
    expect(Array.from(decoded.data)).toEqual([1, 2, 3]);
  });

  it('rejects encoding fields that do not fit their kind', () => {
    expect(() => encodeClientMessage({ type: 'MARK', session: -1, requestId: 0 })).toThrow(TributaryError);
    expect(() => encodeClientMessage({ type: 'MARK', session: 1.5, requestId: 0 })).toThrow(TributaryError);
  });

  it('names the bad field, inside lists with its index, when encoding fails', () => {
    const rng = new Prng(seed + 11);
    const upload = randomClientMessage(rng, 'UPLOAD') as Extract<ClientMessage, { type: 'UPLOAD' }>;
    const changesets: Extract<ClientMessage, { type: 'UPLOAD' }>['changesets'] = Array.from({ length: 4 }, (_, i) => ({
      clientVersion: i + 1,
      lastIntegratedServerVersion: 0,
      originTimestamp: 1,
      data: new Uint8Array([1]) as Uint8Array,
    }));
    changesets[2] = { ...changesets[2]!, data: 'not bytes' as unknown as Uint8Array };
    expect(() => encodeClientMessage({ ...upload, changesets })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'UPLOAD.changesets[2].data must be a Uint8Array' }),
    );
    expect(() => encodeClientMessage({ type: 'MARK', session: -1, requestId: 0 })).toThrow(
      expect.objectContaining({ message: 'MARK.session must be a non-negative safe integer, got -1' }),
    );
  });
});

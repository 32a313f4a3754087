import { CLIENT_MESSAGES, fnv1a32, PROTOCOL_VERSION, serializeWireSchema, SERVER_MESSAGES, SYNC_SUBPROTOCOL, wireSchemaHash } from '../../src/protocol';

/**
 * History of the wire format. Append a line (never edit one) when the wire changes:
 * bump PROTOCOL_VERSION in src/protocol/messages.ts and pin the new hash here.
 *   1  b3efc144  first version
 */
const PINNED = { protocolVersion: 1, hash: 'b3efc144' };

describe('wire schema pin', () => {
  it('matches the pinned hash for this protocol version', () => {
    const actual = wireSchemaHash();
    if (actual.hash !== PINNED.hash || actual.protocolVersion !== PINNED.protocolVersion) {
      throw new Error(
        `The wire format changed (schema hash ${actual.hash}, protocol version ${actual.protocolVersion}; pinned ${PINNED.hash} for version ${PINNED.protocolVersion}). ` +
          'A wire change requires bumping PROTOCOL_VERSION in src/protocol/messages.ts, updating docs/protocol.md, ' +
          'and pinning the new hash with a history line in test/unit/protocol-schema.test.ts.',
      );
    }
    expect(actual).toEqual(PINNED);
  });

  it('uses the protocol version in the subprotocol name', () => {
    expect(SYNC_SUBPROTOCOL).toBe(`tributary-sync.${PROTOCOL_VERSION}`);
  });

  it('hashes with FNV-1a (known vectors)', () => {
    expect(fnv1a32('')).toBe('811c9dc5');
    expect(fnv1a32('a')).toBe('e40c292c');
    expect(fnv1a32('foobar')).toBe('bf9cf968');
  });

  it('is sensitive to a reordered field', () => {
    const before = serializeWireSchema();
    const fields = CLIENT_MESSAGES.PING.fields as unknown as unknown[];
    fields.reverse();
    try {
      expect(fnv1a32(serializeWireSchema())).not.toBe(fnv1a32(before));
    } finally {
      fields.reverse();
    }
    expect(serializeWireSchema()).toBe(before);
  });

  it('gives every message type a distinct code byte per direction, and none shared across directions', () => {
    const client = Object.values(CLIENT_MESSAGES).map((m) => m.code);
    const server: number[] = Object.values(SERVER_MESSAGES).map((m) => m.code);
    expect(new Set(client).size).toBe(client.length);
    expect(new Set(server).size).toBe(server.length);
    expect(client.filter((c) => server.includes(c))).toEqual([]);
  });
});

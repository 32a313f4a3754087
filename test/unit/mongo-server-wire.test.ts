import { BSON, Int32, Long } from 'mongodb';
import { FrameError, FrameReader } from '../mongo-server/wire/frame-reader';
import {
  decodeRequest, encodeMsg, encodeReply, encodeRequest, FLAG_CHECKSUM_PRESENT, FLAG_EXHAUST_ALLOWED, MessageError, OP_MSG, OP_REPLY, readHeader,
} from '../mongo-server/wire/messages';

function opQuery(collection: string, query: object, requestId: number): Buffer {
  const name = Buffer.from(collection + '\0');
  const doc = Buffer.from(BSON.serialize(query));
  const buffer = Buffer.alloc(16 + 4 + name.length + 8 + doc.length);
  buffer.writeInt32LE(buffer.length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(2004, 12);
  name.copy(buffer, 20);
  buffer.writeInt32LE(0, 20 + name.length);
  buffer.writeInt32LE(-1, 24 + name.length);
  doc.copy(buffer, 28 + name.length);
  return buffer;
}

describe('FrameReader', () => {
  const messages = [
    encodeRequest({ ping: 1, $db: 'admin' }, 1),
    encodeRequest({ insert: 'c', $db: 'd' }, 2, { sequences: { documents: [{ _id: 1 }, { _id: 2, s: 'x'.repeat(300) }] } }),
    encodeRequest({ find: 'c', $db: 'd' }, 3),
  ];
  const stream = Buffer.concat(messages);

  test('yields the same messages however the stream is split', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(1 << 20);
      const out = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(out.map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
    }
  });

  test('byte by byte', () => {
    const reader = new FrameReader(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...reader.push(stream.subarray(i, i + 1)));
    expect(out).toHaveLength(3);
  });

  test('a length under the header or over the limit is refused', () => {
    const small = Buffer.alloc(16);
    small.writeInt32LE(8, 0);
    expect(() => new FrameReader(1000).push(small)).toThrow(FrameError);
    const big = Buffer.alloc(16);
    big.writeInt32LE(2000, 0);
    expect(() => new FrameReader(1000).push(big)).toThrow(FrameError);
  });
});

describe('OP_MSG and OP_QUERY decoding', () => {
  test('document sequences become array fields of the command; values keep their BSON types', () => {
    const request = decodeRequest(encodeRequest({ insert: 'c', n: new Int32(1), l: Long.fromNumber(2), d: 1.5, $db: 'd' }, 7, { sequences: { documents: [{ a: 1 }, { a: 2 }] } }));
    expect(request.kind).toBe('msg');
    if (request.kind !== 'msg') return;
    expect(request.header).toMatchObject({ requestId: 7, opCode: OP_MSG });
    expect(request.command.documents).toHaveLength(2);
    expect(request.command.n).toBeInstanceOf(Int32);
    expect(request.command.l).toBeInstanceOf(Long);
    expect(Object.keys(request.command)[0]).toBe('insert');
  });

  test('a checksum is skipped; exhaustAllowed is reported; unknown required bits and section kinds are errors', () => {
    const withChecksum = Buffer.concat([encodeRequest({ ping: 1, $db: 'a' }, 1, { flags: FLAG_CHECKSUM_PRESENT }), Buffer.alloc(4)]);
    withChecksum.writeInt32LE(withChecksum.length, 0);
    expect(decodeRequest(withChecksum)).toMatchObject({ kind: 'msg', command: { ping: new Int32(1) } });
    expect(decodeRequest(encodeRequest({ hello: 1, $db: 'a' }, 1, { flags: FLAG_EXHAUST_ALLOWED }))).toMatchObject({ flags: FLAG_EXHAUST_ALLOWED });
    expect(() => decodeRequest(encodeRequest({ ping: 1 }, 1, { flags: 1 << 4 }))).toThrow(MessageError);
    const badKind = encodeRequest({ ping: 1 }, 1);
    badKind[20] = 9;
    expect(() => decodeRequest(badKind)).toThrow(MessageError);
  });

  test('OP_QUERY: the command (unwrapped from $query) and its namespace', () => {
    const request = decodeRequest(opQuery('admin.$cmd', { $query: { isMaster: 1, helloOk: true }, $readPreference: {} }, 5));
    expect(request).toMatchObject({ kind: 'query', collection: 'admin.$cmd', command: { isMaster: new Int32(1), helloOk: true } });
  });

  test('replies: OP_MSG with moreToCome when streaming, OP_REPLY with one document', () => {
    const msg = encodeMsg({ ok: 1 }, 10, 7, true);
    expect(readHeader(msg)).toEqual({ length: msg.length, requestId: 10, responseTo: 7, opCode: OP_MSG });
    expect(msg.readUInt32LE(16)).toBe(2);
    expect(BSON.deserialize(msg.subarray(21))).toEqual({ ok: 1 });
    const reply = encodeReply({ ok: 1, x: 'y' }, 11, 5);
    expect(readHeader(reply)).toMatchObject({ responseTo: 5, opCode: OP_REPLY });
    expect(reply.readInt32LE(32)).toBe(1);
    expect(BSON.deserialize(reply.subarray(36))).toEqual({ ok: 1, x: 'y' });
  });
});

/**
 * The two wire messages the server understands, decoded to commands, and the two it writes.
 *
 * - OP_MSG (2013): `flagBits`, then sections — kind 0 is the command document, kind 1 a document
 *   sequence (`insert.documents`, `update.updates`, `delete.deletes`) that becomes an array field of
 *   the command. Flags: checksumPresent (bit 0; the trailing CRC-32C is skipped, not verified),
 *   moreToCome (bit 1; no reply is wanted), exhaustAllowed (bit 16).
 * - OP_QUERY (2004): only for the legacy `isMaster`/`hello` the driver sends before it knows the
 *   server speaks OP_MSG; answered with OP_REPLY (1).
 *
 * Documents are decoded with `promoteValues: false` and `bsonRegExp: true` so every value keeps its
 * BSON type (see bson-values.ts).
 */
import { BSON } from 'mongodb';
import type { Document } from 'mongodb';
import { HEADER_SIZE } from './frame-reader';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const FLAG_CHECKSUM_PRESENT = 1 << 0;
export const FLAG_MORE_TO_COME = 1 << 1;
export const FLAG_EXHAUST_ALLOWED = 1 << 16;

const DESERIALIZE: BSON.DeserializeOptions = { promoteValues: false, promoteLongs: false, bsonRegExp: true };

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export type Request =
  | { kind: 'msg'; header: Header; flags: number; command: Document }
  | { kind: 'query'; header: Header; collection: string; command: Document }
  | { kind: 'unsupported'; header: Header };

export class MessageError extends Error {}

export function readHeader(message: Buffer): Header {
  return {
    length: message.readInt32LE(0),
    requestId: message.readInt32LE(4),
    responseTo: message.readInt32LE(8),
    opCode: message.readInt32LE(12),
  };
}

function readCString(buffer: Buffer, offset: number): [string, number] {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new MessageError('unterminated cstring');
  return [buffer.toString('utf8', offset, end), end + 1];
}

function documentAt(buffer: Buffer, offset: number, limit: number): [Document, number] {
  if (offset + 5 > limit) throw new MessageError('truncated document');
  const size = buffer.readInt32LE(offset);
  if (size < 5 || offset + size > limit) throw new MessageError(`invalid document size ${size}`);
  return [BSON.deserialize(buffer.subarray(offset, offset + size), DESERIALIZE), offset + size];
}

export function decodeRequest(message: Buffer): Request {
  const header = readHeader(message);
  if (header.opCode === OP_MSG) return decodeMsg(message, header);
  if (header.opCode === OP_QUERY) return decodeQuery(message, header);
  return { kind: 'unsupported', header };
}

function decodeMsg(message: Buffer, header: Header): Request {
  const flags = message.readUInt32LE(HEADER_SIZE);
  // Unknown required bits (the low 16) must be refused; optional high bits are ignored.
  const requiredBits = flags & 0xffff & ~(FLAG_CHECKSUM_PRESENT | FLAG_MORE_TO_COME);
  if (requiredBits !== 0) throw new MessageError(`unsupported OP_MSG flag bits 0x${requiredBits.toString(16)}`);
  const end = message.length - (flags & FLAG_CHECKSUM_PRESENT ? 4 : 0);
  let offset = HEADER_SIZE + 4;
  let command: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = message[offset]!;
    offset += 1;
    if (kind === 0) {
      if (command) throw new MessageError('OP_MSG has more than one kind-0 section');
      [command, offset] = documentAt(message, offset, end);
    } else if (kind === 1) {
      const size = message.readInt32LE(offset);
      const sectionEnd = offset + size;
      if (size < 5 || sectionEnd > end) throw new MessageError(`invalid document sequence size ${size}`);
      const [identifier, start] = readCString(message, offset + 4);
      let at = start;
      const documents: Document[] = [];
      while (at < sectionEnd) {
        let doc: Document;
        [doc, at] = documentAt(message, at, sectionEnd);
        documents.push(doc);
      }
      if (sequences.some(([name]) => name === identifier)) throw new MessageError(`duplicate document sequence ${identifier}`);
      sequences.push([identifier, documents]);
      offset = sectionEnd;
    } else {
      throw new MessageError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!command) throw new MessageError('OP_MSG has no kind-0 section');
  for (const [identifier, documents] of sequences) {
    if (identifier in command) throw new MessageError(`document sequence ${identifier} duplicates a command field`);
    command[identifier] = documents;
  }
  return { kind: 'msg', header, flags, command };
}

function decodeQuery(message: Buffer, header: Header): Request {
  let offset = HEADER_SIZE + 4; // flags
  const [collection, after] = readCString(message, offset);
  offset = after + 8; // numberToSkip, numberToReturn
  let [command] = documentAt(message, offset, message.length);
  // A read preference wraps the command as { $query: {...}, $readPreference }.
  if (command.$query && typeof command.$query === 'object') command = command.$query as Document;
  return { kind: 'query', header, collection, command };
}

function header(buffer: Buffer, requestId: number, responseTo: number, opCode: number): void {
  buffer.writeInt32LE(buffer.length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
}

export function encodeMsg(reply: Document, requestId: number, responseTo: number, moreToCome = false): Buffer {
  const body = BSON.serialize(reply, { ignoreUndefined: true });
  const buffer = Buffer.allocUnsafe(HEADER_SIZE + 4 + 1 + body.length);
  header(buffer, requestId, responseTo, OP_MSG);
  buffer.writeUInt32LE(moreToCome ? FLAG_MORE_TO_COME : 0, HEADER_SIZE);
  buffer[HEADER_SIZE + 4] = 0;
  buffer.set(body, HEADER_SIZE + 5);
  return buffer;
}

export function encodeReply(reply: Document, requestId: number, responseTo: number): Buffer {
  const body = BSON.serialize(reply, { ignoreUndefined: true });
  const buffer = Buffer.allocUnsafe(HEADER_SIZE + 20 + body.length);
  header(buffer, requestId, responseTo, OP_REPLY);
  buffer.writeInt32LE(0, HEADER_SIZE); // responseFlags
  buffer.writeBigInt64LE(0n, HEADER_SIZE + 4); // cursorID
  buffer.writeInt32LE(0, HEADER_SIZE + 12); // startingFrom
  buffer.writeInt32LE(1, HEADER_SIZE + 16); // numberReturned
  buffer.set(body, HEADER_SIZE + 20);
  return buffer;
}

/** Encodes a client request (used by the unit tests and by tools that talk to the server raw). */
export function encodeRequest(command: Document, requestId: number, options: { flags?: number; sequences?: Record<string, Document[]> } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(BSON.serialize(command))];
  for (const [identifier, documents] of Object.entries(options.sequences ?? {})) {
    const docs = documents.map((d) => Buffer.from(BSON.serialize(d)));
    const name = Buffer.from(identifier + '\0', 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + docs.reduce((n, d) => n + d.length, 0));
    parts.push(Buffer.from([1]), size, name, ...docs);
  }
  const body = Buffer.concat(parts);
  const buffer = Buffer.alloc(HEADER_SIZE + 4 + body.length);
  header(buffer, requestId, 0, OP_MSG);
  buffer.writeUInt32LE(options.flags ?? 0, HEADER_SIZE);
  body.copy(buffer, HEADER_SIZE + 4);
  return buffer;
}

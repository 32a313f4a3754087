/**
 * The two messages before a session exists: PRELOGIN (MS-TDS 2.2.6.5), where encryption is
 * negotiated, and LOGIN7 (2.2.6.4), which carries the user, the (obfuscated) password, the
 * database and the packet size. The test server never encrypts: it answers ENCRYPT_NOT_SUP, which
 * tedious accepts when the client is configured with `encrypt: false`.
 */
import { ByteReader, ByteWriter, ProtocolError } from './bytes';

const PRELOGIN_VERSION = 0x00;
const PRELOGIN_ENCRYPTION = 0x01;
const PRELOGIN_INSTOPT = 0x02;
const PRELOGIN_THREADID = 0x03;
const PRELOGIN_MARS = 0x04;
const PRELOGIN_TERMINATOR = 0xff;

export const Encryption = { OFF: 0x00, ON: 0x01, NOT_SUP: 0x02, REQ: 0x03 } as const;

export interface PreloginRequest {
  encryption: number | undefined;
  version?: { major: number; minor: number; build: number; subbuild: number };
}

export function parsePrelogin(payload: Buffer): PreloginRequest {
  const result: PreloginRequest = { encryption: undefined };
  let offset = 0;
  while (offset < payload.length && payload[offset] !== PRELOGIN_TERMINATOR) {
    if (offset + 5 > payload.length) throw new ProtocolError('PRELOGIN option table ends early');
    const token = payload[offset]!;
    const dataOffset = payload.readUInt16BE(offset + 1);
    const dataLength = payload.readUInt16BE(offset + 3);
    if (dataOffset + dataLength > payload.length) throw new ProtocolError('PRELOGIN option points past the message');
    if (token === PRELOGIN_ENCRYPTION && dataLength >= 1) result.encryption = payload[dataOffset];
    if (token === PRELOGIN_VERSION && dataLength >= 6) {
      result.version = {
        major: payload[dataOffset]!,
        minor: payload[dataOffset + 1]!,
        build: payload.readUInt16BE(dataOffset + 2),
        subbuild: payload.readUInt16BE(dataOffset + 4),
      };
    }
    offset += 5;
  }
  return result;
}

/** SQL Server 2022's version, as the test server reports it. */
export const SERVER_VERSION = { major: 16, minor: 0, build: 1000, subbuild: 6 };

export function encodePreloginResponse(encryption: number): Buffer {
  const version = Buffer.alloc(6);
  version[0] = SERVER_VERSION.major;
  version[1] = SERVER_VERSION.minor;
  version.writeUInt16BE(SERVER_VERSION.build, 2);
  version.writeUInt16BE(SERVER_VERSION.subbuild, 4);
  const options: Array<[number, Buffer]> = [
    [PRELOGIN_VERSION, version],
    [PRELOGIN_ENCRYPTION, Buffer.from([encryption])],
    [PRELOGIN_INSTOPT, Buffer.from([0])],
    [PRELOGIN_THREADID, Buffer.alloc(0)],
    [PRELOGIN_MARS, Buffer.from([0])],
  ];
  const table = new ByteWriter();
  const data = new ByteWriter();
  let dataOffset = options.length * 5 + 1;
  for (const [token, value] of options) {
    table.u8(token).u16be(dataOffset).u16be(value.length);
    data.bytes(value);
    dataOffset += value.length;
  }
  table.u8(PRELOGIN_TERMINATOR);
  return Buffer.concat([table.toBuffer(), data.toBuffer()]);
}

export interface Login7Request {
  tdsVersion: number;
  packetSize: number;
  clientPid: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  libraryName: string;
  language: string;
  database: string;
  /** SSPI (integrated) authentication was asked for; the test server does not support it. */
  integratedSecurity: boolean;
}

/** LOGIN7 passwords are UCS-2 with each byte's nibbles swapped and XORed with 0xA5. */
export function unscramblePassword(bytes: Buffer): string {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! ^ 0xa5;
    out[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return out.toString('utf16le');
}

export function parseLogin7(payload: Buffer): Login7Request {
  const r = new ByteReader(payload);
  const length = r.u32();
  if (length > payload.length || payload.length < 94) throw new ProtocolError('LOGIN7 message is shorter than its fixed part');
  const tdsVersion = r.u32();
  const packetSize = r.u32();
  r.u32(); // client program version
  const clientPid = r.u32();
  r.u32(); // connection id
  r.u8(); // option flags 1
  const flags2 = r.u8();
  r.u8(); // type flags
  r.u8(); // option flags 3
  r.i32(); // client time zone
  r.u32(); // client LCID
  const text = (): string => {
    const offset = r.u16();
    const chars = r.u16();
    if (offset + chars * 2 > payload.length) throw new ProtocolError('LOGIN7 field points past the message');
    return payload.subarray(offset, offset + chars * 2).toString('utf16le');
  };
  const hostName = text();
  const userName = text();
  const passwordOffset = r.u16();
  const passwordChars = r.u16();
  if (passwordOffset + passwordChars * 2 > payload.length) throw new ProtocolError('LOGIN7 password points past the message');
  const password = unscramblePassword(payload.subarray(passwordOffset, passwordOffset + passwordChars * 2));
  const appName = text();
  const serverName = text();
  r.u16(); // extension offset
  r.u16(); // extension length
  const libraryName = text();
  const language = text();
  const database = text();
  return {
    tdsVersion, packetSize, clientPid, hostName, userName, password, appName, serverName, libraryName, language, database,
    integratedSecurity: (flags2 & 0x80) !== 0,
  };
}

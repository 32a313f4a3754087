import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { encodeClientMessage, decodeServerMessage } from '../../src/protocol/codec';
import { SYNC_SUBPROTOCOL, type ServerMessage } from '../../src/protocol/messages';
import { Server, silentLogger } from '../../src/server';

// Connections that never finish their handshake, stop mid-frame, send a message over the limit or
// hold half-received messages past the server's budget are ended by the server with the documented
// ERROR (or closed, before there is a WebSocket to send it on). Each was a hole before: the
// over-limit frame got a bare close from ws, and the others were held until pingTimeout (15 min).

let dataPath: string;
let server: Server;
let token: string;

beforeEach(async () => {
  dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'trib-limits-'));
  server = new Server({
    dataPath,
    port: 0,
    address: '127.0.0.1',
    logger: silentLogger,
    handshakeTimeout: 1,
    frameTimeout: 1,
    maxMessageBytes: 64 * 1024,
    maxInflightBytes: 96 * 1024,
  });
  await server.start();
  token = JSON.parse(fs.readFileSync(path.join(dataPath, 'keys', 'admin.json'), 'utf8')).ADMIN_TOKEN;
});

afterEach(async () => {
  await server.stop();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

/** A protocol client that keeps every server message and reports the close. */
function open(): Promise<{ ws: WebSocket; messages: ServerMessage[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/sync`, SYNC_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const messages: ServerMessage[] = [];
    ws.on('message', (d: Buffer) => messages.push(decodeServerMessage(new Uint8Array(d))));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

/** The header of one masked binary frame declaring `length` payload bytes (RFC 6455 §5.2). */
function frameHeader(length: number, fin = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  let head: Buffer;
  if (length < 126) head = Buffer.from([(fin ? 0x80 : 0) | 0x2, 0x80 | length]);
  else if (length < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | 0x2;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | 0x2;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, mask]);
}

function rawSocket(ws: WebSocket): net.Socket {
  return (ws as unknown as { _socket: net.Socket })._socket;
}

test('a message over maxMessageBytes gets LIMITS_EXCEEDED before the close, even one ws itself would refuse', async () => {
  for (const size of [100 * 1024, 10 * 1024 * 1024]) {
    const c = await open();
    // Only the header and a little of the payload: the refusal must not wait for the rest.
    rawSocket(c.ws).write(Buffer.concat([frameHeader(size), Buffer.alloc(1024)]));
    const code = await c.closed;
    expect(code).toBe(1009);
    expect(c.messages).toEqual([expect.objectContaining({ type: 'ERROR', session: 0, code: 104, message: expect.stringMatching(/maxMessageBytes/) })]);
  }
  expect(server.guardStats!.oversize).toBe(2);
});

test('a message that stops arriving part-way ends the connection with TIMED_OUT after frameTimeout', async () => {
  const c = await open();
  const sent = Date.now();
  rawSocket(c.ws).write(Buffer.concat([frameHeader(4000), Buffer.alloc(100)]));
  await c.closed;
  const waited = Date.now() - sent;
  expect(c.messages).toEqual([expect.objectContaining({ type: 'ERROR', code: 112 })]);
  // Not before the time-out, and long before pingTimeout (sweeps run once a second).
  expect(waited).toBeGreaterThanOrEqual(1000);
  expect(waited).toBeLessThan(10_000);
});

test('half-received messages over maxInflightBytes: the connection holding the most is refused', async () => {
  const small = await open();
  const big = await open();
  rawSocket(small.ws).write(Buffer.concat([frameHeader(60 * 1024), Buffer.alloc(20 * 1024)]));
  rawSocket(big.ws).write(Buffer.concat([frameHeader(60 * 1024), Buffer.alloc(50 * 1024)]));
  // Let the server read both before the budget is crossed by a third write.
  await new Promise<void>((r) => rawSocket(big.ws).write(Buffer.alloc(0), () => r()));
  rawSocket(small.ws).write(Buffer.alloc(30 * 1024));
  expect(await big.closed).toBe(1009);
  expect(big.messages).toEqual([expect.objectContaining({ type: 'ERROR', code: 104, message: expect.stringMatching(/maxInflightBytes/) })]);
  // The other one finishes its message and keeps its connection.
  rawSocket(small.ws).write(Buffer.alloc(10 * 1024));
  small.ws.send(encodeClientMessage({ type: 'PING', timestamp: 5, rtt: 0 }));
  await new Promise<void>((resolve) => {
    const check = () => (small.messages.some((m) => m.type === 'PONG' || m.type === 'ERROR') ? resolve() : setTimeout(check, 20));
    check();
  });
  expect(server.guardStats!.memoryRefusals).toBe(1);
  small.ws.close();
});

test('a socket that never sends its handshake is closed after handshakeTimeout', async () => {
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const start = Date.now();
  await new Promise<void>((r) => socket.once('close', () => r()));
  const waited = Date.now() - start;
  expect(waited).toBeGreaterThanOrEqual(1000);
  expect(waited).toBeLessThan(10_000);
  expect(server.guardStats!.handshakeTimeouts).toBeGreaterThanOrEqual(1);
});

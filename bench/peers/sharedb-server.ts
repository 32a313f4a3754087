import http from 'node:http';
import WebSocketJSONStream from '@teamwork/websocket-json-stream';
import ShareDB from 'sharedb';
import { WebSocketServer } from 'ws';

/**
 * The ShareDB peer: a ShareDB backend with its default in-memory database and pub/sub (every
 * snapshot and op kept in memory, nothing persisted), each WebSocket handed to
 * `backend.listen()` through `@teamwork/websocket-json-stream`, as ShareDB's README does.
 */
const backend = new ShareDB();
const server = http.createServer();
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  const stream = new WebSocketJSONStream(ws);
  // As the stream's README asks: a write to a socket that is closing emits ERR_CLOSED, which
  // would otherwise end the process (a client going offline while ops are sent to it).
  stream.on('error', () => undefined);
  backend.listen(stream);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => process.exit(0));

import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The raw baseline of the peers benchmark, as a server process: a bare `ws` relay with rooms
 * (`/room/<name>`). A client that joins gets a one-byte frame (its "sync"); a frame from a client
 * goes to every other client of its room and a one-byte acknowledgement goes back to the sender.
 * No storage, no merge, no protocol beyond that.
 */
const rooms = new Map<string, Set<WebSocket>>();
const ACK = Buffer.alloc(1);
const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const name = (req.url ?? '/').replace(/^\/room\//, '');
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  const members = room;
  members.add(ws);
  ws.on('message', (data: Buffer) => {
    for (const other of members) if (other !== ws) other.send(data);
    ws.send(ACK);
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(name);
  });
  ws.send(ACK);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => process.exit(0));

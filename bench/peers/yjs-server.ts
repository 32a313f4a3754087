import http from 'node:http';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

/**
 * The Yjs peer: the y-websocket server (`@y/websocket-server`'s `setupWSConnection`, as its own
 * `server.js` wires it, on the `ws` package we use everywhere). The document name is the URL path.
 * Documents live in memory only (no YPERSISTENCE), as in the y-websocket server's default setup.
 */
delete process.env.YPERSISTENCE;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('okay');
});
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, req) => setupWSConnection(ws, req));
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => process.exit(0));

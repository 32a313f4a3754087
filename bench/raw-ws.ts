import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { summarize } from './stats';

/**
 * The raw baseline: a bare `ws` server that relays each frame from one writer to N readers, with
 * no storage, merge or protocol. Each payload is prefixed with its send time so readers can time
 * the round trip in the same process.
 */
export async function rawBroadcast(payloads: Uint8Array[], readers: number, windowSize: number, perSecond?: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  let writer: WebSocket | undefined;
  wss.on('connection', (ws, req) => {
    if (req.url === '/writer') {
      ws.on('message', (data) => {
        for (const r of sockets) r.send(data as Buffer);
        ws.send(Buffer.alloc(1)); // acknowledgement, so the writer keeps a bounded window like a sync client
      });
    } else sockets.add(ws);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as any).port;
  const readerSockets = await Promise.all(
    Array.from({ length: readers }, () => new Promise<WebSocket>((r) => { const ws = new WebSocket(`ws://127.0.0.1:${port}/reader`); ws.on('open', () => r(ws)); })),
  );
  writer = await new Promise<WebSocket>((r) => { const ws = new WebSocket(`ws://127.0.0.1:${port}/writer`); ws.on('open', () => r(ws)); });
  while (sockets.size < readers) await new Promise((r) => setTimeout(r, 5));

  const latencies: number[] = [];
  let received = 0;
  const total = payloads.length * readers;
  const done = new Promise<void>((resolve) => {
    for (const ws of readerSockets) {
      ws.on('message', (data: Buffer) => {
        latencies.push(performance.now() - data.readDoubleLE(0));
        if (++received === total) resolve();
      });
    }
  });
  const start = performance.now();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < payloads.length && sent - acked < windowSize) {
        if (perSecond) {
          const wait = start + (sent * 1000) / perSecond - performance.now();
          if (wait > 0) {
            setTimeout(pump, wait);
            return;
          }
        }
        const p = payloads[sent++];
        const frame = Buffer.alloc(8 + p.length);
        frame.writeDoubleLE(performance.now(), 0);
        frame.set(p, 8);
        writer!.send(frame);
      }
      if (sent === payloads.length) resolve();
    };
    writer!.on('message', () => {
      acked++;
      if (!perSecond) pump();
    });
    if (perSecond) windowSize = Number.MAX_SAFE_INTEGER;
    pump();
  });
  await done;
  const seconds = (performance.now() - start) / 1000;
  for (const ws of [...readerSockets, writer]) ws.close();
  await new Promise<void>((r) => wss.close(() => server.close(() => r())));
  const s = summarize(latencies);
  return { perSecond: total / seconds, p50: s.p50, p99: s.p99 };
}

import * as path from 'node:path';
import { WebSocket } from 'ws';
import { AckGate } from './ack-gate';
import { startServerChild, type ServerChild } from './server-child';
import { BODY, type Deployment, type OpenOptions, type PeerClient, type PeerSystem } from './types';

/**
 * Raw `ws` relay client. A change is one binary frame: sentAt (float64), key length, key, body.
 * The server's one-byte frames are the join confirmation and the acknowledgements.
 */
export function openRawClient(port: number, room: string, options: OpenOptions): Promise<PeerClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/room/${encodeURIComponent(room)}`, { perMessageDeflate: false });
  let sent = 0;
  let acked = -1; // the join confirmation is the first one-byte frame
  const gate = new AckGate(() => sent - Math.max(0, acked));
  return new Promise<PeerClient>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: Buffer) => {
      if (data.length === 1) {
        if (++acked === 0) resolve(client);
        else gate.check();
        return;
      }
      const keyLength = data[8]!;
      options.onDelivery?.(data.toString('latin1', 9, 9 + keyLength), data.readDoubleLE(0));
    });
    const client: PeerClient = {
      write(key, sentAt) {
        const body = Buffer.from(BODY, 'latin1');
        const frame = Buffer.alloc(9 + key.length + body.length);
        frame.writeDoubleLE(sentAt, 0);
        frame[8] = key.length;
        frame.write(key, 9, 'latin1');
        body.copy(frame, 9 + key.length);
        sent++;
        ws.send(frame);
      },
      unacked: () => sent - Math.max(0, acked),
      whenUnackedBelow: (limit) => gate.whenBelow(limit),
      close: () => closeSocket(ws),
    };
  });
}

export function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

export const rawSystem: PeerSystem = {
  name: 'raw ws',
  async deploy(): Promise<Deployment> {
    const server: ServerChild = await startServerChild(path.join(__dirname, 'raw-server.ts'), []);
    return {
      server,
      prepareClients: async () => {},
      open: (room, options) => openRawClient(server.port, room, options),
      stop: () => server.stop(),
    };
  },
};

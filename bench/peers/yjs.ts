import * as path from 'node:path';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { AckGate } from './ack-gate';
import { startServerChild } from './server-child';
import { BODY, type Deployment, type OpenOptions, type PeerClient, type PeerSystem } from './types';

/** y-protocols message ids: sync message, of type "update". */
const MESSAGE_SYNC = 0;
const SYNC_UPDATE = 2;

/**
 * A y-websocket client with its own socket, plus a count of the update messages it received.
 * The y-websocket server sends every update it applies to all connections of the document,
 * the sender's included, so on a writer that count is its acknowledgements; the protocol has no
 * other acknowledgement.
 */
export interface YjsConnection {
  doc: Y.Doc;
  provider: WebsocketProvider;
  updatesReceived(): number;
  onUpdateReceived(listener: () => void): void;
  synced: Promise<void>;
}

export function connectYjs(port: number, room: string, doc = new Y.Doc(), connect = true): YjsConnection {
  let received = 0;
  const listeners: Array<() => void> = [];
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { perMessageDeflate: false });
      this.on('message', (data: ArrayBuffer | Buffer) => {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data, 0, 2) : data;
        if (bytes[0] === MESSAGE_SYNC && bytes[1] === SYNC_UPDATE) {
          received++;
          for (const l of listeners) l();
        }
      });
    }
  }
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}`, room, doc, {
    WebSocketPolyfill: CountingWebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect,
  });
  const synced = new Promise<void>((resolve) => {
    const onSync = (isSynced: boolean) => {
      if (!isSynced) return;
      provider.off('sync', onSync);
      resolve();
    };
    provider.on('sync', onSync);
  });
  return { doc, provider, updatesReceived: () => received, onUpdateReceived: (l) => listeners.push(l), synced };
}

export async function openYjsClient(port: number, room: string, options: OpenOptions): Promise<PeerClient> {
  const conn = connectYjs(port, room);
  const items = conn.doc.getMap<{ sentAt: number; body: string }>('items');
  let written = 0;
  let echoesBefore = 0;
  const unacked = () => written - (conn.updatesReceived() - echoesBefore);
  const gate = new AckGate(unacked);
  conn.onUpdateReceived(() => gate.check());
  if (options.onDelivery) {
    const deliver = options.onDelivery;
    items.observe((event) => {
      if (event.transaction.local) return;
      for (const key of event.keysChanged) {
        const v = items.get(key);
        if (v) deliver(key, v.sentAt);
      }
    });
  }
  await conn.synced;
  echoesBefore = conn.updatesReceived();
  return {
    write(key, sentAt) {
      written++;
      items.set(key, { sentAt, body: BODY });
    },
    unacked,
    whenUnackedBelow: (limit) => gate.whenBelow(limit),
    async close() {
      conn.provider.destroy();
      conn.doc.destroy();
    },
  };
}

export const yjsSystem: PeerSystem = {
  name: 'yjs',
  async deploy(): Promise<Deployment> {
    const server = await startServerChild(path.join(__dirname, 'yjs-server.ts'), []);
    return {
      server,
      prepareClients: async () => {},
      open: (room, options) => openYjsClient(server.port, room, options),
      stop: () => server.stop(),
    };
  },
};

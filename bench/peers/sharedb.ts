import * as path from 'node:path';
import { Connection, type Doc } from 'sharedb/lib/client';
import { WebSocket } from 'ws';
import { AckGate } from './ack-gate';
import { startServerChild } from './server-child';
import { BODY, type Deployment, type OpenOptions, type PeerClient, type PeerSystem } from './types';

export const COLLECTION = 'bench';

/** A ShareDB connection on its own `ws` WebSocket (ShareDB's client takes any W3C-like socket). */
export function connectShareDb(port: number): Connection {
  return new Connection(new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false }));
}

export function call(fn: (cb: (err?: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

/**
 * A ShareDB client: the room is one JSON0 document; a change inserts one top-level field
 * (`{p: [key], oi: {sentAt, body}}`). Opening subscribes and, when the document does not exist
 * yet and this client may create it (its own room, or user 0 of a shared one), creates it empty.
 */
export async function openShareDbClient(port: number, room: string, options: OpenOptions): Promise<PeerClient> {
  const connection = connectShareDb(port);
  const doc: Doc = connection.get(COLLECTION, room);
  let inFlight = 0;
  const gate = new AckGate(() => inFlight);
  if (options.onDelivery) {
    const deliver = options.onDelivery;
    doc.on('op', (op: Array<{ p: unknown[]; oi?: { sentAt: number } }>, source: unknown) => {
      if (source) return; // our own op
      for (const c of op) if (c.p.length === 1 && c.oi) deliver(String(c.p[0]), c.oi.sentAt);
    });
  }
  await call((cb) => doc.subscribe(cb));
  if (!doc.type && (!options.shared || options.user === 0)) await call((cb) => doc.create({}, cb));
  return {
    write(key, sentAt) {
      inFlight++;
      doc.submitOp([{ p: [key], oi: { sentAt, body: BODY } }], (err) => {
        if (err) throw err;
        inFlight--;
        gate.check();
      });
    },
    unacked: () => inFlight,
    whenUnackedBelow: (limit) => gate.whenBelow(limit),
    async close() {
      doc.destroy();
      connection.close();
    },
  };
}

export const shareDbSystem: PeerSystem = {
  name: 'sharedb',
  async deploy(): Promise<Deployment> {
    const server = await startServerChild(path.join(__dirname, 'sharedb-server.ts'), []);
    return {
      server,
      prepareClients: async () => {},
      open: (room, options) => openShareDbClient(server.port, room, options),
      stop: () => server.stop(),
    };
  },
};

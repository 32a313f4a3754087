/**
 * The few parts of the peers' APIs the benchmark uses. sharedb 7 and
 * @teamwork/websocket-json-stream ship no types (@types/sharedb describes sharedb 5), and
 * @y/websocket-server's types sit behind an `exports` subpath that `moduleResolution: node`
 * does not follow.
 */
declare module 'sharedb' {
  class Backend {
    constructor(options?: Record<string, unknown>);
    listen(stream: unknown, request?: unknown): unknown;
    close(callback?: (err?: Error) => void): void;
  }
  export = Backend;
}

declare module 'sharedb/lib/client' {
  type Callback = (err?: Error & { code?: string | number }) => void;
  export interface Doc {
    readonly id: string;
    readonly collection: string;
    readonly version: number | null;
    readonly type: unknown;
    readonly data: any;
    subscribe(callback?: Callback): void;
    fetch(callback?: Callback): void;
    create(data: unknown, callback?: Callback): void;
    submitOp(op: unknown, callback?: Callback): void;
    hasWritePending(): boolean;
    whenNothingPending(callback: () => void): void;
    destroy(callback?: Callback): void;
    on(event: 'op', listener: (op: any[], source: unknown) => void): this;
    on(event: 'load' | 'create' | 'del' | 'error' | 'nothing pending', listener: (...args: any[]) => void): this;
  }
  export class Connection {
    constructor(socket: unknown);
    readonly state: string;
    get(collection: string, id: string): Doc;
    bindToSocket(socket: unknown): void;
    close(): void;
    on(event: string, listener: (...args: any[]) => void): this;
  }
}

declare module '@teamwork/websocket-json-stream' {
  import { Duplex } from 'node:stream';
  class WebSocketJSONStream extends Duplex {
    constructor(ws: unknown);
  }
  export = WebSocketJSONStream;
}

declare module '@y/websocket-server/utils' {
  export function setupWSConnection(conn: unknown, req: unknown, options?: { docName?: string; gc?: boolean }): void;
}

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { decodeServerMessage, encodeClientMessage } from '../../src/protocol/codec';
import { SYNC_PATH, SYNC_SUBPROTOCOL, type ClientMessage, type ServerMessage } from '../../src/protocol/messages';

const REPO = path.resolve(__dirname, '..', '..');

/** A `tributary serve` child process on a random port with its own data directory. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>` (changes on restart unless `port` was given). */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/sync`. */
  readonly syncUrl: string;
  readonly port: number;
  readonly dataPath: string;
  readonly adminToken: string;
  /** Every stdout line (JSON log records) so far. */
  readonly logs: string[];
  /** How the current child ended, or null while it runs (a long test that outlives its server reports it). */
  readonly exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Sends a signal (SIGTERM by default) and waits for the exit; resolves with the exit code. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Kills (when running) and starts again on the same data directory. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  /** Kills and removes the data directory (unless it was given). */
  dispose(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Defaults to a new temporary directory, removed by dispose(). */
  dataPath?: string;
  /** Extra flags for `tributary serve`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** A fixed port kept across restarts (so clients reconnect to the same URL); default: a random one per start. */
  port?: number;
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const ownDir = options.dataPath === undefined;
  const dataPath = options.dataPath ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-server-'));
  const logs: string[] = [];
  let child: ChildProcess | null = null;
  let port = 0;
  let exited: Promise<number | null> = Promise.resolve(null);
  let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  async function launch(): Promise<void> {
    const args = ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'serve', '--port', String(options.port ?? 0), '--address', '127.0.0.1', '--data', dataPath, ...(options.args ?? [])];
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    for (const k of Object.keys(env)) if (k.startsWith('TRIBUTARY_') && !(options.env && k in options.env)) delete env[k];
    const proc = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exitStatus = null;
    exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        exitStatus = { code, signal };
        resolve(code);
      }),
    );
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within ${options.startTimeoutMs ?? 30000} ms\n${stderr}`)), options.startTimeoutMs ?? 30000);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        logs.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; port?: number };
          if (rec.msg === 'listening' && typeof rec.port === 'number') {
            clearTimeout(timer);
            resolve(rec.port);
          }
        } catch {
          // not a log record
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening\n${stderr}`));
      });
    });
  }

  await launch();
  const adminToken = (JSON.parse(fs.readFileSync(path.join(dataPath, 'keys', 'admin.json'), 'utf8')) as { ADMIN_TOKEN: string }).ADMIN_TOKEN;

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    c.kill(signal);
    return exited;
  };

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get syncUrl() {
      return `ws://127.0.0.1:${port}${SYNC_PATH}`;
    },
    get port() {
      return port;
    },
    dataPath,
    adminToken,
    logs,
    get exitStatus() {
      return exitStatus;
    },
    kill,
    async restart(signal: NodeJS.Signals = 'SIGTERM') {
      await kill(signal);
      await launch();
    },
    async dispose() {
      await kill('SIGKILL');
      if (ownDir) fs.rmSync(dataPath, { recursive: true, force: true });
    },
  };
}

/** POST /auth with a JSON body; returns the status and parsed body. */
export async function postAuth(baseUrl: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed };
}

/**
 * A protocol-level client over a raw WebSocket and the message codec (no client library): send
 * messages, wait for the next matching one.
 */
export class RawSyncClient {
  readonly inbox: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  decodeErrors = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      let msg: ServerMessage;
      try {
        msg = decodeServerMessage(new Uint8Array(data));
      } catch {
        this.decodeErrors++;
        return;
      }
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
      else this.inbox.push(msg);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(syncUrl: string, token: string | null, protocol: string = SYNC_SUBPROTOCOL): Promise<RawSyncClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
      const ws = new WebSocket(syncUrl, protocol, { headers });
      const client = new RawSyncClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(message: ClientMessage): void {
    this.ws.send(encodeClientMessage(message));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** The next message (already received or future) for which `match` holds; it is removed from the inbox. */
  next<T extends ServerMessage = ServerMessage>(match: (m: ServerMessage) => boolean = () => true, timeoutMs = 10000): Promise<T> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (m: ServerMessage) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox.map((m) => m.type))}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Next message of a type, optionally for one session. */
  nextOf<K extends ServerMessage['type']>(type: K, session?: number, timeoutMs?: number): Promise<Extract<ServerMessage, { type: K }>> {
    return this.next((m) => m.type === type && (session === undefined || !('session' in m) || m.session === session), timeoutMs);
  }

  /** The next whole STATE of a session: its segments, in order, with their data joined. */
  async nextState(session: number, timeoutMs?: number): Promise<Extract<ServerMessage, { type: 'STATE' }>> {
    const parts: Extract<ServerMessage, { type: 'STATE' }>[] = [];
    do {
      const m = await this.nextOf('STATE', session, timeoutMs);
      if (m.segment !== parts.length) throw new Error(`STATE segment ${m.segment} arrived where ${parts.length} was due`);
      parts.push(m);
    } while (!parts[parts.length - 1]!.last);
    const data = new Uint8Array(parts.reduce((n, p) => n + p.data.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p.data, at);
      at += p.data.length;
    }
    return { ...parts[parts.length - 1]!, segment: 0, data };
  }

  close(): void {
    this.ws.close();
  }
}

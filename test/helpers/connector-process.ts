import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { ConnectorStatus } from '../../connectors/contract';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'connector-child.ts');

export interface ConnectorEvent<S = ConnectorStatus> {
  event: string;
  status?: S;
  message?: string;
  [k: string]: unknown;
}

/**
 * One life of a connector of any registered type in a child process (test/fixtures/connector-child.ts).
 * `ready` resolves with the status once `start()` resolved; `kill()` sends SIGKILL at whatever
 * instant it is called. Every life appends its stderr to `logs` (shared by the caller across lives)
 * so a failing test can print what the connector said.
 */
export class ConnectorProcess<S = ConnectorStatus> {
  readonly child: ChildProcess;
  readonly ready: Promise<S>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiting: ((e: ConnectorEvent<S>) => boolean)[] = [];
  private isReady = false;

  protected constructor(type: string, configFile: string, private readonly logs: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, type, configFile], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.logs.push(`[${pid}] ${line}`);
      if (this.logs.length > 400) this.logs.splice(0, this.logs.length - 400);
    });
    this.child.stdin!.on('error', () => undefined); // writing to a killed child
    this.ready = new Promise((resolve, reject) => {
      this.waiting.push((e) => {
        if (e.event === 'ready') {
          this.isReady = true;
          resolve(e.status!);
          return true;
        }
        if (e.event === 'failed') {
          reject(new Error(`the connector failed to start: ${e.message}`));
          return true;
        }
        return false;
      });
      void this.exited.then(({ code, signal }) => reject(new Error(`the connector exited before it was ready (${signal ?? code})\n${this.logs.slice(-20).join('\n')}`)));
    });
    this.ready.catch(() => undefined);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let e: ConnectorEvent<S>;
      try {
        e = JSON.parse(line) as ConnectorEvent<S>;
      } catch {
        this.logs.push(`[${pid}] stdout: ${line}`);
        return;
      }
      const i = this.waiting.findIndex((w) => w(e));
      if (i >= 0) this.waiting.splice(i, 1);
    });
  }

  /**
   * Starts a life of a connector of `type`. The config (with `adminToken`) is written to
   * `<dir>/connector.json` (mode 0600). `env` is added to the child's environment (e.g.
   * `TRIBUTARY_CRASH_AT`, connectors/kit/crash-points.ts).
   */
  static start<S = ConnectorStatus>(type: string, config: Record<string, unknown>, dir: string, logs: string[] = [], env: Record<string, string> = {}): ConnectorProcess<S> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'connector.json');
    fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    return new ConnectorProcess<S>(type, file, logs, env);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get started(): boolean {
    return this.isReady;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL now; resolves when the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  private request(line: string, answer: string, timeoutMs: number): Promise<ConnectorEvent<S>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to "${line}" in ${timeoutMs} ms\n${this.logs.slice(-20).join('\n')}`)), timeoutMs);
      this.waiting.push((e) => {
        if (e.event !== answer && e.event !== 'error') return false;
        clearTimeout(timer);
        if (e.event === 'error') reject(new Error(`${line}: ${e.message} (status ${JSON.stringify(e.status)})\n${this.logs.slice(-20).join('\n')}`));
        else resolve(e);
        return true;
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the connector exited (${signal ?? code}) before answering "${line}"`));
      });
      this.child.stdin!.write(line + '\n');
    });
  }

  async status(timeoutMs = 30_000): Promise<S> {
    return (await this.request('status', 'status', timeoutMs)).status!;
  }

  /** `connector.quiesce()`: both directions settled; resolves with the status. */
  async quiesce(timeoutMs = 120_000): Promise<S> {
    return (await this.request(`quiesce ${timeoutMs}`, 'quiesced', timeoutMs + 10_000)).status!;
  }

  /** A clean stop (connector.stop(), then exit 0). */
  async stop(timeoutMs = 60_000): Promise<S> {
    const e = await this.request('stop', 'stopped', timeoutMs);
    await this.exited;
    return e.status!;
  }
}

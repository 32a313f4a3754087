import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { PostgresConnectorStatus } from '../../connectors/postgres';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'pg-connector.ts');

export interface ConnectorEvent {
  event: string;
  status?: PostgresConnectorStatus;
  message?: string;
  [k: string]: unknown;
}

/**
 * One life of a connector in a child process (test/fixtures/pg-connector.ts). `ready` resolves
 * with the status once `start()` resolved; `kill()` sends SIGKILL at whatever instant it is
 * called. Every life appends its stderr to `logs` (shared by the caller across lives) so a failing
 * test can print what the connector said.
 */
export class ConnectorProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<PostgresConnectorStatus>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiting: ((e: ConnectorEvent) => boolean)[] = [];
  private isReady = false;

  private constructor(configFile: string, private readonly logs: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, configFile], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
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
      let e: ConnectorEvent;
      try {
        e = JSON.parse(line) as ConnectorEvent;
      } catch {
        this.logs.push(`[${pid}] stdout: ${line}`);
        return;
      }
      const i = this.waiting.findIndex((w) => w(e));
      if (i >= 0) this.waiting.splice(i, 1);
    });
  }

  /**
   * Starts a connector life. The config (with `adminToken`) is written to `<dir>/connector.json`
   * (mode 0600).
   */
  static spawn(config: Record<string, unknown>, dir: string, logs: string[] = []): ConnectorProcess {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'connector.json');
    fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    return new ConnectorProcess(file, logs);
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

  private request(line: string, answer: string, timeoutMs: number): Promise<ConnectorEvent> {
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

  async status(timeoutMs = 30_000): Promise<PostgresConnectorStatus> {
    return (await this.request('status', 'status', timeoutMs)).status!;
  }

  /** `connector.quiesce()`: both directions settled; resolves with the status. */
  async quiesce(timeoutMs = 120_000): Promise<PostgresConnectorStatus> {
    return (await this.request(`quiesce ${timeoutMs}`, 'quiesced', timeoutMs + 10_000)).status!;
  }

  /** A clean stop (connector.stop(), then exit 0). */
  async stop(timeoutMs = 60_000): Promise<PostgresConnectorStatus> {
    const e = await this.request('stop', 'stopped', timeoutMs);
    await this.exited;
    return e.status!;
  }
}

/** A row or an object as comparable plain values (dates as ISO text, absent as null). */
export type Comparable = Record<string, unknown>;

function comparable(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v;
}

/** Every row of `table` keyed by `id`, `columns` only. */
export async function tableRows(sql: { query(text: string): Promise<{ rows: Record<string, unknown>[] }> }, table: string, columns: string[]): Promise<Map<number, Comparable>> {
  const r = await sql.query(`SELECT ${['id', ...columns].map((c) => `"${c}"`).join(', ')} FROM "${table}" ORDER BY id`);
  return new Map(r.rows.map((row) => [row.id as number, Object.fromEntries(columns.map((c) => [c, comparable(row[c])]))]));
}

/** Every object of `type` keyed by `id`, `properties` only. */
export function realmObjects(realm: { objects(type: string): Iterable<unknown> }, type: string, properties: string[]): Map<number, Comparable> {
  const out = new Map<number, Comparable>();
  for (const o of realm.objects(type) as Iterable<Record<string, unknown>>) out.set(o.id as number, Object.fromEntries(properties.map((p) => [p, comparable(o[p])])));
  return out;
}

/** Differences between two keyed sets, one line each (`<label> id 7: missing on the realm side`, `… score: db 3, realm 4`). */
export function differences(label: string, left: Map<number, Comparable>, right: Map<number, Comparable>, names: [string, string] = ['db', 'realm']): string[] {
  const out: string[] = [];
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort((a, b) => a - b);
  for (const id of ids) {
    const a = left.get(id);
    const b = right.get(id);
    if (!a) out.push(`${label} id ${id}: only on the ${names[1]} side ${JSON.stringify(b)}`);
    else if (!b) out.push(`${label} id ${id}: only on the ${names[0]} side ${JSON.stringify(a)}`);
    else for (const k of Object.keys(a)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${label} id ${id} ${k}: ${names[0]} ${JSON.stringify(a[k])}, ${names[1]} ${JSON.stringify(b[k])}`);
  }
  return out;
}

import * as path from 'node:path';
import type { Connector, ConnectorModule, ConnectorStatus } from '../../connectors/contract';
import type { LoadProgress } from '../../connectors/kit/load-progress';
import { loadConnectorModule } from '../../connectors/registry';
import { Realm } from '../../src/realm';
import { JsonLogger } from '../../src/shared/logger';
import { adminFixture, type AdminFixture } from '../helpers/admin-runtime';
import { ConnectorProcess } from '../helpers/connector-process';
import type { ConformanceDriver, DriverDatabase, Row } from './driver';

/**
 * What the conformance tests share: one Tributary server per suite, fresh databases per group,
 * connectors created through the registry (in this process, or in a child process to SIGKILL),
 * realm clients, and comparisons of rows with objects as plain values.
 */

/** A table of a connector config in the suite's terms: the realm type, the placement, counter columns. */
export interface TableMapping {
  type: string;
  realm?: string | { follow: string } | ((row: Readonly<Record<string, unknown>>, table: string) => string);
  counters?: string[];
}

export interface ConfigSpec {
  name: string;
  tables: Record<string, TableMapping>;
  realm?: string;
  conflict?: 'database-wins' | 'realm-wins';
  schemaChanges?: { addProperties?: boolean; addColumns?: boolean };
  initialLoad?: 'from-database' | 'from-realm' | 'none';
}

export class Harness {
  readonly module: ConnectorModule;
  private readonly connectors: Connector[] = [];
  private readonly processes: ConnectorProcess[] = [];
  private readonly realms: Realm[] = [];
  private readonly dbs: DriverDatabase[] = [];
  private clients = 0;
  /** Warnings and errors of every in-process connector (printed when a test fails). */
  readonly logs: string[] = [];
  readonly log = new JsonLogger('warn', {}, (line) => {
    this.logs.push(line);
    if (this.logs.length > 400) this.logs.splice(0, 100);
  });

  private constructor(
    readonly driver: ConformanceDriver,
    readonly fx: AdminFixture,
  ) {
    this.module = loadConnectorModule(driver.type);
  }

  static async open(driver: ConformanceDriver): Promise<Harness> {
    return new Harness(driver, await adminFixture());
  }

  async database(label: string): Promise<DriverDatabase> {
    const db = await this.driver.open(label);
    this.dbs.push(db);
    return db;
  }

  /** The common config keys (connectors/kit/config.ts) plus the driver's database keys. */
  config(db: DriverDatabase, spec: ConfigSpec): Record<string, unknown> {
    const tables: Record<string, unknown> = {};
    for (const [table, t] of Object.entries(spec.tables)) {
      const columns = t.counters?.length ? Object.fromEntries(t.counters.map((c) => [c, { counter: true }])) : undefined;
      tables[table] = { type: t.type, ...(t.realm !== undefined ? { realm: t.realm } : {}), ...(columns ? { columns } : {}) };
    }
    const { tables: _, ...rest } = spec;
    return { serverUrl: this.fx.realmUrl, adminToken: this.fx.adminToken, localPath: path.join(this.fx.dir, `connector-${spec.name}`), ...db.connectorConfig(), ...rest, tables };
  }

  /** A connector created through the registry, not started. */
  create(config: Record<string, unknown>, onProgress?: (p: LoadProgress) => void): Connector {
    const c = this.module.create(config, { log: this.log, onProgress });
    this.connectors.push(c);
    return c;
  }

  async start(config: Record<string, unknown>, onProgress?: (p: LoadProgress) => void): Promise<Connector> {
    const c = this.create(config, onProgress);
    await c.start();
    return c;
  }

  /** A connector life in a child process (SIGKILL it with `kill()`); `env` arms crash points (connectors/kit/crash-points.ts). */
  spawn(config: Record<string, unknown>, logs: string[], env: Record<string, string> = {}): ConnectorProcess {
    const p = ConnectorProcess.start(this.driver.type, config, path.join(this.fx.dir, `process-${config.name as string}`), logs, env);
    this.processes.push(p);
    return p;
  }

  /** A realm client of the admin user at `realmPath`, downloaded. */
  async client(realmPath: string, schema?: object[]): Promise<Realm> {
    const r = await Realm.open({ ...(schema ? { schema: schema as never } : {}), sync: { user: this.fx.admin, url: this.fx.realmUrl + realmPath }, path: path.join(this.fx.dir, 'clients', `c${this.clients++}.db`) });
    this.realms.push(r);
    await r.syncSession!.downloadAllServerChanges(60_000);
    return r;
  }

  async dispose(): Promise<void> {
    for (const p of this.processes) await p.kill();
    for (const c of this.connectors) await c.stop().catch(() => undefined);
    for (const r of this.realms) if (!r.isClosed) r.close();
    await this.fx.dispose();
    for (const d of this.dbs) await d.dispose();
  }
}

/** A value as the suite compares it: dates as ISO text, absent as null. */
export function plain(v: unknown): Row[string] {
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v as Row[string];
}

/** The objects of `type` in a realm as rows (`id` and `columns`), ordered by id; [] when the realm has no such type. */
export function objectRows(realm: Realm, type: string, columns: string[]): Row[] {
  if (!realm.schema.some((s) => s.name === type)) return [];
  const out: Row[] = [];
  for (const o of realm.objects<Record<string, unknown>>(type)) out.push(Object.fromEntries(['id', ...columns].map((c) => [c, plain(o[c])])));
  return out.sort((a, b) => (a.id as number) - (b.id as number));
}

/** Rows of one table with only `columns` (and id), ordered by id. */
export function pick(rows: Row[], columns: string[]): Row[] {
  return rows.map((r) => Object.fromEntries(['id', ...columns].map((c) => [c, plain(r[c])]))).sort((a, b) => (a.id as number) - (b.id as number));
}

/** The status as the kit defines it, for messages. */
export function statusLine(s: ConnectorStatus): string {
  return `state ${s.state}, transactions ${s.transactions}, own ${s.skippedOwnTransactions}, apply ${JSON.stringify(s.apply)}, lastError ${s.lastError}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a rejection naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

import { errorCodeOf, errorText } from './errors';
import { httpUrl } from './realm-side';

/**
 * `testConnection()`: what a connector's config reaches, checked without starting it — the
 * database (reachable, the prerequisites the connector needs, the mapping against the catalog) and
 * the Tributary server (reachable, the admin token accepted). Each check says what it found or
 * what to change; a failed check keeps its error code. A connector supplies its database's checks;
 * the kit adds the server's and prints them (`tributary connector <type> test --config <file>`).
 */
export interface ConnectionCheck {
  /** What was checked (`database`, `wal_level and privileges`, `mapping`, `sync server`). */
  name: string;
  ok: boolean;
  /** What was found, or the error with what to change. */
  detail: string;
  /** The error's code when the check failed (a TributaryError code, else the driver's). */
  code?: string | null;
}

export interface TestConnectionResult {
  ok: boolean;
  checks: ConnectionCheck[];
}

/**
 * Runs `checks` in order, each after the previous succeeded (later checks need what earlier ones
 * opened); a failed check ends the run. Each check resolves to its detail line or throws.
 */
export async function runChecks(checks: { name: string; run: () => Promise<string> }[]): Promise<ConnectionCheck[]> {
  const out: ConnectionCheck[] = [];
  for (const c of checks) {
    try {
      out.push({ name: c.name, ok: true, detail: await c.run() });
    } catch (e) {
      out.push({ name: c.name, ok: false, detail: errorText(e), code: errorCodeOf(e) });
      break;
    }
  }
  return out;
}

/** The Tributary server of a config answers, and accepts its admin token (`POST /auth` with the adminToken provider). */
export async function checkSyncServer(config: { serverUrl: string; adminToken?: string }, adminToken: () => string, timeoutMs = 10_000): Promise<ConnectionCheck> {
  const base = httpUrl(config.serverUrl).replace(/\/+$/, '');
  const [check] = await runChecks([
    {
      name: 'sync server',
      run: async () => {
        const token = adminToken();
        const res = await fetch(`${base}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'adminToken', token }), signal: AbortSignal.timeout(timeoutMs) });
        if (res.status !== 200) throw Object.assign(new Error(`${base} refused the admin token (HTTP ${res.status}); check adminToken / adminTokenFile`), { code: 'AUTH_FAILED' });
        return `${base} answers and accepts the admin token`;
      },
    },
  ]);
  return check!;
}

/** One line per check: `ok   database  …` / `FAIL mapping  …`. */
export function formatChecks(r: TestConnectionResult): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  return r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}${c.ok || !c.code ? '' : ` [${c.code}]`}`).join('\n') + '\n';
}

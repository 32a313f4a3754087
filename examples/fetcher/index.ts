/**
 * Fetcher example: clients ask for data by inserting `FetchRequest` objects into their realm; the
 * fetcher calls a REST API and writes the answer back into the same object.
 *
 *   node --import tsx examples/fetcher/index.ts      # demo: own sync server, own REST API, three requests
 *   node --import tsx examples/fetcher/index.ts --server realm://127.0.0.1:9080 --token <admin token> \
 *        --dir ./fetcher-state [--path '/requests$'] [--timeout 10000] [--attempts 5]   # run until SIGTERM
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { Fetcher, fetchRequestSchema } from '../../src/patterns';
import { Realm } from '../../src/realm';
import { Server, readAdminToken, silentLogger } from '../../src/server';

export interface RuntimeOptions {
  serverUrl: string;
  adminToken: string;
  directory: string;
  path?: string;
  timeoutMs?: number;
  maxAttempts?: number;
  concurrency?: number;
  retry?: { initialMs: number; maxMs: number };
  leaseMarginMs?: number;
}

export async function startFetcher(o: RuntimeOptions): Promise<Fetcher> {
  const adminUser = User.adminUser(o.adminToken, o.serverUrl.replace(/^realm/, 'http'));
  const fetcher = new Fetcher({
    serverUrl: o.serverUrl,
    adminUser,
    directory: o.directory,
    path: o.path ?? '/requests$',
    timeoutMs: o.timeoutMs ?? 10_000,
    maxAttempts: o.maxAttempts ?? 5,
    concurrency: o.concurrency ?? 8,
    retry: o.retry,
    leaseMarginMs: o.leaseMarginMs,
    log: { error: (msg, f) => console.error(msg, f) },
  });
  await fetcher.start();
  return fetcher;
}

/** A tiny exchange-rate API that answers a repeated Idempotency-Key from its record. */
function startRatesApi(): Promise<{ url: string; calls: number; close(): Promise<void> }> {
  const rates: Record<string, number> = { EUR: 1, USD: 1.08, NOK: 11.6, JPY: 162.4 };
  const answered = new Map<string, string>();
  const state = { url: '', calls: 0, close: () => new Promise<void>((r) => server.close(() => r())) };
  const server = http.createServer((req, res) => {
    state.calls++;
    const key = String(req.headers['idempotency-key'] ?? '');
    const previous = key ? answered.get(key) : undefined;
    if (previous) return res.end(previous);
    const currency = new URL(req.url ?? '/', 'http://x').searchParams.get('currency') ?? '';
    if (!(currency in rates)) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ error: `unknown currency ${currency}` }));
    }
    const body = JSON.stringify({ base: 'EUR', currency, rate: rates[currency] });
    if (key) answered.set(key, body);
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      resolve(state);
    }),
  );
}

/** Self-contained demo: a server, the rates API, the fetcher, and a user who asks for three rates. */
export async function demo(): Promise<Array<{ id: string; status: string; result: string | null; error: string | null }>> {
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-fetcher-demo-'));
  const server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
  const api = await startRatesApi();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const fetcher = await startFetcher({ serverUrl, adminToken: readAdminToken(dataPath), directory: path.join(dataPath, 'fetcher'), timeoutMs: 2000, maxAttempts: 3 });
  const user = await User.register(server.url, 'alice', 'secret');
  const realm = new Realm({ schema: [fetchRequestSchema()], sync: { user, url: `${serverUrl}/~/requests` }, path: path.join(dataPath, 'alice.db') });
  try {
    realm.write(() => {
      for (const currency of ['USD', 'NOK', 'XYZ']) realm.create('FetchRequest', { id: `rate-${currency}`, url: `${api.url}/rates?currency=${currency}` });
    });
    const requests = realm.objects<any>('FetchRequest');
    await new Promise<void>((resolve) => {
      const check = () => {
        if (requests.every((r) => r.status === 'done' || r.status === 'error')) {
          realm.removeListener('change', check);
          resolve();
        }
      };
      realm.addListener('change', check);
      check();
    });
    return requests.map((r) => ({ id: r.id, status: r.status, result: r.result ?? null, error: r.error ?? null }));
  } finally {
    realm.close();
    await fetcher.stop();
    await api.close();
    for (const u of Object.values(User.all)) u.logout();
    await server.stop();
    fs.rmSync(dataPath, { recursive: true, force: true });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  const serverUrl = arg('server');
  if (!serverUrl) {
    demo().then(
      (results) => {
        for (const r of results) console.log(r.id, r.status, r.result ?? r.error);
        process.exit(0);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  } else {
    const num = (n: string) => (arg(n) === undefined ? undefined : Number(arg(n)));
    startFetcher({
      serverUrl,
      adminToken: arg('token') ?? process.env.ADMIN_TOKEN ?? '',
      directory: arg('dir') ?? './fetcher-state',
      path: arg('path'),
      timeoutMs: num('timeout'),
      maxAttempts: num('attempts'),
      concurrency: num('concurrency'),
      leaseMarginMs: num('lease-margin'),
      retry: arg('retry-ms') ? { initialMs: Number(arg('retry-ms')), maxMs: Number(arg('retry-ms')) * 8 } : undefined,
    }).then(
      (fetcher) => {
        console.log('ready');
        const report = setInterval(() => console.log(JSON.stringify(fetcher.stats)), 500);
        const stop = () => {
          clearInterval(report);
          void fetcher.stop().then(() => process.exit(0));
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  }
}

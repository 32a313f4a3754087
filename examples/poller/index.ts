/**
 * Poller example: a product feed (JSON over HTTP, with ETag) mirrored into a realm. Every poll
 * sends If-None-Match; a 304 writes nothing, a new list writes only the products that changed.
 *
 *   node --import tsx examples/poller/index.ts     # demo: own sync server, own feed, a price change
 *
 * In your project import from 'tributary' instead of the source tree.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { User } from '../../src/client';
import { Notifier, type ChangeEvent } from '../../src/notifier';
import { Poller, httpJsonSource } from '../../src/patterns';
import { Server, readAdminToken, silentLogger } from '../../src/server';

export const Product = { name: 'Product', primaryKey: 'sku', properties: { sku: 'string', name: 'string', price: 'double' } };
export type ProductItem = { sku: string; name: string; price: number };

export interface Feed {
  url: string;
  /** Every request, with its time and whether it was answered 304. */
  readonly requests: { at: number; notModified: boolean }[];
  set(products: ProductItem[]): void;
  /** Serve the same products under a new ETag (as a feed that regenerates its file does). */
  touch(): void;
  close(): Promise<void>;
}

/** `GET /products.json` → `{ products: [...] }` with a strong ETag; `If-None-Match` gets a 304. */
export function startFeed(initial: ProductItem[]): Promise<Feed> {
  let products = initial;
  let generation = 0;
  const requests: { at: number; notModified: boolean }[] = [];
  const etag = () => `"${createHash('sha1').update(JSON.stringify(products)).update(String(generation)).digest('hex').slice(0, 16)}"`;
  const server = http.createServer((req, res) => {
    const tag = etag();
    const notModified = req.headers['if-none-match'] === tag;
    requests.push({ at: Date.now(), notModified });
    res.setHeader('etag', tag);
    if (notModified) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ products }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}/products.json`,
        requests,
        set: (p) => (products = p),
        touch: () => generation++,
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      }),
    ),
  );
}

export function productPoller(o: { serverUrl: string; adminUser: User; directory: string; feedUrl: string; intervalMs: number; leaseMs?: number; path?: string }): Poller<ProductItem> {
  return new Poller<ProductItem>({
    serverUrl: o.serverUrl,
    adminUser: o.adminUser,
    directory: o.directory,
    target: 'product-feed',
    path: o.path ?? '/catalog',
    schema: [Product],
    type: 'Product',
    poll: httpJsonSource<ProductItem>(o.feedUrl, (json) => json.products),
    intervalMs: o.intervalMs,
    leaseMs: o.leaseMs,
  });
}

/** Self-contained demo: 5 products, a few polls, one price change; counts what the notifier saw. */
export async function demo(): Promise<{ requests: number; notModified: number; inserted: number; modified: number }> {
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-poller-demo-'));
  const server = new Server({ dataPath, port: 0, logger: silentLogger });
  await server.start();
  const serverUrl = `realm://127.0.0.1:${server.port}`;
  const adminUser = User.adminUser(readAdminToken(dataPath), server.url);
  const feed = await startFeed(['apple', 'pear', 'plum', 'fig', 'kiwi'].map((name, i) => ({ sku: `sku-${i}`, name, price: 1 + i })));
  const notifier = new Notifier({ serverUrl, adminUser, directory: path.join(dataPath, 'notifier') });
  const seen = { inserted: 0, modified: 0 };
  await notifier.addListener('^/catalog$', 'change', (e: ChangeEvent) => {
    seen.inserted += e.changes.Product?.insertions.length ?? 0;
    seen.modified += e.changes.Product?.modifications.length ?? 0;
  });
  const poller = productPoller({ serverUrl, adminUser, directory: path.join(dataPath, 'poller'), feedUrl: feed.url, intervalMs: 150 });
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    await poller.start();
    await until(() => seen.inserted === 5 && poller.stats.notModified >= 2);
    feed.set([...['apple', 'pear', 'plum', 'fig'].map((name, i) => ({ sku: `sku-${i}`, name, price: 1 + i })), { sku: 'sku-4', name: 'kiwi', price: 9.5 }]);
    await until(() => seen.modified === 1 && poller.stats.notModified >= 4);
    return { requests: feed.requests.length, notModified: feed.requests.filter((r) => r.notModified).length, ...seen };
  } finally {
    await poller.stop();
    await notifier.close();
    await feed.close();
    for (const u of Object.values(User.all)) u.logout();
    await server.stop();
    fs.rmSync(dataPath, { recursive: true, force: true });
  }
}

if (require.main === module) {
  demo().then(
    (r) => {
      console.log(`${r.requests} requests (${r.notModified} answered 304); the notifier saw ${r.inserted} products inserted and ${r.modified} modified`);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

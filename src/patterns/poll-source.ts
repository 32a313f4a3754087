/** What a poll returned: the full current list, or "not modified" for a conditional request. */
export type PollResult<Item> = { notModified: true } | { notModified?: false; items: Item[]; etag?: string | null; lastModified?: string | null };

export interface PollContext {
  signal: AbortSignal;
  /** Validators from the last successful poll (stored in the realm, so they survive a restart or takeover). */
  etag: string | null;
  lastModified: string | null;
}

export type PollFunction<Item> = (context: PollContext) => Promise<PollResult<Item>>;

/** A non-2xx response from `httpJsonSource`. */
export class PollHttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
    this.name = 'PollHttpError';
  }
}

/**
 * A JSON feed over HTTP with conditional requests: sends `If-None-Match` / `If-Modified-Since`
 * from the stored validators and treats `304 Not Modified` as "nothing changed".
 *
 * @example
 * const source = httpJsonSource('https://example.com/products.json', (json) => json.products);
 */
export function httpJsonSource<Item>(url: string, items: (json: any) => Item[] = (json) => json as Item[], headers: Record<string, string> = {}): PollFunction<Item> {
  return async ({ signal, etag, lastModified }) => {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (etag) h['if-none-match'] = etag;
    if (lastModified) h['if-modified-since'] = lastModified;
    const res = await fetch(url, { headers: h, signal });
    if (res.status === 304) {
      await res.body?.cancel();
      return { notModified: true };
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new PollHttpError(res.status);
    }
    return { items: items(await res.json()), etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified') };
  };
}

import { Client, type ClientConfig } from 'pg';
import type { ObjectKey, Value } from '../../src/model';
import { valuesEqual } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { decodeCompositeKey, keyText, rowKey, rowValues, type RawRow, type ResolvedTable } from './mapping';
import type { RealmSink } from './realm-sink';
import { toParam } from './types';

/**
 * Generated columns (`GENERATED ALWAYS AS (…) STORED`) are computed by PostgreSQL and not sent by
 * pgoutput before PostgreSQL 18, so a row capture writes arrives without them. Capture notes each
 * row it wrote (or replayed) of a table with generated columns; `settle` reads those rows'
 * generated values and writes the ones that differ into their objects. Capture confirms a
 * transaction to the slot only after the readback of its rows is written and acknowledged, so
 * after a crash the transaction is replayed and its rows are noted again.
 *
 * The values read are the row's current ones, which may be newer than the transaction's; any
 * later change of the row is captured and read back after this, so the object ends with the
 * database's latest value. Rows that are gone are skipped; objects are never created here.
 */
export class GeneratedReadback {
  private pending = new Map<ResolvedTable, Map<string, { key: ObjectKey; path: string }>>();
  private chain: Promise<void> = Promise.resolve();
  private sql: Client | null = null;
  private closed = false;
  /** Generated values written into objects (status). */
  filled = 0;

  constructor(
    private readonly sink: RealmSink,
    private readonly clientConfig: ClientConfig,
    private readonly log: Logger,
  ) {}

  /** Capture wrote (or skipped as already written) a row of `t` whose object lives in `path`. */
  touched(t: ResolvedTable, key: ObjectKey, path: string): void {
    let m = this.pending.get(t);
    if (!m) this.pending.set(t, (m = new Map()));
    m.set(keyText(key), { key, path });
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves when every row noted before the call has its generated values written and uploaded. */
  settle(): Promise<void> {
    const run = this.chain.then(() => this.run());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await this.sql?.end().catch(() => undefined);
    this.sql = null;
  }

  private async run(): Promise<void> {
    if (this.pending.size === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      const paths = new Set<string>();
      for (const [t, rows] of batch) for (const p of await this.readTable(t, [...rows.values()])) paths.add(p);
      for (const p of paths) await this.sink.uploaded(p);
    } catch (e) {
      // Put them back: the next settle retries them (capture's acknowledgement fails and the stream is replayed).
      for (const [t, rows] of batch) for (const [k, v] of rows) (this.pending.get(t) ?? this.pending.set(t, new Map()).get(t)!).set(k, v);
      const sql = this.sql;
      this.sql = null;
      void sql?.end().catch(() => undefined);
      this.log.warn('postgres connector: reading back generated columns failed', { error: String(e) });
      throw e;
    }
  }

  private async connection(): Promise<Client> {
    if (this.sql) return this.sql;
    const sql = new Client({ ...this.clientConfig, application_name: 'tributary_readback' });
    sql.on('error', () => {
      if (this.sql === sql) this.sql = null;
    });
    await sql.connect();
    this.sql = sql;
    return sql;
  }

  /** Reads the generated columns of `rows` and writes what differs; returns the realms written. */
  private async readTable(t: ResolvedTable, rows: { key: ObjectKey; path: string }[]): Promise<string[]> {
    const sql = await this.connection();
    const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';
    const columns = [...t.keyColumns, ...t.generated.map((c) => c.column)].map(quote).join(', ');
    const where = new Map<string, string>(rows.map((r) => [keyText(r.key), r.path]));
    const written = new Set<string>();
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const params: unknown[] = [];
      let text: string;
      if (!t.composite) {
        params.push(chunk.map((r) => toParam(r.key)));
        text = `SELECT ${columns} FROM ${t.qualified} WHERE ${quote(t.keyColumns[0])} = ANY($1)`;
      } else {
        const tuples = chunk.map((r) => {
          const parts = decodeCompositeKey(String(r.key));
          const at = params.length;
          params.push(...parts);
          return `(${parts.map((_, n) => `$${at + n + 1}`).join(', ')})`;
        });
        text = `SELECT ${columns} FROM ${t.qualified} WHERE (${t.keyColumns.map(quote).join(', ')}) IN (${tuples.join(', ')})`;
      }
      const r = (await sql.query({ text, values: params, types: { getTypeParser: () => (v: string) => v } } as never)) as unknown as { rows: RawRow[] };
      const byPath = new Map<string, { key: ObjectKey; values: Record<string, unknown> }[]>();
      for (const row of r.rows) {
        const key = rowKey(t, row);
        const path = key === null ? undefined : where.get(keyText(key));
        if (key === null || path === undefined) continue;
        (byPath.get(path) ?? byPath.set(path, []).get(path)!).push({ key, values: rowValues({ ...t, columns: t.generated, composite: false }, row, `${t.table} generated columns`) });
      }
      for (const [path, list] of byPath) {
        const realm = this.sink.realm(path);
        const fills: { key: ObjectKey; changed: Record<string, unknown> }[] = [];
        for (const { key, values } of list) {
          const obj = this.sink.find(realm, t, key);
          if (!obj) continue;
          const changed = Object.fromEntries(Object.entries(values).filter(([p, v]) => !valuesEqual((obj[p] ?? null) as Value, (v ?? null) as Value)));
          if (Object.keys(changed).length > 0) fills.push({ key, changed });
        }
        if (fills.length === 0) continue;
        realm.write(() => {
          for (const f of fills) if (this.sink.fill(realm, t, f.key, f.changed)) this.filled++;
        });
        written.add(path);
      }
    }
    return [...written];
  }
}

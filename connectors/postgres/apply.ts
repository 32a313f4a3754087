import { Client } from 'pg';
import type { Adapter } from '../../src/adapter';
import type { Logger } from '../../src/server/logger';
import { decodeCompositeKey, type ResolvedMapping, type ResolvedTable } from './mapping';
import { STATE_TYPE } from './position';

/** Where the apply side records, per realm, the last Adapter transaction it committed. */
export const APPLY_POSITION_TABLE = 'tributary_apply_position';

export interface ApplyStatus {
  /** Adapter transactions committed to PostgreSQL. */
  applied: number;
  /** Adapter transactions skipped because PostgreSQL already held them (after a crash). */
  alreadyApplied: number;
  /** Instructions skipped: unmapped types and list instructions (logged as warnings). */
  skippedInstructions: number;
  lastError: string | null;
}

type Instr = { type: string; object_type: string; identity?: unknown; values?: Record<string, unknown> };

const quote = (id: string) => '"' + id.replace(/"/g, '""') + '"';

function toParam(v: unknown): unknown {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) return String(v);
  return v;
}

/**
 * Realm → PostgreSQL: consumes the Adapter stream of the mapped realms and applies INSERT / SET /
 * DELETE as parameterised SQL, one PostgreSQL transaction per Adapter transaction, with the
 * Adapter position stored in the same transaction (exactly once across crashes). The session
 * carries the connector's replication origin so capture skips these writes (no echo).
 */
export class ChangeApply {
  readonly status: ApplyStatus = { applied: 0, alreadyApplied: 0, skippedInstructions: 0, lastError: null };
  private sql: Client | null = null;
  private pending = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;

  constructor(
    private readonly adapter: Adapter,
    private readonly mapping: ResolvedMapping,
    private readonly clientConfig: object,
    private readonly connectorName: string,
    private readonly originName: string,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const sql = new Client(this.clientConfig);
    sql.on('error', (e) => this.log.warn('postgres connector apply: connection error', { error: String(e) }));
    await sql.connect();
    await sql.query(`CREATE TABLE IF NOT EXISTS ${APPLY_POSITION_TABLE} (connector text NOT NULL, realm_path text NOT NULL, txn bigint NOT NULL, PRIMARY KEY (connector, realm_path))`);
    const o = await sql.query('SELECT 1 FROM pg_replication_origin WHERE roname = $1', [this.originName]);
    if (o.rows.length === 0) {
      try {
        await sql.query('SELECT pg_replication_origin_create($1)', [this.originName]);
      } catch (e) {
        if ((e as { code?: string }).code !== '23505') throw e; // created concurrently
      }
    }
    await sql.query('SELECT pg_replication_origin_session_setup($1)', [this.originName]);
    this.sql = sql;
    this.started = true;
    for (const p of this.pending) this.schedule(p);
  }

  /** The Adapter's change callback: drains `path` (serialised with every other path). */
  schedule(path: string): void {
    if (this.stopped) return;
    this.pending.add(path);
    if (!this.started) return;
    this.chain = this.chain.then(() => this.drain(path)).catch((e) => {
      this.status.lastError = String((e as Error).message ?? e);
      this.log.error('postgres connector apply: failed; the transaction stays in the Adapter log', { path, error: String(e) });
    });
  }

  /** Resolves when everything scheduled so far is applied (or failed). */
  drained(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain.catch(() => undefined);
    await this.sql?.end().catch(() => undefined);
    this.sql = null;
  }

  private async drain(path: string): Promise<void> {
    this.pending.delete(path);
    let tx;
    while (!this.stopped && this.sql && (tx = this.adapter.current(path))) {
      const number = tx.transaction ?? 0;
      const sql = this.sql;
      await sql.query('BEGIN');
      try {
        const r = await sql.query(`SELECT txn FROM ${APPLY_POSITION_TABLE} WHERE connector = $1 AND realm_path = $2 FOR UPDATE`, [this.connectorName, path]);
        if (r.rows.length > 0 && Number(r.rows[0].txn) >= number) {
          await sql.query('ROLLBACK');
          this.status.alreadyApplied++;
        } else {
          for (const i of tx as unknown as Instr[]) await this.applyOne(sql, path, i);
          await sql.query(
            `INSERT INTO ${APPLY_POSITION_TABLE} (connector, realm_path, txn) VALUES ($1, $2, $3) ON CONFLICT (connector, realm_path) DO UPDATE SET txn = EXCLUDED.txn`,
            [this.connectorName, path, number],
          );
          await sql.query('COMMIT');
          this.status.applied++;
        }
      } catch (e) {
        await sql.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      if (this.stopped) return;
      this.adapter.advance(path);
    }
  }

  private skip(path: string, i: Instr, why: string): void {
    this.status.skippedInstructions++;
    this.log.warn(`postgres connector apply: skipped ${i.type} on ${i.object_type}: ${why}`, { path });
  }

  private keyWhere(t: ResolvedTable, identity: unknown, from: number): { clause: string; params: unknown[] } {
    const parts = t.composite ? decodeCompositeKey(String(identity)) : [identity];
    return { clause: t.keyColumns.map((c, n) => `${quote(c)} = $${from + n}`).join(' AND '), params: parts.map(toParam) };
  }

  /** Realm property values → column name → parameter (list and composite-key properties left out). */
  private columnValues(path: string, t: ResolvedTable, i: Instr): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [prop, v] of Object.entries(i.values ?? {})) {
      if (t.composite && prop === t.keyProperty) continue;
      const col = t.columns.find((c) => c.property === prop);
      if (col) {
        if (col.type.list) continue;
        out.set(col.column, toParam(v));
        continue;
      }
      const link = t.links.find((l) => l.property === prop);
      if (link) {
        const target = this.mapping.tables.get(link.targetTable)!;
        if (target.composite) {
          this.skip(path, i, `link ${prop} to a composite-key table is not applied`);
          continue;
        }
        out.set(link.column, toParam(v));
        continue;
      }
      this.skip(path, i, `property ${prop} has no column`);
    }
    return out;
  }

  private async applyOne(sql: Client, path: string, i: Instr): Promise<void> {
    if (i.object_type === STATE_TYPE) return; // the connector's own bookkeeping type
    const t = this.mapping.byType.get(i.object_type);
    if (!t) {
      if (i.type !== 'ADD_TYPE' && i.type !== 'ADD_PROPERTIES') this.skip(path, i, 'the type is not mapped to a table');
      return;
    }
    switch (i.type) {
      case 'ADD_TYPE':
      case 'ADD_PROPERTIES':
        return;
      case 'INSERT': {
        const values = this.columnValues(path, t, i);
        if (t.composite) decodeCompositeKey(String(i.identity)).forEach((p, n) => values.set(t.keyColumns[n], p));
        else values.set(t.keyColumns[0], toParam(i.identity));
        const cols = [...values.keys()];
        const nonKey = cols.filter((c) => !t.keyColumns.includes(c));
        const update = nonKey.length ? `DO UPDATE SET ${nonKey.map((c) => `${quote(c)} = EXCLUDED.${quote(c)}`).join(', ')}` : 'DO NOTHING';
        await sql.query(
          `INSERT INTO ${t.qualified} (${cols.map(quote).join(', ')}) VALUES (${cols.map((_, n) => `$${n + 1}`).join(', ')}) ON CONFLICT (${t.keyColumns.map(quote).join(', ')}) ${update}`,
          [...values.values()],
        );
        return;
      }
      case 'SET': {
        const values = this.columnValues(path, t, i);
        for (const k of t.keyColumns) values.delete(k);
        if (values.size === 0) return;
        const cols = [...values.keys()];
        const where = this.keyWhere(t, i.identity, cols.length + 1);
        await sql.query(`UPDATE ${t.qualified} SET ${cols.map((c, n) => `${quote(c)} = $${n + 1}`).join(', ')} WHERE ${where.clause}`, [...values.values(), ...where.params]);
        return;
      }
      case 'DELETE': {
        const where = this.keyWhere(t, i.identity, 1);
        await sql.query(`DELETE FROM ${t.qualified} WHERE ${where.clause}`, where.params);
        return;
      }
      default:
        this.skip(path, i, 'list, counter and clear instructions are not applied yet (list ↔ side table is future work)');
    }
  }
}

import sql, { type ConnectionPool, type ISqlType, type ISqlTypeFactory, type Transaction } from 'mssql';

/**
 * A thin layer over mssql: parameterised statements (always `request.query`, i.e. `sp_executesql`)
 * on a pool or inside a transaction, rows as plain objects.
 */

export type Row = Record<string, unknown>;

/** A parameter: a value (mssql infers the type) or `{ type, value }`. */
export type Param = { type: ISqlType | ISqlTypeFactory; value: unknown } | string | number | boolean | Date | Buffer | null;

export interface Sql {
  query(text: string, params?: Record<string, Param>): Promise<{ rows: Row[]; rowsAffected: number }>;
}

function bind(req: sql.Request, params: Record<string, Param>): void {
  for (const [name, p] of Object.entries(params)) {
    if (p !== null && typeof p === 'object' && 'type' in p && !(p instanceof Date) && !Buffer.isBuffer(p)) req.input(name, p.type as ISqlType, p.value);
    else if (typeof p === 'number' && Number.isInteger(p) && Math.abs(p) > 2 ** 31 - 1) req.input(name, sql.BigInt, p);
    else req.input(name, p);
  }
}

/** Statements on the pool (each on any of its connections) or on a transaction's connection. */
export function sqlOn(target: ConnectionPool | Transaction): Sql {
  return {
    async query(text, params = {}) {
      const req = new sql.Request(target as ConnectionPool);
      bind(req, params);
      const r = await req.query(text);
      return { rows: (r.recordset ?? []) as Row[], rowsAffected: r.rowsAffected.reduce((a, b) => a + b, 0) };
    },
  };
}

export type Isolation = 'READ_COMMITTED' | 'SNAPSHOT';

/** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
export async function inTransaction<R>(pool: ConnectionPool, isolation: Isolation, fn: (q: Sql) => Promise<R>): Promise<R> {
  const tx = new sql.Transaction(pool);
  let aborted = false;
  tx.on('rollback', (a: boolean) => (aborted = aborted || a));
  await tx.begin(isolation === 'SNAPSHOT' ? sql.ISOLATION_LEVEL.SNAPSHOT : sql.ISOLATION_LEVEL.READ_COMMITTED);
  try {
    const r = await fn(sqlOn(tx));
    await tx.commit();
    return r;
  } catch (e) {
    if (!aborted) await tx.rollback().catch(() => undefined);
    throw e;
  }
}

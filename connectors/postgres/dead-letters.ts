import type { Client } from 'pg';
import type { AdapterInstruction } from '../../src/adapter/instructions';

/**
 * Dead letters: realm transactions the apply side took out of its stream because the database
 * refused them or they failed permanently (docs/connectors/postgres.md, "Dead letters"). Their
 * objects were reset to the database's rows, so the record is the only place the client's values
 * survive: it keeps the realm path, the Adapter transaction number, the code and SQLSTATE, the
 * error, the objects touched and the transaction's instructions, until the user clears it.
 *
 * The record is written in the same database transaction that moves the apply position past the
 * transaction, so a crash neither loses nor doubles one. The store is an interface so another
 * database keeps its dead letters its own way.
 */

export type DeadLetterCode = 'CONNECTOR_APPLY_REFUSED' | 'CONNECTOR_APPLY_FAILED';

export interface DeadLetter {
  realmPath: string;
  /** The Adapter transaction number (`AdapterTransaction.transaction`). */
  txn: number;
  code: DeadLetterCode;
  /** The database's error code (SQLSTATE), or null for an error without one. */
  sqlstate: string | null;
  error: string;
  /** The objects the transaction touched, as `{ type, key }` (keys in JSON form: numbers, strings). */
  objects: { type: string; key: unknown }[];
  /** The transaction's instructions in JSON form: dates as ISO text, binary as `{ base64 }`, decimals, UUIDs and ObjectIds as text. */
  instructions: unknown[];
}

export interface DeadLetterRecord extends DeadLetter {
  id: number;
  /** ISO time the record was written. */
  createdAt: string;
}

/** Where a connector keeps its dead letters. `tx` is the caller's open transaction (or connection). */
export interface DeadLetterStore<Tx> {
  /** Creates the storage when missing. */
  ensure(tx: Tx): Promise<void>;
  /** Inside the caller's transaction; returns the record's id. */
  record(tx: Tx, letter: DeadLetter): Promise<number>;
  /** Oldest first; at most `limit`. Empty when the storage does not exist yet. */
  list(tx: Tx, limit?: number): Promise<DeadLetterRecord[]>;
  count(tx: Tx): Promise<number>;
  /** Deletes the given records (all of this connector's without `ids`); returns how many. */
  clear(tx: Tx, ids?: number[]): Promise<number>;
}

/** The table the PostgreSQL connector keeps its dead letters in (next to `tributary_apply_position`). */
export const DEAD_LETTER_TABLE = 'tributary_dead_letter';

type Sql = Pick<Client, 'query'>;

/** {@link DeadLetterStore} in a PostgreSQL table, one row per dead letter, keyed by connector name. */
export class PgDeadLetters implements DeadLetterStore<Sql> {
  constructor(private readonly connector: string) {}

  async ensure(sql: Sql): Promise<void> {
    await sql.query(
      `CREATE TABLE IF NOT EXISTS ${DEAD_LETTER_TABLE} (
         id bigserial PRIMARY KEY,
         connector text NOT NULL,
         realm_path text NOT NULL,
         txn bigint NOT NULL,
         code text NOT NULL,
         sqlstate text,
         error text NOT NULL,
         objects jsonb NOT NULL,
         instructions jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async record(sql: Sql, l: DeadLetter): Promise<number> {
    const r = await sql.query(
      `INSERT INTO ${DEAD_LETTER_TABLE} (connector, realm_path, txn, code, sqlstate, error, objects, instructions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text`,
      [this.connector, l.realmPath, l.txn, l.code, l.sqlstate, l.error, JSON.stringify(l.objects), JSON.stringify(l.instructions)],
    );
    return Number(r.rows[0].id);
  }

  private async exists(sql: Sql): Promise<boolean> {
    return (await sql.query('SELECT to_regclass($1) IS NOT NULL AS exists', [DEAD_LETTER_TABLE])).rows[0].exists as boolean;
  }

  async list(sql: Sql, limit = 1000): Promise<DeadLetterRecord[]> {
    if (!(await this.exists(sql))) return [];
    const r = await sql.query(
      `SELECT id::text, realm_path, txn::text, code, sqlstate, error, objects, instructions, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
         FROM ${DEAD_LETTER_TABLE} WHERE connector = $1 ORDER BY id LIMIT $2`,
      [this.connector, limit],
    );
    return r.rows.map((x) => ({
      id: Number(x.id),
      realmPath: x.realm_path,
      txn: Number(x.txn),
      code: x.code as DeadLetterCode,
      sqlstate: x.sqlstate,
      error: x.error,
      objects: x.objects,
      instructions: x.instructions,
      createdAt: x.created_at,
    }));
  }

  async count(sql: Sql): Promise<number> {
    if (!(await this.exists(sql))) return 0;
    return Number((await sql.query(`SELECT count(*)::int AS n FROM ${DEAD_LETTER_TABLE} WHERE connector = $1`, [this.connector])).rows[0].n);
  }

  async clear(sql: Sql, ids?: number[]): Promise<number> {
    if (!(await this.exists(sql))) return 0;
    const r = ids
      ? await sql.query(`DELETE FROM ${DEAD_LETTER_TABLE} WHERE connector = $1 AND id = ANY($2::bigint[])`, [this.connector, ids])
      : await sql.query(`DELETE FROM ${DEAD_LETTER_TABLE} WHERE connector = $1`, [this.connector]);
    return r.rowCount ?? 0;
  }
}

/** A realm value or instruction in JSON form (what a dead letter stores). */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof ArrayBuffer) return { base64: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v !== 'object') return v;
  if (depth > 8) return String(v);
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return String(v); // Decimal128, UUID, ObjectId
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x, depth + 1)]));
}

/** A transaction's instructions in JSON form. */
export function instructionsJson(instructions: readonly AdapterInstruction[]): unknown[] {
  return instructions.map((i) => jsonSafe(i));
}

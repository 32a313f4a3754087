import type { Client } from 'pg';
import type { DeadLetter, DeadLetterCode, DeadLetterRecord, DeadLetterStore } from '../kit/dead-letters';

/**
 * The PostgreSQL connector's dead letters (the kit's shape and store interface,
 * connectors/kit/dead-letters.ts; docs/connectors/postgres.md, "Dead letters"): one row per dead
 * letter in a table next to `tributary_apply_position`, written in the apply transaction.
 */

export type { DeadLetter, DeadLetterCode, DeadLetterRecord, DeadLetterStore } from '../kit/dead-letters';
export { instructionsJson, jsonSafe } from '../kit/dead-letters';

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

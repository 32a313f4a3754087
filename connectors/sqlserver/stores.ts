import sql from 'mssql';
import type { DeadLetter, DeadLetterCode, DeadLetterRecord, DeadLetterStore } from '../kit/dead-letters';
import type { ApplyPositionStore } from '../kit/reject';
import type { Sql } from './db';
import { APPLY_POSITION_TABLE, CAPTURE_POSITION_TABLE, COUNTER_TABLE, createBookkeeping, DEAD_LETTER_TABLE, mergeApplyPosition, mergeCapturePosition, nstring, qualify } from './tsql';

/**
 * What the connector keeps in SQL Server, next to the mapped tables: the apply position per realm
 * (written in the apply transaction: exactly once), the capture position (the Change Tracking
 * version everything before which is in the realms and acknowledged), the counters' applied totals
 * and the dead letters.
 */

export async function ensureBookkeeping(db: Sql, schema: string): Promise<void> {
  for (const s of createBookkeeping(schema)) await db.query(s);
}

const exists = async (db: Sql, schema: string, table: string) => (await db.query(`SELECT OBJECT_ID(${nstring(`${schema}.${table}`)}) AS id`)).rows[0]?.id != null;

export function applyPositions(schema: string, connector: string): ApplyPositionStore<Sql> {
  return {
    ensure: (db) => ensureBookkeeping(db, schema),
    async read(db, path) {
      const r = await db.query(`SELECT txn FROM ${qualify(schema, APPLY_POSITION_TABLE)} WITH (UPDLOCK, HOLDLOCK) WHERE connector = @connector AND realm_path = @path`, { connector, path });
      return r.rows.length > 0 ? Number(r.rows[0]!.txn) : 0;
    },
    async write(db, path, txn) {
      await db.query(mergeApplyPosition(schema), { connector, path, txn: { type: sql.BigInt, value: txn } });
    },
  };
}

export async function readCapturePosition(db: Sql, schema: string, connector: string): Promise<{ version: bigint; reloads: number } | null> {
  if (!(await exists(db, schema, CAPTURE_POSITION_TABLE))) return null;
  const r = await db.query(`SELECT version, reloads FROM ${qualify(schema, CAPTURE_POSITION_TABLE)} WHERE connector = @connector`, { connector });
  return r.rows[0] ? { version: BigInt(r.rows[0].version as string), reloads: Number(r.rows[0].reloads) } : null;
}

export async function writeCapturePosition(db: Sql, schema: string, connector: string, version: bigint, reloads: number): Promise<void> {
  await db.query(mergeCapturePosition(schema), { connector, version: { type: sql.BigInt, value: version.toString() }, reloads: { type: sql.BigInt, value: reloads } });
}

/** Deletes the connector's positions and counter totals (reset); returns how many apply positions went. */
export async function dropConnectorState(db: Sql, schema: string, connector: string): Promise<{ applyPositionsDeleted: number; capturePositionDeleted: boolean }> {
  let applyPositionsDeleted = 0;
  let capturePositionDeleted = false;
  if (await exists(db, schema, APPLY_POSITION_TABLE)) applyPositionsDeleted = (await db.query(`DELETE FROM ${qualify(schema, APPLY_POSITION_TABLE)} WHERE connector = @connector`, { connector })).rowsAffected;
  if (await exists(db, schema, CAPTURE_POSITION_TABLE)) capturePositionDeleted = (await db.query(`DELETE FROM ${qualify(schema, CAPTURE_POSITION_TABLE)} WHERE connector = @connector`, { connector })).rowsAffected > 0;
  if (await exists(db, schema, COUNTER_TABLE)) await db.query(`DELETE FROM ${qualify(schema, COUNTER_TABLE)} WHERE connector = @connector`, { connector });
  return { applyPositionsDeleted, capturePositionDeleted };
}

/** The apply positions of a connector (status). */
export async function listApplyPositions(db: Sql, schema: string, connector: string): Promise<{ realmPath: string; txn: number }[]> {
  if (!(await exists(db, schema, APPLY_POSITION_TABLE))) return [];
  const r = await db.query(`SELECT realm_path, txn FROM ${qualify(schema, APPLY_POSITION_TABLE)} WHERE connector = @connector ORDER BY realm_path`, { connector });
  return r.rows.map((x) => ({ realmPath: String(x.realm_path), txn: Number(x.txn) }));
}

/** The kit's {@link DeadLetterStore} in `tributary_dead_letter`. */
export class SqlServerDeadLetters implements DeadLetterStore<Sql> {
  constructor(
    private readonly schema: string,
    private readonly connector: string,
  ) {}

  private get table(): string {
    return qualify(this.schema, DEAD_LETTER_TABLE);
  }

  ensure(db: Sql): Promise<void> {
    return ensureBookkeeping(db, this.schema);
  }

  async record(db: Sql, l: DeadLetter): Promise<number> {
    const r = await db.query(
      `INSERT INTO ${this.table} (connector, realm_path, txn, code, error_number, error, objects, instructions) OUTPUT INSERTED.id AS id VALUES (@connector, @path, @txn, @code, @number, @error, @objects, @instructions)`,
      { connector: this.connector, path: l.realmPath, txn: { type: sql.BigInt, value: l.txn }, code: l.code, number: l.sqlstate, error: { type: sql.NVarChar(sql.MAX), value: l.error }, objects: { type: sql.NVarChar(sql.MAX), value: JSON.stringify(l.objects) }, instructions: { type: sql.NVarChar(sql.MAX), value: JSON.stringify(l.instructions) } },
    );
    return Number(r.rows[0]!.id);
  }

  async list(db: Sql, limit = 1000): Promise<DeadLetterRecord[]> {
    if (!(await exists(db, this.schema, DEAD_LETTER_TABLE))) return [];
    const r = await db.query(`SELECT TOP (${Math.max(1, Math.floor(limit))}) id, realm_path, txn, code, error_number, error, objects, instructions, created_at FROM ${this.table} WHERE connector = @connector ORDER BY id`, { connector: this.connector });
    return r.rows.map((x) => ({
      id: Number(x.id),
      realmPath: String(x.realm_path),
      txn: Number(x.txn),
      code: x.code as DeadLetterCode,
      sqlstate: (x.error_number as string | null) ?? null,
      error: String(x.error),
      objects: JSON.parse(String(x.objects)),
      instructions: JSON.parse(String(x.instructions)),
      createdAt: (x.created_at as Date).toISOString(),
    }));
  }

  async count(db: Sql): Promise<number> {
    if (!(await exists(db, this.schema, DEAD_LETTER_TABLE))) return 0;
    return Number((await db.query(`SELECT COUNT(*) AS n FROM ${this.table} WHERE connector = @connector`, { connector: this.connector })).rows[0]!.n);
  }

  async clear(db: Sql, ids?: number[]): Promise<number> {
    if (!(await exists(db, this.schema, DEAD_LETTER_TABLE))) return 0;
    if (!ids) return (await db.query(`DELETE FROM ${this.table} WHERE connector = @connector`, { connector: this.connector })).rowsAffected;
    let n = 0;
    for (const id of ids) n += (await db.query(`DELETE FROM ${this.table} WHERE connector = @connector AND id = @id`, { connector: this.connector, id: { type: sql.BigInt, value: id } })).rowsAffected;
    return n;
  }
}

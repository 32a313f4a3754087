import type { AdapterInstruction } from '../../src/adapter/instructions';

/**
 * Dead letters: realm transactions the apply loop took out of its stream because the database
 * refused them or they failed permanently. Their objects were reset to the database's rows, so the
 * record is the only place the client's values survive: it keeps the realm path, the Adapter
 * transaction number, the code and the driver's error code, the error, the objects touched and the
 * transaction's instructions, until the user clears it (`tributary connector <type>
 * clear-dead-letters`).
 *
 * The record is written in the same database transaction that moves the apply position past the
 * transaction, so a crash neither loses nor doubles one. Each connector keeps them its own way (a
 * PostgreSQL table, a MongoDB collection) behind {@link DeadLetterStore}.
 */

export type DeadLetterCode = 'CONNECTOR_APPLY_REFUSED' | 'CONNECTOR_APPLY_FAILED';

export interface DeadLetter {
  realmPath: string;
  /** The Adapter transaction number (`AdapterTransaction.transaction`). */
  txn: number;
  code: DeadLetterCode;
  /** The database's error code (PostgreSQL: the SQLSTATE), or null for an error without one. The field keeps its first connector's name. */
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

/** Where a connector keeps its dead letters. `tx` is the caller's open transaction (or connection / session). */
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

/** One line per dead letter for a status printout (`#3 /shop txn 12 CONNECTOR_APPLY_REFUSED [23505] duplicate key…`). */
export function formatDeadLetter(l: DeadLetterRecord): string {
  return `#${l.id} ${l.realmPath} txn ${l.txn} ${l.code}${l.sqlstate ? ` [${l.sqlstate}]` : ''} ${l.error.split('\n')[0]}`;
}

import type { AdapterTransaction } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import type { Realm } from '../../src/realm';
import type { Logger } from '../../src/shared/logger';
import { instructionsJson, jsonSafe, type DeadLetterCode, type DeadLetterStore } from './dead-letters';
import { errorText } from './errors';
import type { ApplyStatus } from './status';

/**
 * What apply does with a realm transaction that cannot be written: it is rejected — its objects
 * are reset to the database's rows (or deleted where there is no row), a dead letter keeps the
 * client's instructions, and the apply position moves past it in the same database transaction —
 * so the realm's later transactions keep flowing.
 */

/** Where a connector keeps, per realm, the number of the last Adapter transaction it applied. */
export interface ApplyPositionStore<Tx> {
  /** Creates the storage when missing. */
  ensure(tx: Tx): Promise<void>;
  /** Inside the apply transaction, locking the realm's entry against a concurrent apply (0: none). */
  read(tx: Tx, path: string): Promise<number>;
  write(tx: Tx, path: string, txn: number): Promise<void>;
}

/**
 * The transactions of a batch the database does not hold yet: after `stored`, and — with
 * `initialLoad: 'none'` and nothing stored — not the realm's state as the connector first
 * downloaded it (`origin: 'snapshot'`), which that mode does not copy out.
 */
export function freshTransactions(txs: AdapterTransaction[], stored: number, initialLoad: string): AdapterTransaction[] {
  return txs.filter((tx) => (tx.transaction ?? 0) > stored && !(stored === 0 && tx.origin === 'snapshot' && initialLoad === 'none'));
}

export interface RejectHost<T extends { type: string }, Tx, Row> {
  /** Runs `fn` in one database transaction: committed when it returns, rolled back when it throws. */
  transaction<R>(fn: (tx: Tx) => Promise<R>): Promise<R>;
  positions: ApplyPositionStore<Tx>;
  deadLetters: DeadLetterStore<Tx>;
  /** The objects the realm transaction touched. */
  touched(path: string, tx: AdapterTransaction): { table: T; key: ObjectKey }[];
  readRow(tx: Tx, t: T, key: ObjectKey): Promise<Row | null>;
  realm(path: string): Realm;
  /** Inside the realm write: the object becomes the row (with its lists), or is deleted when `row` is null. */
  resetObject(realm: Realm, t: T, key: ObjectKey, row: Row | null): void;
  driverCode(e: unknown): string | null;
  status: ApplyStatus;
  log: Logger;
  /** `postgres connector`, `PostgreSQL`. */
  label: string;
  database: string;
}

/**
 * Rejects one realm transaction (`kind` refused or failed): resets its objects to the database's
 * rows, records the dead letter and stores the position, in one database transaction. A reset that
 * fails for one object (a row whose value the realm cannot hold) is noted in the dead letter
 * instead of failing the rejection. A transaction the stored position already covers is left alone.
 */
export async function rejectTransaction<T extends { type: string }, Tx, Row>(h: RejectHost<T, Tx, Row>, path: string, tx: AdapterTransaction, error: unknown, kind: 'refused' | 'failed'): Promise<void> {
  const through = tx.transaction ?? 0;
  const sqlstate = h.driverCode(error);
  const code: DeadLetterCode = kind === 'refused' ? 'CONNECTOR_APPLY_REFUSED' : 'CONNECTOR_APPLY_FAILED';
  const objects = h.touched(path, tx);
  const id = await h.transaction(async (db) => {
    if ((await h.positions.read(db, path)) >= through) return null;
    const rows: { table: T; key: ObjectKey; row: Row | null }[] = [];
    for (const o of objects) rows.push({ ...o, row: await h.readRow(db, o.table, o.key) });
    const resetErrors: string[] = [];
    const realm = h.realm(path);
    realm.write(() => {
      for (const { table, key, row } of rows) {
        try {
          h.resetObject(realm, table, key, row);
        } catch (e) {
          resetErrors.push(`${table.type} ${String(key)}: ${errorText(e)}`);
        }
      }
    });
    const message = errorText(error) + (resetErrors.length > 0 ? ` (objects not reset: ${resetErrors.join('; ')})` : '');
    const letter = await h.deadLetters.record(db, {
      realmPath: path,
      txn: through,
      code,
      sqlstate,
      error: message,
      objects: objects.map((o) => ({ type: o.table.type, key: jsonSafe(o.key) })),
      instructions: instructionsJson(tx),
    });
    await h.positions.write(db, path, through);
    return letter;
  });
  if (id === null) return;
  if (kind === 'refused') h.status.rejected++;
  else h.status.failed++;
  h.status.deadLetters++;
  h.status.lastError = `${errorText(error)}${sqlstate ? ` [${sqlstate}]` : ''}`;
  const fields = { code, path, transaction: through, sqlstate, deadLetter: id, error: errorText(error) };
  if (kind === 'refused') h.log.warn(`${h.label} apply: ${h.database} refused a realm transaction; its objects are reset to the database rows and it is kept as a dead letter`, fields);
  else h.log.error(`${h.label} apply: a realm transaction failed permanently; its objects are reset to the database rows and it is kept as a dead letter`, fields);
}

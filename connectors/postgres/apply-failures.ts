import type { Client } from 'pg';
import type { AdapterTransaction } from '../../src/adapter';
import type { ObjectKey } from '../../src/model';
import type { Logger } from '../../src/shared/logger';
import { collectTouched } from './apply-collect';
import type { RowWriter, Touched } from './apply-rows';
import { instructionsJson, jsonSafe, type DeadLetterCode, type DeadLetterStore } from './dead-letters';
import { connectorError, type ApplyFailureKind } from './errors';
import type { RawRow, ResolvedMapping } from './mapping';
import type { RealmSink } from './realm-sink';
import type { RealmRouter } from './router';
import { TributaryError } from '../../src/errors';

/**
 * What apply does with a realm transaction that cannot be written (docs: "Realm → database",
 * Failures): it is rejected — its objects are reset to the database's rows (or deleted where there
 * is no row), a dead letter keeps the client's instructions, and the apply position moves past it
 * in the same database transaction — so the realm's later transactions keep flowing.
 */

/** The counters the rejections update (ApplyStatus). */
export interface RejectCounters {
  rejected: number;
  failed: number;
  deadLetters: number;
  lastError: string | null;
}

export interface RejectHost {
  mapping: ResolvedMapping;
  sink: RealmSink;
  router: RealmRouter;
  rows: RowWriter;
  deadLetters: DeadLetterStore<Client>;
  status: RejectCounters;
  log: Logger;
  storedPosition(sql: Client, path: string): Promise<number>;
  storePosition(sql: Client, path: string, txn: number): Promise<void>;
}

/** The driver's code of an error (a SQLSTATE), following coded wrappers to their cause. */
export function sqlstateOf(e: unknown, depth = 0): string | null {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  const cause = (e as { cause?: unknown })?.cause;
  return depth < 4 && cause ? sqlstateOf(cause, depth + 1) : null;
}

export function errorText(e: unknown): string {
  return String((e as Error)?.message ?? e);
}

/** The coded error that stops the connector when the database is not set up to take the writes. */
export function configurationError(path: string, table: string | null, e: unknown): TributaryError {
  if (e instanceof TributaryError && e.code === 'CONNECTOR_APPLY_CONFIGURATION') return e;
  const state = sqlstateOf(e);
  return connectorError(
    'CONNECTOR_APPLY_CONFIGURATION',
    `PostgreSQL cannot take the realm transactions of ${path}${table ? ` (writing table ${table})` : ''}: ${errorText(e)}${state ? ` [${state}]` : ''}; the connector stopped and keeps them for its next start — fix the database (privileges, tables, columns) or the mapping, then restart`,
    e,
  );
}

/**
 * Rejects one realm transaction (`kind` refused or failed): resets its objects to the database's
 * rows, records the dead letter and stores the position, in one PostgreSQL transaction. A reset
 * that fails for one object (a row whose value the realm cannot hold) is noted in the dead letter
 * instead of failing the rejection. Returns the transaction number.
 */
export async function rejectTransaction(h: RejectHost, sql: Client, path: string, tx: AdapterTransaction, error: unknown, kind: Extract<ApplyFailureKind, 'refused' | 'failed'>): Promise<number> {
  const through = tx.transaction ?? 0;
  const sqlstate = sqlstateOf(error);
  const code: DeadLetterCode = kind === 'refused' ? 'CONNECTOR_APPLY_REFUSED' : 'CONNECTOR_APPLY_FAILED';
  const c = collectTouched(h.mapping, path, [tx], () => undefined);
  await sql.query('BEGIN');
  let id: number;
  try {
    if ((await h.storedPosition(sql, path)) >= through) {
      await sql.query('ROLLBACK');
      return through;
    }
    const rows: { o: Touched; row: RawRow | null }[] = [];
    for (const o of c.objects.values()) rows.push({ o, row: await h.rows.readRow(sql, o.table, o.key) });
    const resetErrors: string[] = [];
    const realm = h.sink.realm(path);
    realm.write(() => {
      for (const { o, row } of rows) {
        try {
          if (row) {
            h.sink.upsert(realm, o.table, row);
            h.router.lists.rebuild(realm, o.table, o.key);
          } else h.sink.remove(realm, o.table, o.key);
        } catch (e) {
          resetErrors.push(`${o.table.type} ${String(o.key)}: ${errorText(e)}`);
        }
      }
    });
    const message = errorText(error) + (resetErrors.length > 0 ? ` (objects not reset: ${resetErrors.join('; ')})` : '');
    id = await h.deadLetters.record(sql, {
      realmPath: path,
      txn: through,
      code,
      sqlstate,
      error: message,
      objects: [...c.objects.values()].map((o) => ({ type: o.table.type, key: jsonSafe(o.key as ObjectKey) })),
      instructions: instructionsJson(tx),
    });
    await h.storePosition(sql, path, through);
    await sql.query('COMMIT');
  } catch (e) {
    await sql.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  if (kind === 'refused') h.status.rejected++;
  else h.status.failed++;
  h.status.deadLetters++;
  h.status.lastError = `${errorText(error)}${sqlstate ? ` [${sqlstate}]` : ''}`;
  const fields = { code, path, transaction: through, sqlstate, deadLetter: id, error: errorText(error) };
  if (kind === 'refused') h.log.warn('postgres connector apply: PostgreSQL refused a realm transaction; its objects are reset to the database rows and it is kept as a dead letter', fields);
  else h.log.error('postgres connector apply: a realm transaction failed permanently; its objects are reset to the database rows and it is kept as a dead letter', fields);
  return through;
}

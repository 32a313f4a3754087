import { TributaryError, type ErrorCode } from '../../src/errors';

/**
 * Failures of the PostgreSQL connector, classified by SQLSTATE class rather than message text
 * (conventions §10, after Debezium's PostgresErrorHandler): transient ones are retried with
 * back-off, permanent ones stop the connector with a message saying what to change.
 */
export function connectorError(code: ErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * SQLSTATEs a retry can fix: the connection went away (class 08), the server is short of
 * something (53: connections, memory, disk, replication slots) or restarting (57P01 admin
 * shutdown — also what `pg_terminate_backend` sends —, 57P02 crash, 57P03 starting up, 57P05 idle
 * session timeout), serialization failures and deadlocks (40001, 40P01), a slot or lock still
 * held by a walsender that is going away (55006, 55P03), I/O trouble (58000, 58030).
 */
const TRANSIENT_CLASSES = new Set(['08', '53']);
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '57P05', '40001', '40P01', '55006', '55P03', '58000', '58030']);
/**
 * Inside those classes, codes a retry cannot fix: 08P01 protocol violation (a bug or an
 * incompatible server). Everything else is permanent too — 28 (authentication), 3D (no such
 * database), 42 (a publication, slot or table does not exist; no privilege), 55000 (slot
 * invalidated, wal_level), 57P04 (database dropped), 58P01 (requested WAL segment already
 * removed), XX (internal errors).
 */
const PERMANENT_CODES = new Set(['08P01']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND']);

export type Classification = 'transient' | 'permanent';

/**
 * Transient (retry with back-off) or permanent (stop and report), from the driver's code: a
 * SQLSTATE, a Node network error code, or a coded TributaryError's action. node-postgres reports
 * a socket that closed under it without a code ("Connection terminated unexpectedly"), the one
 * case decided by message; an AggregateError (several addresses tried) is transient when one of
 * its errors is.
 */
export function classify(e: unknown, depth = 0): Classification {
  if (e instanceof TributaryError) return e.action === 'retry' ? 'transient' : 'permanent';
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'transient';
    if (/^[0-9A-Z]{5}$/.test(code)) return !PERMANENT_CODES.has(code) && (TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2))) ? 'transient' : 'permanent';
  }
  if (depth < 4) {
    if (e instanceof AggregateError && e.errors.some((x) => classify(x, depth + 1) === 'transient')) return 'transient';
    const cause = (e as { cause?: unknown })?.cause;
    if (cause !== undefined && cause !== null) return classify(cause, depth + 1);
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/Connection terminated|connection closed|socket hang up/i.test(msg)) return 'transient';
  return 'permanent';
}

/** Wraps a driver error in the coded family, keeping the SQLSTATE in the message. */
export function fromDriverError(e: unknown, doing: string): TributaryError {
  if (e instanceof TributaryError) return e;
  const code = (e as { code?: unknown })?.code;
  const msg = e instanceof Error ? e.message : String(e);
  const state = typeof code === 'string' ? ` [${code}]` : '';
  return connectorError(classify(e) === 'transient' ? 'CONNECTOR_SOURCE_UNAVAILABLE' : 'CONNECTOR_SOURCE_FAILED', `${doing}: ${msg}${state}`, e);
}

/**
 * What a failed realm → database write is, which decides what apply does with it (docs: "Realm →
 * database", Failures). Database-neutral: each connector classifies its own driver's codes.
 *
 * - `transient`: the database or the link to it is unwell (connection, shutdown, resources,
 *   deadlock, serialization, lock timeout, cancel): retried with back-off, nothing is lost;
 * - `race`: the batch met a concurrent write (an object a client deleted while the batch ran, a
 *   row another session inserted after the locks): run again at once;
 * - `refused`: the database refused the values (a constraint, a trigger's exception, a value the
 *   column cannot hold, a generated column): that realm transaction is rejected — its objects reset
 *   to the rows, a dead letter kept — and the realm's later transactions go on;
 * - `configuration`: the database cannot take the connector's writes at all (privileges, a missing
 *   table or column, a read-only server): the connector stops with a code, keeping the realm
 *   transactions for its next start;
 * - `failed`: anything else permanent (an unexpected SQLSTATE, a bug): rejected like a refusal,
 *   so no error stalls a realm.
 */
export type ApplyFailureKind = 'transient' | 'race' | 'refused' | 'configuration' | 'failed';

/** Beyond {@link TRANSIENT_CODES}: a cancelled statement (statement_timeout, pg_cancel_backend), an aborted transaction, an unknown commit outcome. */
const APPLY_TRANSIENT_CODES = new Set(['57014', '25P02', '40003']);
/**
 * SQLSTATE classes and codes where the database refused the data: 21 cardinality, 22 data
 * exception, 23 integrity constraint, 27 triggered data change, 09 triggered action, 2F / 38 / 39
 * routine exceptions, 44 WITH CHECK OPTION, 54 program limits (a value too large to index), P0
 * PL/pgSQL RAISE and ASSERT, and 428C9 (a value written to a GENERATED ALWAYS column).
 */
const REFUSED_CLASSES = new Set(['21', '22', '23', '27', '09', '2F', '38', '39', '44', '54', 'P0']);
const REFUSED_CODES = new Set(['428C9']);
/**
 * Where the database is not set up to take the writes: 28 authorization, 3D000 / 3F000 no such
 * database or schema, 42501 privilege, 42P01 / 42703 / 42704 / 42883 a table, column, object or
 * function that does not exist (dropped since the mapping was read), 42809 wrong object type,
 * 25006 a read-only (standby) server, 0A000 a feature the target does not support (a view
 * without rules), 55000 an object not in the needed state (a replication origin), 57P04 the
 * database was dropped.
 */
const CONFIGURATION_CLASSES = new Set(['28']);
const CONFIGURATION_CODES = new Set(['3D000', '3F000', '42501', '42P01', '42703', '42704', '42883', '42809', '25006', '0A000', '55000', '57P04']);

/** Classifies a failed apply batch by code, never by message text (except node-postgres's code-less lost connection, as {@link classify}). */
export function classifyApplyError(e: unknown, depth = 0): ApplyFailureKind {
  if (e instanceof TributaryError) {
    const cause = (e as { cause?: unknown }).cause;
    if (depth < 4 && cause && typeof (cause as { code?: unknown }).code === 'string') return classifyApplyError(cause, depth + 1);
    switch (e.code) {
      case 'OBJECT_INVALIDATED':
        return 'race';
      case 'CONNECTOR_APPLY_CONFIGURATION':
        return 'configuration';
      case 'CONNECTOR_APPLY_REFUSED':
        return 'refused';
      case 'REALM_CLOSED':
      case 'INVALID_STATE':
        return 'transient'; // the connector is stopping
      default:
        return e.action === 'retry' ? 'transient' : 'failed';
    }
  }
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (APPLY_TRANSIENT_CODES.has(code) || classify(e) === 'transient') return 'transient';
    const cls = code.slice(0, 2);
    if (REFUSED_CLASSES.has(cls) || REFUSED_CODES.has(code)) return 'refused';
    if (CONFIGURATION_CLASSES.has(cls) || CONFIGURATION_CODES.has(code)) return 'configuration';
    return 'failed';
  }
  return classify(e) === 'transient' ? 'transient' : 'failed';
}

import { errorClassifier, NETWORK_CODES, type ApplyFailureKind, type Classification } from '../kit/errors';

export { connectorError, type ApplyFailureKind, type Classification } from '../kit/errors';

/**
 * PostgreSQL's SQLSTATE tables for the kit's classification (connectors/kit/errors.ts; conventions
 * §10, after Debezium's PostgresErrorHandler): transient failures are retried with back-off,
 * permanent ones stop the connector with a message saying what to change, and failed apply
 * batches are sorted into the kit's {@link ApplyFailureKind}s.
 */

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

/** Beyond the transient codes, while applying: a cancelled statement (statement_timeout, pg_cancel_backend), an aborted transaction, an unknown commit outcome. */
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

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The PostgreSQL classifier. node-postgres reports a socket that closed under it without a code
 * ("Connection terminated unexpectedly"), the one case decided by message.
 */
export const pgErrors = errorClassifier({
  codeOf(e) {
    const code = (e as { code?: unknown })?.code;
    return typeof code === 'string' && SQLSTATE.test(code) && !NETWORK_CODES.has(code) ? code : null;
  },
  transient: (code) => !PERMANENT_CODES.has(code) && (TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2))),
  applyKind(code): ApplyFailureKind | null {
    const cls = code.slice(0, 2);
    if (APPLY_TRANSIENT_CODES.has(code)) return 'transient';
    if (REFUSED_CLASSES.has(cls) || REFUSED_CODES.has(code)) return 'refused';
    if (CONFIGURATION_CLASSES.has(cls) || CONFIGURATION_CODES.has(code)) return 'configuration';
    return null;
  },
  lostConnection: (e) => /Connection terminated|connection closed|socket hang up/i.test(e instanceof Error ? e.message : String(e)),
});

/** Transient (retry with back-off) or permanent (stop and report), from the SQLSTATE, a Node network code, or a coded TributaryError's action. */
export function classify(e: unknown): Classification {
  return pgErrors.classify(e);
}

/** Wraps a driver error in the coded family, keeping the SQLSTATE in the message. */
export function fromDriverError(e: unknown, doing: string) {
  return pgErrors.fromDriverError(e, doing);
}

/** Classifies a failed apply batch by SQLSTATE, never by message text (except node-postgres's code-less lost connection). */
export function classifyApplyError(e: unknown): ApplyFailureKind {
  return pgErrors.classifyApply(e);
}

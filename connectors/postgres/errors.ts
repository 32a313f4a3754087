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

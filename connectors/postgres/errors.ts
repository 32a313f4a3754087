import { TributaryError, type ErrorCode } from '../../src/errors';

/**
 * Failures of the PostgreSQL connector, classified by SQLSTATE class rather than message text
 * (conventions §10, after Debezium's PostgresErrorHandler): transient ones are retried with
 * back-off, permanent ones stop the connector with a message saying what to change.
 */
export function connectorError(code: ErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, message, cause === undefined ? undefined : { cause });
}

/** SQLSTATE classes and codes a retry can fix. */
const TRANSIENT_CLASSES = new Set(['08', '53', '58']); // connection exception, insufficient resources, system error
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '55006', '55P03']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export type Classification = 'transient' | 'permanent';

export function classify(e: unknown): Classification {
  if (e instanceof TributaryError) return e.action === 'retry' ? 'transient' : 'permanent';
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return 'transient';
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2)) ? 'transient' : 'permanent';
  }
  const msg = e instanceof Error ? e.message : String(e);
  // node-postgres reports a dropped socket without a code.
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

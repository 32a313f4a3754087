import { TributaryError } from '../../src/errors';
import { connectorError, errorClassifier, errorText, type ApplyFailureKind, type Classification } from '../kit/errors';

export { connectorError, type ApplyFailureKind, type Classification } from '../kit/errors';

/**
 * SQL Server's error numbers for the kit's classification (connectors/kit/errors.ts; conventions
 * §10): the driver code is the server's error `number` (RequestError), or mssql/tedious's own code
 * for failures without one (ESOCKET, ETIMEOUT, ELOGIN…) — never the message text.
 */

/**
 * Numbers a retry can fix: 1205 deadlock victim, 1222 lock request time out, 3960 snapshot update
 * conflict, 3961 a snapshot poll met a concurrent DDL (a column added), 1204 / 701 / 8645 out of locks or memory, 233 / 10053 / 10054 / 10060 / 64 transport
 * errors, 40197 / 40501 / 40613 / 49918–49920 / 10928 / 10929 (Azure SQL: busy, moving,
 * throttled), 4221 (a secondary still recovering), 3989 / 3988 (a request raced the transaction's
 * end), 6005 (shutting down), 17142 (paused), 18401 (single-user / upgrade, no logins now).
 */
const TRANSIENT_NUMBERS = new Set([1205, 1222, 3960, 3961, 1204, 701, 8645, 233, 10053, 10054, 10060, 64, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 4221, 3989, 3988, 6005, 17142, 18401]);
/** mssql / tedious codes of failures without a server number: sockets, timeouts, a connection closed, a cancel, a transaction the server ended. */
const TRANSIENT_DRIVER_CODES = new Set(['ESOCKET', 'ETIMEOUT', 'ECONNCLOSED', 'ECANCEL', 'ENOTOPEN', 'ECONNRESET', 'EINSTLOOKUP', 'EABORT', 'ENOCONN']);
/** Permanent driver codes: ELOGIN (login refused), EENCRYPT (TLS mismatch: set options.encrypt), EINVALIDSTATE / EARGS (a bug). */
const DRIVER_CODES = new Set([...TRANSIENT_DRIVER_CODES, 'ELOGIN', 'EENCRYPT', 'EINVALIDSTATE', 'EARGS', 'EREQINPROG', 'EALREADYCONNECTED', 'EALREADYCONNECTING', 'ENOREQRETURN', 'EINJECT', 'EDUPEPARAM', 'EPARAM']);

/**
 * Numbers where the database refused the values: 515 NULL into NOT NULL, 547 foreign key / check,
 * 2627 / 2601 duplicate key, 2628 / 8152 string or binary truncated, 245 / 8114 / 8115 / 220 / 241 /
 * 242 / 8169 / 293 / 8116 / 206 conversions and overflows, 271 computed column, 272 / 273 rowversion,
 * 544 / 8102 identity, 50000+ RAISERROR / THROW from triggers, 3609 a trigger ended the transaction,
 * 8672 MERGE matched a row twice.
 */
const REFUSED_NUMBERS = new Set([515, 547, 2627, 2601, 2628, 8152, 245, 8114, 8115, 220, 241, 242, 8169, 293, 8116, 206, 271, 272, 273, 544, 8102, 3609, 8672, 517, 8134]);
/**
 * Where the database is not set up to take the writes: 208 / 207 / 4902 a table or column that
 * does not exist (dropped since the mapping was read), 229 / 230 / 262 / 300 / 916 permissions,
 * 3906 read-only database, 22105 Change Tracking off on a table, 4060 the database cannot be
 * opened, 18456 login failed, 2812 a procedure that does not exist, 1088 / 8104 IDENTITY_INSERT
 * not allowed (ALTER permission).
 */
const CONFIGURATION_NUMBERS = new Set([208, 207, 4902, 229, 230, 262, 300, 916, 3906, 22105, 4060, 18456, 2812, 1088, 8104]);

const driverCodeOf = (e: unknown): string | null => {
  const x = e as { number?: unknown; code?: unknown };
  if (typeof x?.number === 'number' && x.number > 0) return String(x.number);
  if (typeof x?.code === 'string' && DRIVER_CODES.has(x.code)) return x.code;
  return null;
};

/** The SQL Server classifier (mssql's `originalError` is walked like a cause). */
export const mssqlErrors = errorClassifier({
  codeOf: driverCodeOf,
  transient(code) {
    const n = Number(code);
    return Number.isInteger(n) ? TRANSIENT_NUMBERS.has(n) : TRANSIENT_DRIVER_CODES.has(code);
  },
  applyKind(code): ApplyFailureKind | null {
    const n = Number(code);
    if (!Number.isInteger(n)) return null;
    if (REFUSED_NUMBERS.has(n) || n >= 50000) return 'refused';
    if (CONFIGURATION_NUMBERS.has(n)) return 'configuration';
    return null;
  },
  lostConnection: (e) => {
    const original = (e as { originalError?: unknown })?.originalError;
    return original !== undefined && original !== e && driverCodeOf(original) !== null && TRANSIENT_DRIVER_CODES.has(driverCodeOf(original)!);
  },
});

/** Transient (retry with back-off) or permanent (stop and report). */
export function classify(e: unknown): Classification {
  return mssqlErrors.classify(e);
}

/** Wraps a driver error in the coded family (`CONNECTOR_SOURCE_UNAVAILABLE` / `…_FAILED`), keeping its number. */
export function fromDriverError(e: unknown, doing: string): TributaryError {
  if (e instanceof TributaryError) return e;
  const code = mssqlErrors.driverCode(e);
  return connectorError(classify(e) === 'transient' ? 'CONNECTOR_SOURCE_UNAVAILABLE' : 'CONNECTOR_SOURCE_FAILED', `${doing}: ${errorText(e)}${code ? ` [${code}]` : ''}`, e);
}

/** A failed apply batch's kind, by error number. */
export function classifyApplyError(e: unknown): ApplyFailureKind {
  return mssqlErrors.classifyApply(e);
}

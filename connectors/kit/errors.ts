import { TributaryError, type ErrorCode } from '../../src/errors';

/**
 * The connectors' error family and the hook each database fills in (conventions §10): failures are
 * classified by the driver's own code — a SQLSTATE, a MongoDB error code, a SQL Server error number
 * — never by message text. The kit walks wrappers (coded errors, `cause`, AggregateError) and knows
 * Node's network errors; a connector only says what its codes mean ({@link DriverErrorCodes}).
 */

/** Transient: retry with back-off and jitter. Permanent: stop and report. */
export type Classification = 'transient' | 'permanent';

/**
 * What a failed realm → database write is, which decides what the apply loop does with it:
 *
 * - `transient`: the database or the link to it is unwell (connection, shutdown, resources,
 *   deadlock, serialization, lock timeout, cancel): retried with back-off, nothing is lost;
 * - `race`: the batch met a concurrent write (an object a client deleted while the batch ran, a
 *   row another session inserted after the locks): run again at once;
 * - `refused`: the database refused the values (a constraint, a trigger's exception, a value the
 *   column cannot hold): that realm transaction is rejected — its objects reset to the rows, a dead
 *   letter kept — and the realm's later transactions go on;
 * - `configuration`: the database cannot take the connector's writes at all (privileges, a missing
 *   table or column, a read-only server): the connector stops with a code, keeping the realm
 *   transactions for its next start;
 * - `failed`: anything else permanent (an unexpected code, a bug): rejected like a refusal, so no
 *   error stalls a realm.
 */
export type ApplyFailureKind = 'transient' | 'race' | 'refused' | 'configuration' | 'failed';

/** What a connector tells the kit about its driver's errors. */
export interface DriverErrorCodes {
  /**
   * The driver's code carried by this error itself (not its causes) as text — `'40P01'`,
   * `'112'`, `'1205'` — or null when it carries none of the driver's codes. Node's network codes
   * (ECONNRESET…) are the kit's; return null for them.
   */
  codeOf(e: unknown): string | null;
  /** A code a retry can fix: the connection went away, the server is short of something or restarting, a deadlock. */
  transient(code: string, e: unknown): boolean;
  /**
   * For a failed apply batch, what a code that is not transient means: `race`, `refused`,
   * `configuration`, `transient` (codes only retryable while applying, e.g. a cancelled statement),
   * or null for `failed`.
   */
  applyKind(code: string, e: unknown): ApplyFailureKind | null;
  /**
   * A code-less error that the driver documents as a lost connection (node-postgres reports a
   * socket closed under it only by message; the MongoDB driver by its error class). Optional.
   */
  lostConnection?(e: unknown): boolean;
}

/** Node's network errors: transient whatever the database. */
export const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND']);

/** One database's classification, built from its {@link DriverErrorCodes} by {@link errorClassifier}. */
export interface ErrorClassifier {
  /** Source-side and start failures: retry with back-off, or stop and report. */
  classify(e: unknown): Classification;
  /** A failed apply batch (see {@link ApplyFailureKind}). */
  classifyApply(e: unknown): ApplyFailureKind;
  /** The driver's code of an error or of one of its causes (kept in dead letters and status), or null. */
  driverCode(e: unknown): string | null;
  /** Wraps a driver error in the coded family (`CONNECTOR_SOURCE_UNAVAILABLE` or `…_FAILED`), keeping its code in the message. */
  fromDriverError(e: unknown, doing: string): TributaryError;
}

/** A coded connector error with its cause. */
export function connectorError(code: ErrorCode, message: string, cause?: unknown): TributaryError {
  return new TributaryError(code, message, cause === undefined ? undefined : { cause });
}

export function errorText(e: unknown): string {
  return String((e as Error)?.message ?? e);
}

const rawCode = (e: unknown): unknown => (e as { code?: unknown })?.code;
const causeOf = (e: unknown): unknown => (e as { cause?: unknown })?.cause;

/**
 * The classifier of one database. Order: a coded TributaryError decides by its action; a Node
 * network code is transient; a driver code by the connector's tables; then an AggregateError (several
 * addresses tried) is transient when one of its errors is, a wrapper is what its cause is, and a
 * code-less error is transient only when the driver documents it as a lost connection.
 *
 * @example
 * const pg = errorClassifier({ codeOf: (e) => sqlstate(e), transient: (c) => c.startsWith('08'), applyKind: (c) => (c.startsWith('23') ? 'refused' : null) });
 * if (pg.classify(err) === 'transient') retry();
 */
export function errorClassifier(codes: DriverErrorCodes): ErrorClassifier {
  const classify = (e: unknown, depth = 0): Classification => {
    if (e instanceof TributaryError) return e.action === 'retry' ? 'transient' : 'permanent';
    const raw = rawCode(e);
    if (typeof raw === 'string' && NETWORK_CODES.has(raw)) return 'transient';
    const code = codes.codeOf(e);
    if (code !== null) return codes.transient(code, e) ? 'transient' : 'permanent';
    if (depth < 4) {
      if (e instanceof AggregateError && e.errors.some((x) => classify(x, depth + 1) === 'transient')) return 'transient';
      const cause = causeOf(e);
      if (cause !== undefined && cause !== null) return classify(cause, depth + 1);
    }
    return codes.lostConnection?.(e) ? 'transient' : 'permanent';
  };
  const driverCode = (e: unknown, depth = 0): string | null => {
    const code = codes.codeOf(e);
    if (code !== null) return code;
    const cause = causeOf(e);
    return depth < 4 && cause ? driverCode(cause, depth + 1) : null;
  };
  const classifyApply = (e: unknown, depth = 0): ApplyFailureKind => {
    if (e instanceof TributaryError) {
      const cause = causeOf(e);
      if (depth < 4 && cause && (typeof rawCode(cause) === 'string' || codes.codeOf(cause) !== null)) return classifyApply(cause, depth + 1);
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
    const code = codes.codeOf(e);
    if (code !== null) {
      if (codes.transient(code, e)) return 'transient';
      return codes.applyKind(code, e) ?? 'failed';
    }
    return classify(e) === 'transient' ? 'transient' : 'failed';
  };
  return {
    classify: (e) => classify(e),
    classifyApply: (e) => classifyApply(e),
    driverCode: (e) => driverCode(e),
    fromDriverError(e, doing) {
      if (e instanceof TributaryError) return e;
      const raw = rawCode(e);
      const state = typeof raw === 'string' || typeof raw === 'number' ? ` [${raw}]` : '';
      return connectorError(classify(e) === 'transient' ? 'CONNECTOR_SOURCE_UNAVAILABLE' : 'CONNECTOR_SOURCE_FAILED', `${doing}: ${errorText(e)}${state}`, e);
    },
  };
}

/** A status's `lastErrorCode`: the TributaryError code, else the driver's code or errno name, or null. */
export function errorCodeOf(e: unknown): string | null {
  if (!e) return null;
  if (e instanceof TributaryError) return e.code;
  const code = rawCode(e);
  return typeof code === 'string' ? code : typeof code === 'number' ? String(code) : null;
}

/**
 * The coded error that stops a connector when its database is not set up to take the writes
 * (an apply failure of kind `configuration`).
 */
export function configurationError(database: string, path: string, table: string | null, e: unknown, code: string | null): TributaryError {
  if (e instanceof TributaryError && e.code === 'CONNECTOR_APPLY_CONFIGURATION') return e;
  return connectorError(
    'CONNECTOR_APPLY_CONFIGURATION',
    `${database} cannot take the realm transactions of ${path}${table ? ` (writing table ${table})` : ''}: ${errorText(e)}${code ? ` [${code}]` : ''}; the connector stopped and keeps them for its next start — fix the database (privileges, tables, columns) or the mapping, then restart`,
    e,
  );
}

/**
 * The status every connector reports (`connector.status()`, the `status` CLI command, the
 * conformance suite): the same names whatever the database, so tools and tests read any of them.
 * Each connector adds its own figures next to these (PostgreSQL: slot, LSNs, schema changes).
 */

export type ConnectorState = 'starting' | 'loading' | 'streaming' | 'retrying' | 'stopped' | 'failed';

/** Realm → database, as the kit's apply loop counts it (apply-loop.ts). */
export interface ApplyStatus {
  /** Adapter transactions committed to the database. */
  applied: number;
  /** Adapter transactions skipped because the database already held them (after a crash). */
  alreadyApplied: number;
  /** Database transactions written (each holds up to `applyBatch` Adapter transactions). */
  batches: number;
  /** Rows (documents) upserted or deleted. */
  rows: number;
  /** Adapter transactions the database refused; their objects were reset to the database's rows and each kept as a dead letter. */
  rejected: number;
  /** Adapter transactions that failed permanently for another reason; reset and kept as dead letters like refusals. */
  failed: number;
  /** Dead letters recorded by this run (`rejected` + `failed`). */
  deadLetters: number;
  /** Batches run again at once because a concurrent database write raced them. */
  races: number;
  /** Instructions with no database effect: unmapped types or properties, CHANGE_IDENTITY (logged as warnings). */
  skippedInstructions: number;
  /** Realms whose next transaction waits for a retry after a failure. */
  retrying: number;
  lastError: string | null;
}

export function newApplyStatus(): ApplyStatus {
  return { applied: 0, alreadyApplied: 0, batches: 0, rows: 0, rejected: 0, failed: 0, deadLetters: 0, races: 0, skippedInstructions: 0, retrying: 0, lastError: null };
}

/** The figures every connector's `status()` has. */
export interface CommonConnectorStatus {
  state: ConnectorState;
  /**
   * Database → realm: source transactions received — the connector's own included, its markers
   * (barriers, caughtUp) not. `transactions - skippedOwnTransactions` were written into the realms.
   */
  transactions: number;
  /** Of `transactions`, the connector's own (its realm → database writes): not echoed back into the realms. */
  skippedOwnTransactions: number;
  /** Replayed source transactions a realm already held (after a restart). */
  replayedSkipped: number;
  /** Realm → database. */
  apply: ApplyStatus | null;
  /**
   * Database → realm lag: `transactions` received but not yet confirmed (written to the realms,
   * waiting for the server's acknowledgement), and `seconds` since the oldest of them committed.
   */
  lag: { transactions: number; seconds: number };
  /** Commit time of the last source transaction received (ISO), or null. */
  lastCommitTime: string | null;
  lastError: string | null;
  /** The code of `lastError` (a TributaryError code, else the driver's code or errno name), or null. */
  lastErrorCode: string | null;
  warnings: string[];
}

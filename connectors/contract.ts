import type { Logger } from '../src/shared/logger';

/**
 * What every connector is (CONNECTORS.md §1, conventions §5): started, settled, inspected and
 * stopped the same way whatever the database, so tools and tests can drive any of them.
 */
export interface Connector {
  /** Validates the config against the database, loads if needed, then streams both ways. */
  start(): Promise<void>;
  /** A clean stop: acknowledged positions are confirmed; the next start resumes. */
  stop(): Promise<void>;
  status(): ConnectorStatus;
  /** Resolves when every database change committed before the call is in the realms and acknowledged. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Resolves when both directions are settled (database → realm and realm → database). */
  quiesce(timeoutMs?: number): Promise<void>;
}

/** The part of a status every connector reports; each adds its own figures. */
export interface ConnectorStatus {
  state: 'starting' | 'loading' | 'streaming' | 'retrying' | 'stopped' | 'failed';
  lastError: string | null;
}

/**
 * A connector type as the CLI (`tributary connector <type> …`) and embedders load it: lazily,
 * because each pulls in its database driver.
 */
export interface ConnectorModule {
  type: string;
  /** The page documenting the type, relative to the package root. */
  docs: string;
  /** Runs the connector of a config file until SIGINT/SIGTERM (a clean stop exits 0). */
  run(configPath: string, log: Logger): Promise<Connector>;
  /** The database side of a connector without starting it, as data and as text for a terminal. */
  inspect(configPath: string): Promise<{ status: unknown; text: string }>;
  /** Makes a stopped connector's next start load afresh; returns a line saying what was removed. */
  reset(configPath: string, log: Logger): Promise<{ result: unknown; text: string }>;
  /**
   * Deletes dead letters — the records of realm transactions the database refused or that failed
   * permanently (`inspect` lists them) — by id, or all of the connector's; returns a line saying
   * how many. Connectors that keep none omit it.
   */
  clearDeadLetters?(configPath: string, ids: number[] | 'all'): Promise<{ cleared: number; text: string }>;
  /**
   * The object schemas a client declares to create the first objects of a mapped realm that does
   * not exist yet (as data, and as JSON text). Connectors whose realms need no declared schema omit it.
   */
  realmSchema?(configPath: string, realmPath: string): Promise<{ schema: unknown; text: string }>;
}

import type { Logger } from '../src/shared/logger';
import type { Classification } from './kit/errors';
import type { LoadProgress } from './kit/load-progress';
import type { CommonConnectorStatus } from './kit/status';
import type { TestConnectionResult } from './kit/test-connection';

/**
 * What every connector is (CONNECTORS.md §1, conventions §5): started, settled, inspected and
 * stopped the same way whatever the database, so tools and tests can drive any of them. The kit
 * (connectors/kit, docs/connectors/kit.md) provides the database-neutral parts of one.
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

/** The part of a status every connector reports (connectors/kit/status.ts); each adds its own figures. */
export type ConnectorStatus = CommonConnectorStatus;

/** What a module's `create` is given besides the config. */
export interface ConnectorOptions {
  log?: Logger;
  onProgress?: (p: LoadProgress) => void;
}

/** The texts the generated CLI shows for a type's commands (they name the database's own state). */
export interface ConnectorCliTexts {
  /** `status`: what it prints. */
  status: string;
  /** `reset`: what it removes. */
  reset: string;
  /** The question `reset` asks on a terminal (`[y/N]` is appended). */
  resetConfirm: string;
}

/**
 * A connector type as connectors/registry.ts lists it: what the CLI shows without loading the
 * type's module (which pulls in its database driver), and how to load it.
 */
export interface ConnectorType {
  type: string;
  /** Other names the registry and the CLI accept for the type (`mssql` for `sqlserver`). */
  aliases?: string[];
  /** One line for `tributary connector --help`. */
  description: string;
  cli: ConnectorCliTexts;
  load(): ConnectorModule;
}

/**
 * A connector type as the CLI (`tributary connector <type> …`) and embedders load it: lazily,
 * because each pulls in its database driver. The kit's `defineConnectorModule` builds one from a
 * connector's definition.
 */
export interface ConnectorModule {
  type: string;
  /** The page documenting the type, relative to the package root. */
  docs: string;
  /** A connector for a config object (validated; throws CONFIG_INVALID listing every problem), not started. */
  create(config: unknown, options?: ConnectorOptions): Connector;
  /** Transient (a retry may help) or permanent, by the driver's codes: what `run` and start retries use. */
  classify(e: unknown): Classification;
  /**
   * Checks, without starting, what a config (a file path, or a config object) reaches: the
   * database (reachable, its prerequisites, the mapping against its catalog) and the sync server
   * (reachable, the admin token accepted). Each check with what it found or what to change.
   */
  testConnection(config: string | object): Promise<TestConnectionResult & { text: string }>;
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

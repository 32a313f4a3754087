import type { config as MssqlConfig } from 'mssql';
import { commonFields, commonOptions, commonTableFields, type CommonConnectorConfig, type CommonOptions, type CommonTableMappingInput } from '../kit/config';
import { custom, integer, object, record, string, validate, withDefault, type Issues } from '../kit/config-schema';

export type { Placement } from '../kit/placement';
export type { ColumnMappingInput, InitialLoad, SchemaChangesInput, SchemaChangesOptions } from '../kit/config';
export type { ConflictPolicy } from '../kit/conflict';

/**
 * The SQL Server connector's config: the kit's common keys (connectors/kit/config.ts) and SQL
 * Server's own — the database (an `mssql://` URL or an mssql/tedious config object), the schema of
 * the mapped tables and the Change Tracking poll interval — validated in one pass reporting every
 * problem (the kit's config-schema.ts). Catalog checks (Change Tracking, snapshot isolation, the
 * mapping) happen at start and in `test` (setup.ts, mapping.ts).
 */

export type TableMappingInput = CommonTableMappingInput;

/** An `mssql://user:password@host:port/database?encrypt=false&trustServerCertificate=true` URL, or an mssql config. */
export type DatabaseInput = string | MssqlConfig;

export interface SqlServerConnectorConfig extends CommonConnectorConfig {
  database: DatabaseInput;
  /** Schema of the mapped tables (default `dbo`). Default placement: `'/{schema}'`. */
  schema?: string;
  tables: Record<string, TableMappingInput>;
  /** The shortest wait between Change Tracking polls while changes flow (default 50 ms). */
  pollIntervalMs?: number;
  /** The longest wait between polls when idle: the interval doubles up to it (default 1000 ms). */
  maxPollIntervalMs?: number;
}

export interface ResolvedOptions extends CommonOptions {
  schema: string;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  /** The CHANGE_TRACKING_CONTEXT the connector's own writes carry (`tributary:<name>` as bytes, hex). */
  contextHex: string;
}

const SQL_IDENT = /^[A-Za-z_][A-Za-z0-9_@$#]{0,127}$/;

const database = custom((v: unknown, path: string, issues: Issues) => {
  if (v === undefined) issues.add('CONFIG_MISSING', path, 'required: an mssql:// URL or an mssql config ({ server, port, user, password, database, options })');
  else if (typeof v === 'string') {
    if (!/^(mssql|sqlserver):\/\//.test(v)) issues.add('CONFIG_VALUE', path, 'expected an mssql://user:password@host:port/database URL');
  } else if (!v || typeof v !== 'object' || Array.isArray(v)) issues.add('CONFIG_TYPE', path, 'expected an mssql:// URL or an mssql config object');
  else if (typeof (v as { server?: unknown }).server !== 'string') issues.add('CONFIG_MISSING', `${path}.server`, 'required: the host name of the SQL Server');
  return v as DatabaseInput;
});

const table = object({ ...commonTableFields }, { expected: 'a table mapping object ({} maps every column by name)' });

const schema = object({
  ...commonFields,
  database,
  schema: withDefault(string({ pattern: SQL_IDENT, expected: 'a schema name' }), 'dbo'),
  tables: record(table, { minKeys: 1, expected: 'at least one mapped table' }),
  pollIntervalMs: integer({ default: 50 }),
  maxPollIntervalMs: integer({ default: 1000 }),
});

/**
 * Validates a config, reporting every problem at once (CONFIG_INVALID with `issues`), and resolves
 * the defaults.
 *
 * @example
 * const c = validateConfig({ name: 'legacy', database: 'mssql://sa:pw@db:1433/shop', serverUrl: 'realm://127.0.0.1:9080', localPath: './data', tables: { orders: {} } });
 * c.resolved.schema; // 'dbo'
 */
export function validateConfig(input: unknown): SqlServerConnectorConfig & { resolved: ResolvedOptions } {
  if (input && typeof input === 'object' && 'resolved' in input) {
    const { resolved: _, ...written } = input as Record<string, unknown>;
    input = written;
  }
  const v = validate(schema, input, 'sqlserver connector config');
  const resolved: ResolvedOptions = {
    ...commonOptions(v),
    schema: v.schema,
    pollIntervalMs: v.pollIntervalMs,
    maxPollIntervalMs: Math.max(v.pollIntervalMs, v.maxPollIntervalMs),
    contextHex: Buffer.from(`tributary:${v.name}`, 'utf8').toString('hex'),
  };
  return { ...(input as SqlServerConnectorConfig), resolved };
}

/**
 * The mssql pool config of a `database` value. URLs: `mssql://user:password@host:port/database`
 * with query options `encrypt` and `trustServerCertificate` (`true`/`false`; default encrypt true,
 * as mssql's, so a server without TLS needs `?encrypt=false`). The password is not enumerable, so
 * the config can be logged without it.
 */
export function poolConfig(input: DatabaseInput, extra: Partial<MssqlConfig> = {}): MssqlConfig {
  let base: MssqlConfig;
  if (typeof input === 'string') {
    const u = new URL(input);
    const q = u.searchParams;
    const flag = (name: string, dflt: boolean) => (q.has(name) ? q.get(name) === 'true' : dflt);
    base = {
      server: u.hostname,
      port: Number(u.port || 1433),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
      options: { encrypt: flag('encrypt', true), trustServerCertificate: flag('trustServerCertificate', false) },
    };
  } else base = { ...input, options: { ...input.options } };
  const out: MssqlConfig = { pool: { max: 6, min: 0, idleTimeoutMillis: 30_000 }, connectionTimeout: 15_000, requestTimeout: 60_000, ...base, ...extra, options: { ...base.options, useUTC: true, enableArithAbort: true } };
  const password = out.password;
  delete out.password;
  Object.defineProperty(out, 'password', { value: password, enumerable: false, writable: true, configurable: true });
  return out;
}

/** `user@host:port/database`, for messages (never the password). */
export function describeDatabase(input: DatabaseInput): string {
  try {
    const c = poolConfig(input);
    return `${c.user ? `${c.user}@` : ''}${c.server}:${c.port ?? 1433}/${c.database ?? '(default database)'}`;
  } catch {
    return '(an unreadable database URL)';
  }
}

import { TributaryError } from '../errors';

/**
 * Every server option, declared once. The table produces the TypeScript type ({@link ServerOptions}),
 * the yargs flags of `tributary serve` (kebab-case of the key, plus `alias`), the `TRIBUTARY_*`
 * environment names (SCREAMING_SNAKE of the key) and the configuration table in docs/server.md.
 *
 * Kinds: `string`, `integer`, `boolean`, `duration` (seconds; accepts `90`, `"15m"`, `"1h"`, `"30d"`)
 * and `bytes` (accepts `1048576`, `"1MiB"`, `"64KiB"`).
 */
export const SERVER_OPTIONS = {
  dataPath: {
    kind: 'string',
    default: './data',
    alias: 'data',
    description: 'Directory holding the database (tributary.db) and the keys (keys/).',
  },
  address: { kind: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
  port: { kind: 'integer', default: 9080, min: 0, max: 65535, description: 'HTTP and WebSocket port; 0 picks a free port.' },
  logLevel: {
    kind: 'string',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    description: 'Least severe level written to the JSON log on stdout.',
  },
  accessTokenTtl: { kind: 'duration', default: 3600, description: 'Lifetime of an access token.' },
  refreshTokenTtl: { kind: 'duration', default: 30 * 86400, description: 'Lifetime of a refresh token.' },
  allowRegistration: { kind: 'boolean', default: true, description: 'Whether POST /auth may register new password users.' },
  maxMessageBytes: { kind: 'bytes', default: 16 * 1024 * 1024, min: 1024, description: 'Largest sync message accepted; a larger one gets LIMITS_EXCEEDED and ends the connection.' },
  maxSessionsPerConnection: { kind: 'integer', default: 10_000, min: 1, description: 'Most sessions bound at once on one connection (the admin runtime binds one per watched realm on a single connection).' },
  maxPathLength: { kind: 'integer', default: 1024, min: 2, description: 'Longest realm path, in characters.' },
  maxBodyBytes: { kind: 'bytes', default: 64 * 1024, min: 256, description: 'Largest HTTP request body (POST /auth).' },
  downloadBatchBytes: {
    kind: 'bytes',
    default: 1024 * 1024,
    min: 1,
    description: 'Soft size bound of one DOWNLOAD (and of one STATE segment); a single larger changeset is still sent alone.',
  },
  maxBufferedBytes: {
    kind: 'bytes',
    default: 8 * 1024 * 1024,
    min: 1,
    description: 'Downloads pause while a connection has more than this many bytes queued for sending.',
  },
  maxPendingUploadBytes: {
    kind: 'bytes',
    default: 4 * 1024 * 1024,
    min: 1,
    description:
      'Backpressure on uploads: when a connection has more than this many bytes of received UPLOADs not yet committed, the server stops reading that socket until half of them are committed.',
  },
  groupCommitTurns: {
    kind: 'integer',
    default: 1,
    min: 0,
    max: 10,
    description:
      'Event-loop turns the group commit waits after the first queued write before committing, so uploads read in those turns share one fsync; 0 commits in the turn the first write arrives.',
  },
  historyCacheBytes: {
    kind: 'bytes',
    default: 8 * 1024 * 1024,
    min: 0,
    description:
      'Memory for the newest history entries of active realms (encoded bytes; decoded copies take a few times more), so downloads and merges do not re-read and re-decode them; 0 turns the history cache off.',
  },
  pingTimeout: {
    kind: 'duration',
    default: 15 * 60,
    description: 'A connection that sends nothing for this long is closed (clients PING at least every 10 minutes).',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKind = 'string' | 'integer' | 'boolean' | 'duration' | 'bytes';

export interface OptionSpec {
  kind: OptionKind;
  default: string | number | boolean;
  description: string;
  alias?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

type Table = typeof SERVER_OPTIONS;
type ValueOf<S> = S extends { choices: readonly (infer C)[] } ? C : S extends { kind: 'string' } ? string : S extends { kind: 'boolean' } ? boolean : number;

/** The resolved server options (durations in seconds, sizes in bytes). */
export type ServerOptions = { -readonly [K in keyof Table]: ValueOf<Table[K]> };
export type ServerOptionName = keyof ServerOptions;

/** `maxMessageBytes` → `max-message-bytes`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `maxMessageBytes` → `TRIBUTARY_MAX_MESSAGE_BYTES`. */
export function envName(key: string): string {
  return 'TRIBUTARY_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

function invalid(key: string, raw: unknown, expected: string): never {
  throw new TributaryError('CONFIG_INVALID', `option ${key} (--${flagName(key)}, ${envName(key)}): expected ${expected}, got ${JSON.stringify(raw)}`);
}

/** Parses one option value (from a flag, the environment or a config object) into its canonical form. */
export function parseOption(key: ServerOptionName, raw: unknown): string | number | boolean {
  const spec: OptionSpec = SERVER_OPTIONS[key];
  let value: string | number | boolean;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw.length === 0) invalid(key, raw, 'a non-empty string');
      if (spec.choices && !spec.choices.includes(raw)) invalid(key, raw, `one of ${spec.choices.join(', ')}`);
      return raw;
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return invalid(key, raw, 'true or false');
    case 'integer':
      value = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : (raw as number);
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) invalid(key, raw, 'an integer');
      break;
    case 'duration': {
      const m = typeof raw === 'number' ? null : /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(String(raw));
      value = typeof raw === 'number' ? raw : m ? Number(m[1]) * DURATION_UNITS[(m[2] || 's').toLowerCase()]! : NaN;
      if (!Number.isFinite(value) || value < 0) invalid(key, raw, 'a duration such as 90, "15m", "1h" or "30d"');
      break;
    }
    case 'bytes': {
      const m = typeof raw === 'number' ? null : /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(String(raw));
      const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
      value = typeof raw === 'number' ? raw : m && unit ? Number(m[1]) * unit : NaN;
      if (!Number.isSafeInteger(value)) invalid(key, raw, 'a size such as 1048576, "64KiB" or "16MiB"');
      break;
    }
  }
  if (spec.min !== undefined && value < spec.min) invalid(key, raw, `at least ${spec.min}`);
  if (spec.max !== undefined && value > spec.max) invalid(key, raw, `at most ${spec.max}`);
  return value;
}

/** The default of every option. */
export function defaultOptions(): ServerOptions {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SERVER_OPTIONS)) out[key] = spec.default;
  return out as ServerOptions;
}

/**
 * Resolves options: defaults, overridden by `TRIBUTARY_*` variables from `env`, overridden by
 * `given` (flags or a config object). Unknown keys in `given` are an error.
 */
export function resolveOptions(given: Partial<Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): ServerOptions {
  const out = defaultOptions() as unknown as Record<string, unknown>;
  for (const key of Object.keys(SERVER_OPTIONS) as ServerOptionName[]) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') out[key] = parseOption(key, fromEnv);
  }
  for (const [key, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(SERVER_OPTIONS, key)) {
      throw new TributaryError('CONFIG_INVALID', `unknown server option '${key}'`);
    }
    out[key] = parseOption(key as ServerOptionName, raw);
  }
  return out as unknown as ServerOptions;
}

/** Human form of a default, for help text and docs. */
export function describeDefault(key: ServerOptionName): string {
  const spec: OptionSpec = SERVER_OPTIONS[key];
  const v = spec.default;
  if (spec.kind === 'duration' && typeof v === 'number') {
    if (v % 86400 === 0) return `${v / 86400}d`;
    if (v % 3600 === 0) return `${v / 3600}h`;
    if (v % 60 === 0) return `${v / 60}m`;
    return `${v}s`;
  }
  if (spec.kind === 'bytes' && typeof v === 'number') {
    if (v % 1024 ** 2 === 0) return `${v / 1024 ** 2}MiB`;
    if (v % 1024 === 0) return `${v / 1024}KiB`;
  }
  return String(v);
}

/** The configuration table of docs/server.md, generated from {@link SERVER_OPTIONS}. */
export function optionsMarkdownTable(): string {
  const rows = ['| option | flag | environment | kind | default | description |', '|---|---|---|---|---|---|'];
  for (const key of Object.keys(SERVER_OPTIONS) as ServerOptionName[]) {
    const spec: OptionSpec = SERVER_OPTIONS[key];
    const flags = [`--${flagName(key)}`, ...(spec.alias ? [`--${spec.alias}`] : [])].join(', ');
    const kind = spec.choices ? spec.choices.join(' \\| ') : spec.kind;
    rows.push(`| \`${key}\` | \`${flags}\` | \`${envName(key)}\` | ${kind} | \`${describeDefault(key)}\` | ${spec.description} |`);
  }
  return rows.join('\n');
}

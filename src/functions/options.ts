import { TributaryError } from '../errors';
import { envName, flagName, type OptionSpec } from '../server/options';

/**
 * Every functions-runtime option, declared once, in the table style of src/server/options.ts: the
 * table produces the yargs flags of `tributary functions` and `tributary start` (kebab-case of the
 * key, plus `alias`), the `TRIBUTARY_*` environment names and the table in docs/functions.md.
 *
 * Durations are in milliseconds here (a function timeout is usually well under a second in tests
 * and tens of seconds in production); they accept `1500`, `"500ms"`, `"2s"`, `"1m"`.
 */
export const FUNCTIONS_OPTIONS = {
  functionsDir: {
    kind: 'string',
    default: './functions',
    alias: 'functions',
    description: 'Folder of function files (.js, .cjs, .ts); watched, so files can be added, edited and removed while running.',
  },
  server: { kind: 'string', default: 'http://127.0.0.1:9080', description: 'URL of the sync server the runtime connects to (http://, https://, realm://, realms://).' },
  adminToken: { kind: 'string', default: '', description: 'Admin token (prefer --admin-token-file or the environment: a flag is visible in the process list).' },
  adminTokenFile: { kind: 'string', default: 'data/keys/admin.json', description: 'File holding {"ADMIN_TOKEN": "…"} (written by the server on first start); used when no token is given.' },
  functionsLogDir: {
    kind: 'string',
    default: 'data/functions/logs',
    alias: 'logs',
    description: 'Folder of per-function logs (<name>.log) and of the runtime status file (functions.json).',
  },
  listenerDir: { kind: 'string', default: 'data/functions/listener', description: "Folder of the notifier's local copies of the watched realms." },
  functionTimeout: {
    kind: 'duration-ms',
    default: 30_000,
    alias: 'timeout',
    description: "How long the runtime waits for one handler call before it stops waiting, logs it and lets that realm's events move on.",
  },
} as const satisfies Record<string, FunctionsOptionSpec>;

export interface FunctionsOptionSpec extends Omit<OptionSpec, 'kind'> {
  kind: 'string' | 'duration-ms';
}

type Table = typeof FUNCTIONS_OPTIONS;
export type FunctionsOptionName = keyof Table;
/** Resolved options (durations in milliseconds). */
export type FunctionsOptions = { -readonly [K in FunctionsOptionName]: Table[K]['kind'] extends 'duration-ms' ? number : string };

const MS_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `"500ms"`, `"2s"`, `"1.5m"`, `1500` → milliseconds; NaN when malformed. */
export function parseMilliseconds(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(raw));
  return m ? Math.round(Number(m[1]) * MS_UNITS[(m[2] ?? 'ms').toLowerCase()]!) : NaN;
}

function parseFunctionsOption(key: FunctionsOptionName, raw: unknown): string | number {
  const spec: FunctionsOptionSpec = FUNCTIONS_OPTIONS[key];
  const where = `option ${key} (--${flagName(key)}, ${envName(key)})`;
  if (spec.kind === 'duration-ms') {
    const ms = parseMilliseconds(raw);
    if (!Number.isFinite(ms) || ms <= 0) throw new TributaryError('CONFIG_INVALID', `${where}: expected a positive duration such as 500ms, 30s or 1m, got ${JSON.stringify(raw)}`);
    return ms;
  }
  if (typeof raw !== 'string') throw new TributaryError('CONFIG_INVALID', `${where}: expected a string, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Defaults, overridden by `TRIBUTARY_*` variables from `env`, overridden by `given`. */
export function resolveFunctionsOptions(given: Partial<Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): FunctionsOptions {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(FUNCTIONS_OPTIONS)) out[key] = spec.default;
  for (const key of Object.keys(FUNCTIONS_OPTIONS) as FunctionsOptionName[]) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') out[key] = parseFunctionsOption(key, fromEnv);
  }
  for (const [key, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(FUNCTIONS_OPTIONS, key)) throw new TributaryError('CONFIG_INVALID', `unknown functions option '${key}'`);
    out[key] = parseFunctionsOption(key as FunctionsOptionName, raw);
  }
  return out as FunctionsOptions;
}

/** Human form of a default, for help text and docs. */
export function describeFunctionsDefault(key: FunctionsOptionName): string {
  const spec: FunctionsOptionSpec = FUNCTIONS_OPTIONS[key];
  if (spec.kind === 'duration-ms' && typeof spec.default === 'number') return spec.default % 1000 === 0 ? `${spec.default / 1000}s` : `${spec.default}ms`;
  return spec.default === '' ? '(none)' : String(spec.default);
}

/** The options table of docs/functions.md, generated from {@link FUNCTIONS_OPTIONS}. */
export function functionsOptionsMarkdownTable(): string {
  const rows = ['| option | flag | environment | kind | default | description |', '|---|---|---|---|---|---|'];
  for (const key of Object.keys(FUNCTIONS_OPTIONS) as FunctionsOptionName[]) {
    const spec: FunctionsOptionSpec = FUNCTIONS_OPTIONS[key];
    const flags = [`--${flagName(key)}`, ...(spec.alias ? [`--${spec.alias}`] : [])].join(', ');
    rows.push(`| \`${key}\` | \`${flags}\` | \`${envName(key)}\` | ${spec.kind === 'duration-ms' ? 'duration' : spec.kind} | \`${describeFunctionsDefault(key)}\` | ${spec.description} |`);
  }
  return rows.join('\n');
}

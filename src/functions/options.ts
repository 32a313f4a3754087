import { describeOptionDefault, optionsMarkdown, resolveTable, type OptionSpec } from '../shared/options';

export { parseMilliseconds } from '../shared/options';

/**
 * Every functions-runtime option, declared once, with the option-table helpers of src/shared/options.ts: the
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
  connectTimeout: {
    kind: 'duration-ms',
    default: 30_000,
    description: 'How long `tributary functions` waits to reach the server at start; a server it cannot reach in time, or one that refuses the token, ends it with status 1.',
  },
} as const satisfies Record<string, FunctionsOptionSpec>;

export interface FunctionsOptionSpec extends OptionSpec {
  kind: 'string' | 'duration-ms';
}

type Table = typeof FUNCTIONS_OPTIONS;
export type FunctionsOptionName = keyof Table;
/** Resolved options (durations in milliseconds). */
export type FunctionsOptions = { -readonly [K in FunctionsOptionName]: Table[K]['kind'] extends 'duration-ms' ? number : string };

/** Defaults, overridden by `TRIBUTARY_*` variables from `env`, overridden by `given`. */
export function resolveFunctionsOptions(given: Partial<Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): FunctionsOptions {
  return resolveTable(FUNCTIONS_OPTIONS, 'functions', given, env) as unknown as FunctionsOptions;
}

/** Human form of a default, for help text and docs. */
export function describeFunctionsDefault(key: FunctionsOptionName): string {
  return describeOptionDefault(FUNCTIONS_OPTIONS[key]);
}

/** The options table of docs/functions.md, generated from {@link FUNCTIONS_OPTIONS}. */
export function functionsOptionsMarkdownTable(): string {
  return optionsMarkdown(FUNCTIONS_OPTIONS);
}

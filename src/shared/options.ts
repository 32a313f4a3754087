import { TributaryError } from '../errors';

/**
 * Option tables: every option of a component declared once (kind, default, description), from
 * which come its TypeScript type, the yargs flags (kebab-case of the key, plus `alias`), the
 * `TRIBUTARY_*` environment names (SCREAMING_SNAKE of the key), the `--help` text and the table in
 * the docs. The server (src/server/options.ts) and the functions runtime (src/functions/options.ts)
 * each keep their own table and use these helpers.
 *
 * Kinds: `string`, `integer`, `boolean`, `duration` (seconds; `90`, `"15m"`, `"1h"`, `"30d"`),
 * `duration-ms` (milliseconds; `1500`, `"500ms"`, `"2s"`, `"1m"`) and `bytes` (`1048576`,
 * `"64KiB"`, `"16MiB"`).
 */
export type OptionKind = 'string' | 'integer' | 'boolean' | 'duration' | 'duration-ms' | 'bytes';

export interface OptionSpec {
  kind: OptionKind;
  default: string | number | boolean;
  description: string;
  alias?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

export type OptionTable = Record<string, OptionSpec>;

/** The resolved value type of one spec. */
export type OptionValue<S> = S extends { choices: readonly (infer C)[] } ? C : S extends { kind: 'string' } ? string : S extends { kind: 'boolean' } ? boolean : number;
/** The resolved options of a table. */
export type ResolvedOptions<T> = { -readonly [K in keyof T]: OptionValue<T[K]> };

/** `maxMessageBytes` → `max-message-bytes`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `maxMessageBytes` → `TRIBUTARY_MAX_MESSAGE_BYTES`. */
export function envName(key: string): string {
  return 'TRIBUTARY_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const MS_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `"500ms"`, `"2s"`, `"1.5m"`, `1500` → milliseconds; NaN when malformed. */
export function parseMilliseconds(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(raw));
  return m ? Math.round(Number(m[1]) * MS_UNITS[(m[2] ?? 'ms').toLowerCase()]!) : NaN;
}

function invalid(key: string, raw: unknown, expected: string): never {
  throw new TributaryError('CONFIG_INVALID', `option ${key} (--${flagName(key)}, ${envName(key)}): expected ${expected}, got ${JSON.stringify(raw)}`);
}

/** Parses one value (from a flag, the environment or a config object) into its canonical form. */
export function parseOptionValue(key: string, spec: OptionSpec, raw: unknown): string | number | boolean {
  let value: number;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') invalid(key, raw, 'a string');
      if (raw.length === 0 && spec.default !== '') invalid(key, raw, 'a non-empty string');
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
    case 'duration-ms':
      value = parseMilliseconds(raw);
      if (!Number.isFinite(value) || value <= 0) invalid(key, raw, 'a positive duration such as 500ms, 30s or 1m');
      break;
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

/** The default of every option of a table. */
export function tableDefaults<T extends OptionTable>(table: T): ResolvedOptions<T> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) out[key] = spec.default;
  return out as ResolvedOptions<T>;
}

/**
 * Defaults, overridden by `TRIBUTARY_*` variables from `env`, overridden by `given` (flags or a
 * config object). An unknown key in `given` is an error naming `component`.
 */
export function resolveTable<T extends OptionTable>(table: T, component: string, given: Partial<Record<string, unknown>> = {}, env: NodeJS.ProcessEnv = {}): ResolvedOptions<T> {
  const out = tableDefaults(table) as Record<string, unknown>;
  for (const [key, spec] of Object.entries(table)) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') out[key] = parseOptionValue(key, spec, fromEnv);
  }
  for (const [key, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(table, key)) throw new TributaryError('CONFIG_INVALID', `unknown ${component} option '${key}'`);
    out[key] = parseOptionValue(key, table[key]!, raw);
  }
  return out as ResolvedOptions<T>;
}

/** Human form of a default, for help text and docs. */
export function describeOptionDefault(spec: OptionSpec): string {
  const v = spec.default;
  if (spec.kind === 'duration' && typeof v === 'number') {
    if (v % 86400 === 0) return `${v / 86400}d`;
    if (v % 3600 === 0) return `${v / 3600}h`;
    if (v % 60 === 0) return `${v / 60}m`;
    return `${v}s`;
  }
  if (spec.kind === 'duration-ms' && typeof v === 'number') return v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
  if (spec.kind === 'bytes' && typeof v === 'number') {
    if (v % 1024 ** 2 === 0) return `${v / 1024 ** 2}MiB`;
    if (v % 1024 === 0) return `${v / 1024}KiB`;
  }
  return v === '' ? '(none)' : String(v);
}

/** The options table of a component's docs page. */
export function optionsMarkdown(table: OptionTable): string {
  const rows = ['| option | flag | environment | kind | default | description |', '|---|---|---|---|---|---|'];
  for (const [key, spec] of Object.entries(table)) {
    const flags = [`--${flagName(key)}`, ...(spec.alias ? [`--${spec.alias}`] : [])].join(', ');
    const kind = spec.choices ? spec.choices.join(' \\| ') : spec.kind === 'duration-ms' ? 'duration' : spec.kind;
    rows.push(`| \`${key}\` | \`${flags}\` | \`${envName(key)}\` | ${kind} | \`${describeOptionDefault(spec)}\` | ${spec.description} |`);
  }
  return rows.join('\n');
}

/**
 * Structured logging. The server and its parts receive a {@link Logger} through their constructors
 * and add context with `child(fields)`. Field names that can hold secrets are redacted by the
 * logger itself, so a careless `log.info('x', { token })` cannot leak one.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Secret-looking names, except ones that only name where a secret is kept (`adminTokenFile`). */
const SECRET_FIELD = /^(?!.*(file|path)$).*(pass(word)?|secret|token|authorization|cookie|privatekey)/i;

/** Replaces values of secret-looking fields (at any depth) with `[redacted]`; serialises errors. */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const out: LogFields = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (value.stack) out.stack = value.stack;
    return out;
  }
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** One JSON object per line: `{"time","level","msg",...fields}`. */
export class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly fields: LogFields = {},
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {}

  child(fields: LogFields): Logger {
    return new JsonLogger(this.level, { ...this.fields, ...fields }, this.write);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  private log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.level]) return;
    const record = redact({ ...this.fields, ...fields }) as LogFields;
    let line: string;
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...record });
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, note: 'fields not serialisable' });
    }
    this.write(line);
  }
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = new JsonLogger('silent', {}, () => {});

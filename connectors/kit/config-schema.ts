import { TributaryError } from '../../src/errors';

/**
 * A small validation framework for connector configs (conventions §4, §11): each connector declares
 * its config once as a schema of rules, and validation reports **every** problem at once, each with
 * a code and the path of the offending key (`tables.film.columns.title.property`), unknown keys
 * named with the known ones. Rules both check and resolve: defaults are filled in, so the result is
 * the config the connector runs with.
 *
 * @example
 * const schema = object({ name: required(string({ pattern: /^[a-z_]+$/, expected: 'a lowercase identifier' })), batchSize: integer({ min: 1, default: 2000 }) });
 * const config = validate(schema, input, 'mongodb connector config'); // throws ConfigError listing every issue
 */

/** What is wrong with one key. */
export type ConfigIssueCode =
  /** A required key is absent. */
  | 'CONFIG_MISSING'
  /** The value has the wrong type (a string where a number belongs). */
  | 'CONFIG_TYPE'
  /** The value has the right type but is not allowed (out of range, not one of the choices, malformed). */
  | 'CONFIG_VALUE'
  /** The key is not one the connector knows (a typo, or an option of another connector). */
  | 'CONFIG_UNKNOWN_KEY';

export interface ConfigIssue {
  code: ConfigIssueCode;
  /** Dotted path of the key (`(root)` for the whole config). */
  path: string;
  message: string;
}

/** CONFIG_INVALID with every issue found (`issues`); the message lists them one per line. */
export class ConfigError extends TributaryError {
  constructor(
    readonly label: string,
    readonly issues: ConfigIssue[],
  ) {
    super('CONFIG_INVALID', issues.length === 1 ? `${label}: ${issues[0]!.path}: ${issues[0]!.message}` : `${label}: ${issues.length} problems:\n${issues.map((i) => `  ${i.path}: ${i.message} [${i.code}]`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Where a rule reports what it found. */
export class Issues {
  readonly list: ConfigIssue[] = [];
  add(code: ConfigIssueCode, path: string, message: string): void {
    this.list.push({ code, path, message });
  }
}

/**
 * A rule: checks `value` (found at `path`) and returns the resolved value. Problems go to
 * `issues`; a rule that found one returns whatever lets the others go on (usually undefined).
 * `value` is undefined when the key is absent.
 */
export type Rule<T> = (value: unknown, path: string, issues: Issues) => T;

/** The resolved type of a rule. */
export type Resolved<R> = R extends Rule<infer T> ? T : never;

export const join = (path: string, key: string): string => (path === '(root)' || path === '' ? key : `${path}.${key}`);
const show = (v: unknown): string => (typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

/** A required key: absent → CONFIG_MISSING with `what` (e.g. 'a connection URL'). */
export function required<T>(rule: Rule<T | undefined>, what?: string): Rule<T> {
  return (v, path, issues) => {
    if (v === undefined) {
      issues.add('CONFIG_MISSING', path, what ? `required: ${what}` : 'required');
      return undefined as T;
    }
    return rule(v, path, issues) as T;
  };
}

/** An optional key with a default. */
export function withDefault<T>(rule: Rule<T | undefined>, dflt: T): Rule<T> {
  return (v, path, issues) => (v === undefined ? dflt : ((rule(v, path, issues) ?? dflt) as T));
}

export function string(o: { pattern?: RegExp; expected?: string; nonEmpty?: boolean } = {}): Rule<string | undefined> {
  return (v, path, issues) => {
    if (v === undefined) return undefined;
    const expected = o.expected ?? 'a string';
    if (typeof v !== 'string') {
      issues.add('CONFIG_TYPE', path, `expected ${expected}, got ${show(v)}`);
      return undefined;
    }
    if ((o.nonEmpty && v === '') || (o.pattern && !o.pattern.test(v))) {
      issues.add('CONFIG_VALUE', path, `expected ${expected}, got ${show(v)}`);
      return undefined;
    }
    return v;
  };
}

/** An integer of at least `min` (default 1: positive); `default` when absent. */
export function integer(o: { min?: number; default?: number } = {}): Rule<number> {
  const min = o.min ?? 1;
  return (v, path, issues) => {
    if (v === undefined) return o.default as number;
    if (typeof v !== 'number') {
      issues.add('CONFIG_TYPE', path, `expected a ${min === 0 ? 'non-negative' : 'positive'} integer, got ${show(v)}`);
      return o.default as number;
    }
    if (!Number.isInteger(v) || v < min) {
      issues.add('CONFIG_VALUE', path, `expected a ${min === 0 ? 'non-negative' : min === 1 ? 'positive' : `≥ ${min}`} integer, got ${show(v)}`);
      return o.default as number;
    }
    return v;
  };
}

export function boolean(o: { default?: boolean } = {}): Rule<boolean> {
  return (v, path, issues) => {
    if (v === undefined) return o.default as boolean;
    if (typeof v !== 'boolean') {
      issues.add('CONFIG_TYPE', path, `expected true or false, got ${show(v)}`);
      return o.default as boolean;
    }
    return v;
  };
}

/** One of `choices` (`'a', 'b' or 'c'` in the message); `default` when absent. */
export function oneOf<const C extends readonly string[]>(choices: C, o: { default?: C[number] } = {}): Rule<C[number]> {
  const list = choices.map((c) => `'${c}'`);
  const text = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  return (v, path, issues) => {
    if (v === undefined) return o.default as C[number];
    if (typeof v !== 'string' || !choices.includes(v)) {
      issues.add(typeof v === 'string' ? 'CONFIG_VALUE' : 'CONFIG_TYPE', path, `expected ${text}, got ${show(v)}`);
      return o.default as C[number];
    }
    return v as C[number];
  };
}

export function func<F extends (...args: never[]) => unknown>(): Rule<F | undefined> {
  return (v, path, issues) => {
    if (v === undefined) return undefined;
    if (typeof v !== 'function') {
      issues.add('CONFIG_TYPE', path, `expected a function, got ${show(v)}`);
      return undefined;
    }
    return v as F;
  };
}

/** A rule written by hand (anything the helpers do not cover). */
export function custom<T>(check: (value: unknown, path: string, issues: Issues) => T): Rule<T> {
  return check;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * An object with known keys: each checked by its rule (absent keys too, so required ones are
 * reported), every other key reported as CONFIG_UNKNOWN_KEY naming the known ones. `expected`
 * describes the object in the type error.
 */
export function object<S extends Record<string, Rule<unknown>>>(shape: S, o: { expected?: string } = {}): Rule<{ [K in keyof S]: Resolved<S[K]> } | undefined> {
  const known = Object.keys(shape);
  return (v, path, issues) => {
    if (v === undefined) return undefined;
    if (!isPlainObject(v)) {
      issues.add('CONFIG_TYPE', path, `expected ${o.expected ?? 'an object'}, got ${show(v)}`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const k of known) out[k] = shape[k]!(v[k], join(path, k), issues);
    for (const k of Object.keys(v)) if (!(k in shape)) issues.add('CONFIG_UNKNOWN_KEY', join(path, k), `unknown option; expected ${known.join(', ')}`);
    return out as { [K in keyof S]: Resolved<S[K]> };
  };
}

/** An object whose keys are names (tables, properties) with one rule for every value. */
export function record<T>(rule: Rule<T>, o: { minKeys?: number; expected?: string; key?: { pattern: RegExp; expected: string } } = {}): Rule<Record<string, T> | undefined> {
  return (v, path, issues) => {
    if (v === undefined) {
      if (o.minKeys) issues.add('CONFIG_MISSING', path, `required: ${o.expected ?? 'an object'}`);
      return undefined;
    }
    if (!isPlainObject(v)) {
      issues.add('CONFIG_TYPE', path, `expected ${o.expected ?? 'an object'}, got ${show(v)}`);
      return undefined;
    }
    const keys = Object.keys(v);
    if (o.minKeys && keys.length < o.minKeys) issues.add('CONFIG_VALUE', path, o.expected ? `expected ${o.expected}` : `expected at least ${o.minKeys} entr${o.minKeys === 1 ? 'y' : 'ies'}`);
    const out: Record<string, T> = {};
    for (const k of keys) {
      if (o.key && !o.key.pattern.test(k)) issues.add('CONFIG_VALUE', path, `not ${o.key.expected}: ${show(k)}`);
      out[k] = rule(v[k], join(path, k), issues);
    }
    return out;
  };
}

/**
 * Runs `rule` over a whole config; throws a {@link ConfigError} (CONFIG_INVALID) with every issue
 * when there is any, else returns the resolved config.
 */
export function validate<T>(rule: Rule<T | undefined>, input: unknown, label: string): T {
  const issues = new Issues();
  if (!isPlainObject(input)) throw new ConfigError(label, [{ code: 'CONFIG_TYPE', path: '(root)', message: `expected an object, got ${show(input)}` }]);
  const out = rule(input, '(root)', issues);
  if (issues.list.length > 0) throw new ConfigError(label, issues.list);
  return out as T;
}

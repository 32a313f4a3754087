import { TributaryError } from '../errors';

/** Decides whether a realm path is watched. */
export type PathPredicate = (path: string) => boolean;

/** Told once per filter string that was wrapped in slashes and has been unwrapped. */
export type UnwrapWarning = (message: string, fields: { filter: string; pattern: string }) => void;

/**
 * A regex source string, unwrapped when it is written as a JavaScript literal in a string
 * (`'/^\/([0-9a-f]+)\/private$/'`, as ROS samples and docs wrote it, trailing flags allowed).
 * ROS compiled such a string as it was, so the slashes had to appear in the path and it never
 * matched; no program wants that, so it is unwrapped, with a warning so the string gets fixed.
 */
function compile(filter: string, what: string, warn?: UnwrapWarning): RegExp {
  const wrapped = filter.length > 2 ? /^\/(.+)\/([dgimsuvy]*)$/s.exec(filter) : null;
  try {
    if (!wrapped) return new RegExp(filter);
    const pattern = new RegExp(wrapped[1]!, wrapped[2]);
    warn?.(`${what} '${filter}' is written as a regex literal inside a string; it is used as /${pattern.source}/${pattern.flags} (pass a RegExp, or the string without the slashes)`, { filter, pattern: pattern.source });
    return pattern;
  } catch (e) {
    throw new TributaryError('INVALID_ARGUMENT', `invalid ${what} '${filter}': ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The notifier's filter, as realm-js had it: a RegExp, or a string compiled with `new RegExp(s)`,
 * tested with `RegExp.prototype.test` (a substring match unless anchored). A string wrapped in
 * slashes is unwrapped (see {@link compile}); `warn` hears about it.
 */
export function notifierPattern(regex: RegExp | string, warn?: UnwrapWarning): RegExp {
  if (regex instanceof RegExp) return regex;
  if (typeof regex !== 'string') throw new TributaryError('INVALID_ARGUMENT', `a listener filter must be a RegExp or a regex string, not ${typeof regex}`);
  return compile(regex, 'listener regex', warn);
}

/** `RegExp.prototype.test` without the `lastIndex` state of global and sticky expressions. */
export function testPattern(pattern: RegExp, path: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(path);
}

/** The key `removeListener` matches on: the regex source (and flags) as given. */
export function patternKey(regex: RegExp | string): string {
  return regex instanceof RegExp ? `/${regex.source}/${regex.flags}` : regex;
}

/**
 * The Adapter's filter: a predicate, a RegExp or a regex string, matched against the WHOLE path
 * (realm-js used C++ `std::regex_match`). A string wrapped in slashes (`'/^\/([0-9a-f]+)\/private$/'`,
 * as the ROS documentation wrote it) is unwrapped, with trailing flags, like the notifier's.
 */
export function adapterPredicate(filter: string | RegExp | PathPredicate, warn?: UnwrapWarning): PathPredicate {
  if (typeof filter === 'function') return (path) => !!filter(path);
  let pattern: RegExp;
  if (filter instanceof RegExp) pattern = filter;
  else if (typeof filter === 'string') pattern = compile(filter, 'Adapter filter', warn);
  else throw new TributaryError('INVALID_ARGUMENT', 'an Adapter filter must be a regex string, a RegExp or a predicate');
  const whole = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
  return (path) => whole.test(path);
}

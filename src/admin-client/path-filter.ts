import { TributaryError } from '../errors';

/** Decides whether a realm path is watched. */
export type PathPredicate = (path: string) => boolean;

/**
 * The notifier's filter, as realm-js had it: a RegExp, or a string compiled with `new RegExp(s)`,
 * tested with `RegExp.prototype.test` (a substring match unless anchored). A string wrapped in
 * slashes is taken literally, so it never matches a path (the old behaviour, kept on purpose).
 */
export function notifierPattern(regex: RegExp | string): RegExp {
  if (regex instanceof RegExp) return regex;
  if (typeof regex !== 'string') throw new TributaryError('INVALID_ARGUMENT', `a listener filter must be a RegExp or a regex string, not ${typeof regex}`);
  try {
    return new RegExp(regex);
  } catch (e) {
    throw new TributaryError('INVALID_ARGUMENT', `invalid listener regex '${regex}': ${(e as Error).message}`, { cause: e });
  }
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
 * as the ROS documentation wrote it) is unwrapped, with trailing flags.
 */
export function adapterPredicate(filter: string | RegExp | PathPredicate): PathPredicate {
  if (typeof filter === 'function') return (path) => !!filter(path);
  let pattern: RegExp;
  if (filter instanceof RegExp) pattern = filter;
  else if (typeof filter === 'string') {
    const wrapped = /^\/(.+)\/([a-z]*)$/s.exec(filter);
    try {
      pattern = wrapped && filter.length > 2 ? new RegExp(wrapped[1], wrapped[2]) : new RegExp(filter);
    } catch (e) {
      throw new TributaryError('INVALID_ARGUMENT', `invalid Adapter filter '${filter}': ${(e as Error).message}`, { cause: e });
    }
  } else throw new TributaryError('INVALID_ARGUMENT', 'an Adapter filter must be a regex string, a RegExp or a predicate');
  const whole = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
  return (path) => whole.test(path);
}

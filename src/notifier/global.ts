import type { User } from '../client';
import { realmBaseUrl } from '../admin-client';
import { TributaryError } from '../errors';
import type { Realm } from '../realm';
import { DEFAULT_LISTENER_DIRECTORY, Notifier, type NotifierEvent, type NotifierHandler, type NotifierLogger, type NotifierOptions } from './notifier';

/** realm-js 2.23+ `RealmListenerConfiguration`. */
export interface RealmListenerConfiguration {
  serverUrl: string;
  adminUser: User;
  filterRegex: string | RegExp;
  /** Accepted; TLS is validated by Node's defaults (`realms://`). */
  sslConfiguration?: { validate?: boolean; certificatePath?: string; validateCallback?: unknown };
}

/**
 * The process-wide notifier behind `Realm.Sync.addListener` and friends (realm-js had one per
 * process too). Created by the first addListener, closed when the last listener is removed.
 */
let shared: Notifier | null = null;
let listenerDirectory = DEFAULT_LISTENER_DIRECTORY;
let listenerLog: NotifierLogger | null = null;
let listenerOptions: ListenerOptions = {};

/** Options of the process-wide notifier (see {@link setListenerOptions}). */
export type ListenerOptions = Pick<NotifierOptions, 'retry' | 'concurrency' | 'maxOpenRealms'>;

/**
 * `Realm.Sync.addListener(serverUrl, adminUser, regex, event, callback)` or
 * `addListener({ serverUrl, adminUser, filterRegex, sslConfiguration? }, event, callback)`.
 * Resolves when the realm directory has been downloaded. A call with other connection settings
 * than the running notifier's is an error (realm-js silently ignored them).
 */
export function addListener(config: RealmListenerConfiguration, event: NotifierEvent, callback: NotifierHandler): Promise<void>;
export function addListener(serverUrl: string, adminUser: User, regex: string | RegExp, event: NotifierEvent, callback: NotifierHandler): Promise<void>;
export function addListener(a: string | RealmListenerConfiguration, b: User | NotifierEvent, c: unknown, d?: NotifierEvent, e?: NotifierHandler): Promise<void> {
  try {
    let serverUrl: string, adminUser: User, regex: string | RegExp, event: NotifierEvent, callback: NotifierHandler;
    if (a !== null && typeof a === 'object') {
      ({ serverUrl, adminUser, filterRegex: regex } = a);
      event = b as NotifierEvent;
      callback = c as NotifierHandler;
    } else {
      serverUrl = a;
      adminUser = b as User;
      regex = c as string | RegExp;
      event = d as NotifierEvent;
      callback = e as NotifierHandler;
    }
    if (shared && !shared.isClosed) {
      if (realmBaseUrl(serverUrl) !== realmBaseUrl(shared.serverUrl) || adminUser !== shared.adminUser) {
        throw new TributaryError(
          'INVALID_ARGUMENT',
          `the notifier is already connected to ${shared.serverUrl} as ${shared.adminUser.identity}; addListener with other connection settings is not supported (remove every listener first)`,
        );
      }
    } else {
      shared = new Notifier({ serverUrl, adminUser, directory: listenerDirectory, ...listenerOptions, ...(listenerLog ? { log: listenerLog } : {}) });
    }
    const notifier = shared;
    return notifier.addListener(regex, event, callback).catch(async (err) => {
      await closeIfUnused(notifier);
      throw err;
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Removes one listener (same regex, event and callback); waits for its running events. */
export async function removeListener(regex: string | RegExp, event: NotifierEvent, callback: NotifierHandler): Promise<void> {
  if (!shared) return;
  const notifier = shared;
  await notifier.removeListener(regex, event, callback);
  await closeIfUnused(notifier);
}

export async function removeAllListeners(event?: NotifierEvent): Promise<void> {
  if (!shared) return;
  const notifier = shared;
  await notifier.removeAllListeners(event);
  await closeIfUnused(notifier);
}

/** The notifier's local copies of realms matching `regex`. */
export function localListenerRealms(regex: string | RegExp): Array<{ path: string; realm(): Realm }> {
  return shared ? shared.localListenerRealms(regex) : [];
}

/** Where local copies are kept; throws while listeners exist. */
export function setListenerDirectory(dir: string): void {
  if (typeof dir !== 'string' || dir.length === 0) throw new TributaryError('INVALID_ARGUMENT', 'setListenerDirectory expects a directory path');
  if (shared && !shared.isClosed && shared.listenerCount > 0) throw new TributaryError('INVALID_STATE', 'Cannot change the listener directory while listeners are registered');
  listenerDirectory = dir;
}

export function getListenerDirectory(): string {
  return listenerDirectory;
}

/**
 * Where the process-wide notifier reports what it cannot throw to a caller — a handler that
 * failed (and its retries), a local copy it cannot open: `console`, or any logger with `error`
 * (and optionally `warn`, `info`, `debug`) taking `(message, fields)`. Default (and `null`):
 * nothing is reported. Like setListenerDirectory, it applies to the notifier the next
 * addListener creates and throws while listeners are registered.
 *
 * @example
 * Realm.Sync.setListenerLogger(console);
 * await Realm.Sync.addListener(SERVER_URL, adminUser, '/private$', 'change', handleChange);
 */
export function setListenerLogger(log: NotifierLogger | null): void {
  if (log !== null && typeof log?.error !== 'function') throw new TributaryError('INVALID_ARGUMENT', 'setListenerLogger expects a logger with an error(message, fields) method, or null');
  if (shared && !shared.isClosed && shared.listenerCount > 0) throw new TributaryError('INVALID_ARGUMENT', 'Cannot change the listener logger while listeners are registered');
  listenerLog = log;
}

/**
 * Tributary addition: options of the process-wide notifier behind `Realm.Sync.addListener` —
 * `retry` (`false`: a handler that throws is not given the same event again, as in realm-js; the
 * default re-delivers with back-off, see docs/notifier.md, "Failures"), `concurrency` and
 * `maxOpenRealms`. `{}` restores the defaults. Like setListenerDirectory, it applies to the
 * notifier the next addListener creates and throws while listeners are registered.
 *
 * @example
 * Realm.Sync.setListenerOptions({ retry: false });
 */
export function setListenerOptions(options: ListenerOptions): void {
  if (!options || typeof options !== 'object') throw new TributaryError('INVALID_ARGUMENT', 'setListenerOptions expects an options object');
  const unknown = Object.keys(options).filter((k) => k !== 'retry' && k !== 'concurrency' && k !== 'maxOpenRealms');
  if (unknown.length > 0) throw new TributaryError('INVALID_ARGUMENT', `unknown listener option ${unknown.join(', ')} (retry, concurrency, maxOpenRealms)`);
  if (shared && !shared.isClosed && shared.listenerCount > 0) throw new TributaryError('INVALID_STATE', 'Cannot change the listener options while listeners are registered');
  listenerOptions = { ...options };
}

/** The running process-wide notifier (tests, tools), or null. */
export function sharedNotifier(): Notifier | null {
  return shared;
}

async function closeIfUnused(notifier: Notifier): Promise<void> {
  if (notifier.listenerCount > 0) return;
  if (shared === notifier) shared = null;
  await notifier.close();
}

import { TributaryError } from '../errors';

export const MAX_USERNAME = 256;
export const MAX_PASSWORD = 1024;

/**
 * Names an account may not register by itself: the ROS default admin name and the usual admin
 * words, so nobody grabs `realm-admin` on a fresh server before the operator creates it (programs
 * of the ROS era log in as `realm-admin` and expect an admin). An admin may create them
 * (`tributary user create realm-admin --admin`).
 */
const ADMIN_ONLY_NAMES = new Set(['realm-admin', 'admin', 'administrator', 'root']);

/**
 * Characters no user name may contain: C0 and C1 controls (NUL, line breaks, escape sequences),
 * DEL, and the invisible or reordering format characters (zero-width, bidirectional overrides
 * and isolates, byte-order mark) with which one name can be made to look like another in a log
 * or a list.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/u;

/**
 * Checks and normalises a user name (NFC, so two spellings of one name are one account). Throws
 * INVALID_ARGUMENT naming the problem. `byAdmin` lifts the admin-only list, never the rest: names
 * starting with `__` are the server's own identities (`__admin`).
 */
export function checkUserName(raw: unknown, byAdmin = false): string {
  if (typeof raw !== 'string') throw invalid('username must be a string');
  const name = raw.normalize('NFC');
  if (name.length === 0 || name.length > MAX_USERNAME) throw invalid(`username must be 1 to ${MAX_USERNAME} characters`);
  if (FORBIDDEN.test(name)) throw invalid('username must not contain control, invisible or bidirectional-override characters');
  if (name.trim() !== name || name.trim().length === 0) throw invalid('username must not start or end with white space');
  if (name.startsWith('__')) throw invalid("names starting with '__' are reserved for the server");
  if (!byAdmin && ADMIN_ONLY_NAMES.has(name.toLowerCase())) throw invalid(`the name '${name}' is reserved; an admin can create it (tributary user create ${name} --admin)`);
  return name;
}

export function checkPassword(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PASSWORD) throw invalid(`password must be a string of 1 to ${MAX_PASSWORD} characters`);
  return raw;
}

function invalid(message: string): TributaryError {
  return new TributaryError('INVALID_ARGUMENT', message);
}

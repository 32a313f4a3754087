import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Prepares a SQLite database file that holds private data (password hashes, a user's objects):
 * its folder is created private (0700) when missing, and the file itself is created — or, when it
 * exists, narrowed — to 0600 before SQLite opens it (SQLite gives the -wal and -shm files the
 * permissions of the database file). A folder or file that cannot be created or written is
 * reported by the caller from the error this throws (EACCES, EROFS, ENOTDIR, …).
 */
export function preparePrivateDatabaseFile(file: string): void {
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    const mode = fs.fstatSync(fd).mode & 0o777;
    if (mode & 0o077) fs.fchmodSync(fd, mode & 0o700);
  } finally {
    fs.closeSync(fd);
  }
  for (const suffix of ['-wal', '-shm']) {
    // Not there yet (a new file): SQLite creates it with the database file's permissions.
    const stat = fs.statSync(file + suffix, { throwIfNoEntry: false });
    if (stat && stat.mode & 0o077) fs.chmodSync(file + suffix, stat.mode & 0o700);
  }
}

/** Whether a better-sqlite3 error says another connection holds the database's lock. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
}

/** The minimal better-sqlite3 surface {@link takeExclusiveLock} needs. */
export interface LockableDatabase {
  pragma(source: string): unknown;
  exec(source: string): unknown;
}

/**
 * Makes this connection the only one that may use the database until it closes: exclusive
 * locking mode, then one empty write transaction to take the lock now (not at the first real
 * write). The lock is the operating system's file lock, so it is released when the process
 * exits or is killed. Throws SQLITE_BUSY (see {@link isBusy}) when another process holds it.
 * Call right after opening, before `journal_mode = WAL` (WAL then keeps its index in memory).
 */
export function takeExclusiveLock(db: LockableDatabase): void {
  db.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; COMMIT');
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../errors';
import { writeFileAtomic } from './atomic-file';

/**
 * The admin-token file, read and written in one place: the server writes
 * `<data>/keys/admin.json` as `{"ADMIN_TOKEN": "<jwt>"}` (mode 0600) on first start; the CLI, the
 * functions runtime and the connectors read it. A file holding just the token is accepted too.
 */
export function adminTokenFile(dataPath: string): string {
  return path.join(dataPath, 'keys', 'admin.json');
}

/** Reads a token file; throws CONFIG_INVALID with one line naming the file and what is wrong. */
export function readAdminTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (start the server once to create it)' : `unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    throw new TributaryError('CONFIG_INVALID', `admin token file ${file} ${why}`);
  }
  if (text.startsWith('{')) {
    let token: unknown;
    try {
      token = (JSON.parse(text) as { ADMIN_TOKEN?: unknown })?.ADMIN_TOKEN;
    } catch {
      throw new TributaryError('CONFIG_INVALID', `admin token file ${file} is not valid JSON`);
    }
    if (typeof token !== 'string' || token.length === 0) throw new TributaryError('CONFIG_INVALID', `admin token file ${file} has no ADMIN_TOKEN`);
    return token;
  }
  if (!text) throw new TributaryError('CONFIG_INVALID', `admin token file ${file} is empty`);
  return text;
}

/** The admin token of a server's data directory. */
export function readAdminToken(dataPath: string): string {
  return readAdminTokenFile(adminTokenFile(dataPath));
}

export function writeAdminTokenFile(file: string, token: string): void {
  writeFileAtomic(file, JSON.stringify({ ADMIN_TOKEN: token }, null, 2) + '\n', 0o600);
}

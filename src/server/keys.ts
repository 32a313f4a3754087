import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The server's signing key pair, kept under `<data>/keys/`:
 *
 * - `private.pem` — Ed25519 private key (PKCS#8, mode 0600)
 * - `public.pem`  — its public key (SPKI), for verifiers elsewhere
 * - `admin.json`  — `{"ADMIN_TOKEN": "<jwt>"}`, mode 0600
 *
 * Created on first start; reused afterwards, so tokens survive restarts.
 */
export interface ServerKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  dir: string;
  /** True when this call created the pair. */
  created: boolean;
}

export function keysDir(dataPath: string): string {
  return path.join(dataPath, 'keys');
}

export function adminTokenFile(dataPath: string): string {
  return path.join(keysDir(dataPath), 'admin.json');
}

export function loadOrCreateKeys(dataPath: string): ServerKeys {
  const dir = keysDir(dataPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privFile = path.join(dir, 'private.pem');
  const pubFile = path.join(dir, 'public.pem');
  if (fs.existsSync(privFile)) {
    const privateKey = createPrivateKey(fs.readFileSync(privFile));
    return { privateKey, publicKey: createPublicKey(privateKey), dir, created: false };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // Write to a temporary name and rename, so a crash never leaves half a key behind.
  writeFileAtomic(privFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeFileAtomic(pubFile, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  return { privateKey, publicKey, dir, created: true };
}

export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/** Reads the admin token written on first start; throws a one-line error when there is none. */
export function readAdminToken(dataPath: string): string {
  const file = adminTokenFile(dataPath);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (start the server once to create it)' : 'unreadable';
    throw new Error(`admin token file ${file} ${why}`);
  }
  const token = (parsed as { ADMIN_TOKEN?: unknown })?.ADMIN_TOKEN;
  if (typeof token !== 'string' || token.length === 0) throw new Error(`admin token file ${file} has no ADMIN_TOKEN`);
  return token;
}

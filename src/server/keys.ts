import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file';

export { adminTokenFile, readAdminToken } from '../shared/admin-token';

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

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const STORE = path.resolve(__dirname, '../../src/store');

/**
 * Runs `script` in a child node process (through tsx), with the store's `Replica` in scope, whose
 * files may not grow past `limitKiB` (`ulimit -f`; SIGXFSZ ignored, so a write past it fails with
 * EFBIG, as on a full disk). The child must exit cleanly without writing to stderr; returns what it
 * printed last, parsed as JSON.
 */
export function underFileSizeLimit(limitKiB: number, script: string): unknown {
  const full = `
    process.on('SIGXFSZ', () => {});
    const { Replica } = require(${JSON.stringify(STORE)});
    ${script}
  `;
  const out = spawnSync('bash', ['-c', `ulimit -f ${limitKiB} && exec "$0" --import tsx -e "$1"`, process.execPath, full], { encoding: 'utf8', timeout: 60_000 });
  expect({ status: out.status, stderr: out.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!);
}
